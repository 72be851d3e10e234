"""Retention of the outbox: finished delivery rows are deleted after DELIVERY_RETENTION_DAYS.

A broadcast's report must not change when its rows go, so what they counted (per status, and
the failures' reasons) is added to the broadcast first, in the same transaction
(bot.services.broadcasts reads live rows plus these counts). Reminders, digests and notices
have no broadcast: their rows simply go.

Only final rows (sent, blocked, failed, cancelled) whose due time, creation and sending all lie
before the cutoff are pruned; pending and claimed rows never are. Dedupe keys stay meaningful:
every job that queues once per occasion (reminders, Gedenktage, shift reminders, calls for help,
notices) queues only within a short window around the occasion (hours, at most
MEMORIAL_GRACE_HOURS or SHORTFALL_HOURS, both at most 14 days), and the retention is at least
MIN_RETENTION_DAYS, so by the time a key's row is pruned no job can queue its occasion again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.broadcasts import BROADCAST_KIND
from models import Broadcast, Delivery, DeliveryStatus

MIN_RETENTION_DAYS = 30
FINAL = (
    DeliveryStatus.SENT,
    DeliveryStatus.BLOCKED,
    DeliveryStatus.FAILED,
    DeliveryStatus.CANCELLED,
)
_COUNT_COLUMN = {
    DeliveryStatus.SENT: "pruned_sent",
    DeliveryStatus.BLOCKED: "pruned_blocked",
    DeliveryStatus.FAILED: "pruned_failed",
    DeliveryStatus.CANCELLED: "pruned_cancelled",
}


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one run deleted: rows, and how many broadcasts kept their counts."""

    deliveries: int
    broadcasts: int


def _prunable(cutoff: datetime) -> tuple[object, ...]:
    return (
        Delivery.status.in_(FINAL),
        Delivery.due_at < cutoff,
        Delivery.created_at < cutoff,
        or_(Delivery.sent_at.is_(None), Delivery.sent_at < cutoff),
    )


# Rows per transaction: a first run after an upgrade may find a year of rows, and SQLite's
# single write lock should not be held for all of them at once.
CHUNK = 1000


async def prune_deliveries(
    session: AsyncSession, *, now: datetime, days: int, limit: int = CHUNK
) -> Pruned:
    """Delete up to `limit` finished rows older than `days`, keeping broadcasts' counts, in
    one transaction; the caller commits, and calls again while a full chunk went."""
    cutoff = now - timedelta(days=max(days, MIN_RETENTION_DAYS))
    ids = list(
        await session.scalars(
            select(Delivery.id).where(*_prunable(cutoff)).order_by(Delivery.id).limit(limit)
        )
    )
    if not ids:
        return Pruned(deliveries=0, broadcasts=0)
    kept = await keep_counts(session, Delivery.id.in_(ids))
    for broadcast_id in kept:
        broadcast = await session.get(Broadcast, broadcast_id)
        if broadcast is not None:
            broadcast.pruned_at = now
    await session.flush()
    # Still final and old: a row is never taken back once final, but say so in the statement.
    result = await session.execute(
        delete(Delivery)
        .where(Delivery.id.in_(ids), *_prunable(cutoff))
        .execution_options(synchronize_session=False)
    )
    return Pruned(deliveries=int(result.rowcount or 0), broadcasts=len(kept))


# A row that goes before it ended (its recipient erased their data) never will be sent.
_ENDED_AS = {status: status for status in FINAL} | {
    DeliveryStatus.PENDING: DeliveryStatus.CANCELLED,
    DeliveryStatus.SENDING: DeliveryStatus.CANCELLED,
}


async def keep_counts(session: AsyncSession, *where: ColumnElement[bool]) -> set[int]:
    """Add what the broadcast delivery rows matching `where` counted (per final status, and the
    failure reasons) to their broadcasts, before the caller deletes the rows: pruning and a
    member's erasure alike, so a broadcast's figures stay what they were. Returns the ids of
    the broadcasts that kept counts."""
    counted = await session.execute(
        select(Delivery.batch_id, Delivery.status, Delivery.last_error, func.count())
        .where(*where, Delivery.kind == BROADCAST_KIND, Delivery.batch_id.is_not(None))
        .group_by(Delivery.batch_id, Delivery.status, Delivery.last_error)
    )
    per_batch: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for batch_id, stored, reason, count in list(counted):
        status = _ENDED_AS[DeliveryStatus(stored)]
        per_batch[batch_id][_COUNT_COLUMN[status]] += int(count)
        if status is DeliveryStatus.FAILED:
            reasons[batch_id][reason or "?"] += int(count)
    kept: set[int] = set()
    for batch_id, counts in per_batch.items():
        broadcast = await session.get(Broadcast, batch_id)
        if broadcast is None:
            continue
        for column, count in counts.items():
            setattr(broadcast, column, (getattr(broadcast, column) or 0) + count)
        if reasons.get(batch_id):
            merged = dict(broadcast.pruned_reasons or {})
            for reason, count in reasons[batch_id].items():
                merged[reason] = merged.get(reason, 0) + count
            broadcast.pruned_reasons = merged
        kept.add(batch_id)
    await session.flush()
    return kept
