"""Housekeeping: forget old update ids; prune old outbox rows and audit entries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.context import JobContext
from bot.services import audit, leases, retention
from bot.services.updates import REMEMBER_FOR, prune_processed_updates
from models.base import utcnow

logger = logging.getLogger(__name__)


async def prune_update_ids(ctx: JobContext, now: datetime | None = None) -> int:
    """Delete remembered update ids older than a day, and presence leases of instances gone
    for a day; returns how many update ids went."""
    now = now or utcnow()
    async with ctx.scope() as session:
        removed = await prune_processed_updates(session, now)
        await leases.prune_presences(session, now=now, older=REMEMBER_FOR)
        await session.commit()
    if removed:
        logger.info("pruned %d processed update ids", removed)
    return removed


@dataclass(frozen=True, slots=True)
class Retained:
    """What one nightly run deleted."""

    deliveries: int
    broadcasts: int
    audit_entries: int


async def prune_retention(ctx: JobContext, now: datetime | None = None) -> Retained:
    """Delete finished outbox rows older than DELIVERY_RETENTION_DAYS (broadcasts keep their
    counts) and audit entries older than AUDIT_RETENTION_DAYS. Logs counts only."""
    now = now or utcnow()
    deliveries = broadcasts = 0
    while True:
        # One transaction per chunk: counts and deletion together, the write lock short.
        async with ctx.scope() as session:
            pruned = await retention.prune_deliveries(
                session,
                now=now,
                days=ctx.settings.delivery_retention_days,
                limit=retention.CHUNK,
            )
            await session.commit()
        deliveries += pruned.deliveries
        broadcasts += pruned.broadcasts
        if pruned.deliveries < retention.CHUNK:
            break
    async with ctx.scope() as session:
        entries = await audit.prune(session, now=now, days=ctx.settings.audit_retention_days)
        await session.commit()
    logger.info(
        "retention: %d deliveries pruned (%d broadcasts keep their counts), %d audit entries",
        deliveries,
        broadcasts,
        entries,
    )
    return Retained(deliveries, broadcasts, entries)
