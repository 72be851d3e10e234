"""Gedenktage on the clock: dates on a rolling horizon, members' reminders, organisers' notes."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.context import JobContext
from bot.services import memorials
from models.base import utcnow

logger = logging.getLogger(__name__)


async def extend_horizon(ctx: JobContext, now: datetime | None = None) -> memorials.Horizon:
    """Make the memorials' dates for the next months (at start-up and daily)."""
    async with ctx.scope() as session:
        result = await memorials.extend_horizon(
            session, now=now or utcnow(), zone=ctx.settings.zone
        )
        await session.commit()
    if result.added or result.updated or result.removed:
        logger.info(
            "memorial horizon: %d dates added, %d updated, %d removed",
            result.added,
            result.updated,
            result.removed,
        )
    return result


async def queue_reminders(ctx: JobContext, now: datetime | None = None) -> memorials.Queued:
    """Queue the memorial reminders and organisers' notes due now (every few minutes)."""
    settings = ctx.settings
    async with ctx.scope() as session:
        result = await memorials.queue_due(
            session,
            now=now or utcnow(),
            zone=settings.zone,
            reminder_days=settings.memorial_reminder_days,
            organiser_days=settings.memorial_organiser_days,
            grace=timedelta(hours=settings.memorial_grace_hours),
        )
        await session.commit()
    if result.reminders or result.notes:
        ctx.wake()
    if result.dropped:
        # Counts only: who and which date are nobody's business in the log.
        logger.info(
            "memorial reminders: %d queued, %d notes, %d dropped (missed during downtime)",
            result.reminders,
            result.notes,
            result.dropped,
        )
    return result
