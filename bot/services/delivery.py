"""The outbox's rules: enqueue, claim due rows atomically, record how each send went.

APScheduler is the clock, the database is the truth: a row is claimed (PENDING -> SENDING) in one
statement before it is sent and marked after, so a restart or a second instance neither loses
nor repeats a message, except the few that were in flight when a process died; those are taken
back once their lease ran out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Subquery, cast, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from models import Delivery, DeliveryStatus
from models.base import UTCDateTime, utcnow

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
ERROR_LENGTH = 300
KEY_LENGTH = 128


def enqueue(
    session: AsyncSession,
    recipient_ids: Collection[int],
    *,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    category: str | None = None,
    batch_id: int | None = None,
) -> list[Delivery]:
    """Add one PENDING row per recipient; the caller commits (with whatever caused them)."""
    rows = [
        Delivery(
            recipient_id=recipient_id,
            kind=kind,
            payload=dict(payload),
            due_at=due_at,
            category=category,
            batch_id=batch_id,
            status=DeliveryStatus.PENDING,
            attempts=0,
        )
        for recipient_id in dict.fromkeys(recipient_ids)
    ]
    session.add_all(rows)
    return rows


async def enqueue_once(
    session: AsyncSession,
    recipient_id: int,
    *,
    key: str,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    category: str | None = None,
) -> bool:
    """Add a PENDING row unless one with `key` exists; True when added. The caller commits.

    The key names the occasion ("reminder:<meeting>:<start>:<offset>:<member>"), so a job run
    twice (a restart, a second instance) queues the message once.
    """
    insert = dialect_insert(session)(Delivery).values(
        recipient_id=recipient_id,
        kind=kind,
        payload=dict(payload),
        due_at=due_at,
        category=category,
        status=DeliveryStatus.PENDING,
        attempts=0,
        created_at=utcnow(),
        dedupe_key=key[:KEY_LENGTH],
    )
    result = await session.execute(insert.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return bool(result.rowcount)


# Keys looked up per query (well under every database's parameter limit).
KEY_LOOKUP_CHUNK = 500


async def existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of the dedupe keys the outbox already holds (in any status): jobs that queue once
    per occasion skip those before building their rows."""
    found: set[str] = set()
    for index in range(0, len(keys), KEY_LOOKUP_CHUNK):
        chunk = list(keys[index : index + KEY_LOOKUP_CHUNK])
        found.update(
            await session.scalars(select(Delivery.dedupe_key).where(Delivery.dedupe_key.in_(chunk)))
        )
    return found


async def enqueue_once_many(
    session: AsyncSession,
    keyed: Sequence[tuple[int, str]],
    *,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    category: str | None = None,
) -> int:
    """enqueue_once for many (recipient, key) pairs sharing kind and payload, in a few
    multi-row INSERTs; returns how many were added. The caller commits.

    For jobs that queue hundreds at once: one statement per chunk instead of one per member
    keeps the write transaction (and SQLite's write lock) short.
    """
    added = 0
    created = utcnow()
    for index in range(0, len(keyed), KEY_LOOKUP_CHUNK):
        rows = [
            {
                "recipient_id": recipient_id,
                "kind": kind,
                "payload": dict(payload),
                "due_at": due_at,
                "category": category,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "created_at": created,
                "dedupe_key": key[:KEY_LENGTH],
            }
            for recipient_id, key in keyed[index : index + KEY_LOOKUP_CHUNK]
        ]
        insert = dialect_insert(session)(Delivery).values(rows)
        result = await session.execute(insert.on_conflict_do_nothing(index_elements=["dedupe_key"]))
        added += int(result.rowcount or 0)
    return added


async def enqueue_once_selected(
    session: AsyncSession,
    recipients: Subquery,
    *,
    key_prefix: str,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    category: str | None = None,
) -> int:
    """enqueue_once for every member id the one-column `recipients` selects, keyed
    `key_prefix` + the id, in one INSERT ... SELECT; returns how many were added. The caller
    commits.

    For audiences of any size: no id passes through Python and the statement's binds don't
    grow with the number of recipients.
    """
    member = recipients.c[0]
    rows = select(
        member,
        literal(kind, String),
        literal(dict(payload), JSON),
        literal(due_at, UTCDateTime),
        literal(category, String),
        literal(DeliveryStatus.PENDING.value, String),
        literal(0, Integer),
        literal(utcnow(), UTCDateTime),
        func.substr(literal(key_prefix, String) + cast(member, String), 1, KEY_LENGTH),
    ).where(member.is_not(None))
    columns = [
        "recipient_id",
        "kind",
        "payload",
        "due_at",
        "category",
        "status",
        "attempts",
        "created_at",
        "dedupe_key",
    ]
    insert = dialect_insert(session)(Delivery).from_select(columns, rows)
    result = await session.execute(insert.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return int(result.rowcount or 0)


async def reclaim_expired(session: AsyncSession, *, now: datetime, lease: timedelta) -> int:
    """Put rows whose sender vanished (claimed longer ago than the lease) back to PENDING."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - lease)
        .values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_at=None)
    )
    return int(result.rowcount or 0)


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, instance: str
) -> list[Delivery]:
    """Claim up to `limit` due PENDING rows for `instance`, oldest due first, and commit.

    On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED, so instances never wait for
    or take each other's rows; SQLite runs one writer at a time anyway (BEGIN IMMEDIATE).
    """
    pick = (
        select(Delivery.id)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.due_at <= now)
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(await session.scalars(pick))
    if not ids:
        await session.commit()
        return []
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, claimed_by=instance, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    rows = list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.id.in_(ids), Delivery.claimed_by == instance)
            .order_by(Delivery.due_at, Delivery.id)
            .execution_options(populate_existing=True)
        )
    )
    await session.commit()
    return rows


async def mark_sent(session: AsyncSession, delivery_ids: Sequence[int], *, now: datetime) -> None:
    """Record successful sends (the caller commits)."""
    if delivery_ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids))
            .values(
                status=DeliveryStatus.SENT,
                sent_at=now,
                attempts=Delivery.attempts + 1,
                claimed_by=None,
                claimed_at=None,
            )
        )


async def mark_result(
    session: AsyncSession,
    delivery_id: int,
    *,
    status: DeliveryStatus,
    reason: str,
    retry_at: datetime | None = None,
    count_attempt: bool = True,
) -> None:
    """Record a failed attempt: retry later (PENDING at `retry_at`), or a final status."""
    values: dict[str, Any] = {
        "status": status,
        "last_error": reason[:ERROR_LENGTH],
        "claimed_by": None,
        "claimed_at": None,
    }
    if count_attempt:
        values["attempts"] = Delivery.attempts + 1
    if retry_at is not None:
        values["due_at"] = retry_at
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


async def mark_many(
    session: AsyncSession, delivery_ids: Sequence[int], *, status: DeliveryStatus, reason: str
) -> None:
    """Give many rows the same final status without an attempt (skipped, withdrawn...).

    The caller commits.
    """
    if delivery_ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids))
            .values(
                status=status,
                last_error=reason[:ERROR_LENGTH],
                claimed_by=None,
                claimed_at=None,
            )
        )


def _held_by(delivery_ids: Sequence[int], instance: str) -> tuple[Any, ...]:
    """Conditions for rows among `delivery_ids` that `instance` claimed and still holds."""
    return (
        Delivery.id.in_(delivery_ids),
        Delivery.status == DeliveryStatus.SENDING,
        Delivery.claimed_by == instance,
    )


async def release(session: AsyncSession, delivery_ids: Sequence[int], *, instance: str) -> int:
    """Give rows `instance` claimed but did not send back to PENDING, as they were.

    For a sender that stops: no attempt is counted, the row keeps its due time and last error.
    The caller commits.
    """
    if not delivery_ids:
        return 0
    result = await session.execute(
        update(Delivery)
        .where(*_held_by(delivery_ids, instance))
        .values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def renew_claims(
    session: AsyncSession, delivery_ids: Sequence[int], *, instance: str, now: datetime
) -> int:
    """Extend the lease on rows `instance` still holds (a long batch); the caller commits.

    Without it, rows waiting behind a long 429 pause or a full group's minute could be taken
    back by another instance and sent twice.
    """
    if not delivery_ids:
        return 0
    result = await session.execute(
        update(Delivery)
        .where(*_held_by(delivery_ids, instance))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def cancel_batch(session: AsyncSession, batch_id: int) -> int:
    """Cancel what of a batch is not sent yet; returns how many rows (the caller commits)."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.batch_id == batch_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED)
    )
    return int(result.rowcount or 0)


async def batch_counts(session: AsyncSession, batch_id: int) -> dict[DeliveryStatus, int]:
    """How many rows of a batch are in each status."""
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.batch_id == batch_id)
        .group_by(Delivery.status)
    )
    counts = dict.fromkeys(DeliveryStatus, 0)
    for status, count in rows:
        counts[DeliveryStatus(status)] = int(count)
    return counts


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next PENDING row falls due (None: nothing waiting)."""
    return await session.scalar(
        select(func.min(Delivery.due_at)).where(Delivery.status == DeliveryStatus.PENDING)
    )


async def count_waiting(session: AsyncSession) -> int:
    """How many rows are still work (PENDING or SENDING), for the outbox gauge."""
    count = await session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)))
    )
    return int(count or 0)
