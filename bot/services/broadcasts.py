"""Broadcasts: schedule, start (recipients into the outbox), follow, cancel, report.

A broadcast keeps its audience as criteria until it goes out; `start_due` turns it into one
outbox row per recipient in the same transaction that marks it SENDING, so a second instance or
a restart never starts it twice. The delivery worker sends the rows; the rows' statuses are the
progress and the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    String,
    case,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services import audience as segments
from bot.services import audit, member_batches
from bot.services.delivery import batch_counts, cancel_batch
from bot.services.errors import DomainError
from models import (
    AuditAction,
    Broadcast,
    BroadcastStatus,
    Category,
    Delivery,
    DeliveryStatus,
    Member,
)
from models.base import UTCDateTime

BROADCAST_KIND = "broadcast"
SUMMARY_LENGTH = 120
# How far ahead a broadcast may be planned; further is almost certainly a typo in the year.
MAX_AHEAD = timedelta(days=366)
OPEN = (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING)
UNREACHABLE = "unreachable: blocked the bot before this broadcast"


def summary_of(text: str | None) -> str:
    """The first words of a message, on one line, for lists of broadcasts."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= SUMMARY_LENGTH else flat[: SUMMARY_LENGTH - 1] + "…"


class AlreadySubmittedError(DomainError):
    """The draft was sent already (a double tap, maybe on another instance): `broadcast` is it."""

    def __init__(self, broadcast: Broadcast) -> None:
        super().__init__("already submitted")
        self.broadcast = broadcast


def draft_key(source_chat_id: int, source_message_id: int) -> str:
    """The key that makes one composed message one broadcast, however often "Send" is pressed.

    It names the author's chat, so erasure clears it with `source_chat_id`.
    """
    return f"{source_chat_id}:{source_message_id}"


async def schedule(
    session: AsyncSession,
    *,
    author_id: int,
    source_chat_id: int,
    source_message_id: int,
    content_type: str,
    summary: str,
    category: Category,
    audience: segments.Audience,
    scheduled_at: datetime,
    key: str | None = None,
) -> Broadcast:
    """Store a broadcast to go out at `scheduled_at` (UTC); the caller commits.

    With `key` (`draft_key`) idempotent in the database: a second call with the same key (a
    double tap on "Send", also on another instance at the same moment) inserts nothing and
    raises AlreadySubmittedError with the first broadcast. Raises UnknownSegmentError if the
    audience names anything that does not exist.
    """
    await segments.check(session, audience)
    # ON CONFLICT DO NOTHING on the unique key: of two concurrent inserts PostgreSQL lets the
    # second wait for the first's commit and then skip; SQLite has one writer anyway.
    inserted = await session.scalar(
        dialect_insert(session)(Broadcast)
        .values(
            author_id=author_id,
            source_chat_id=source_chat_id,
            source_message_id=source_message_id,
            content_type=content_type[:16],
            summary=summary_of(summary),
            category=category,
            audience=audience.to_json(),
            scheduled_at=scheduled_at,
            status=BroadcastStatus.SCHEDULED,
            draft_key=key,
        )
        .on_conflict_do_nothing(index_elements=["draft_key"])
        .returning(Broadcast.id)
    )
    if inserted is None:
        assert key is not None  # without a key nothing can conflict
        existing = await session.scalar(select(Broadcast).where(Broadcast.draft_key == key))
        assert existing is not None  # the conflict was with it; broadcasts are never deleted
        raise AlreadySubmittedError(existing)
    broadcast = await session.get(Broadcast, inserted)
    assert broadcast is not None
    return broadcast


# Recipients put into the outbox per transaction (bot.services.member_batches explains).
ENQUEUE_BATCH = member_batches.BATCH


async def start_due(
    session: AsyncSession, now: datetime, *, only: int | None = None, batch: int = ENQUEUE_BATCH
) -> list[Broadcast]:
    """Start every scheduled broadcast whose time has come (or just `only`); the caller commits.

    Each is claimed with a conditional UPDATE, so of two instances only one starts it. Its
    audience is counted now (in SQL) and the first `batch` recipients go into the outbox in the
    same transaction; the rest follow in batches (`enqueue_batch`, run by the broadcast job), so
    a small broadcast is complete at once and a large one never holds an update or the loop.
    """
    query = select(Broadcast.id).where(
        Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now
    )
    if only is not None:
        query = query.where(Broadcast.id == only)
    started = []
    for broadcast_id in list(await session.scalars(query.order_by(Broadcast.scheduled_at))):
        claimed = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SCHEDULED)
            .values(status=BroadcastStatus.SENDING, started_at=now, enqueued_through=0)
        )
        if not claimed.rowcount:
            continue
        broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
        assert broadcast is not None
        try:
            audience = segments.Audience.from_json(broadcast.audience)
            reach = await segments.reach(session, audience, broadcast.category)
        except segments.UnknownSegmentError:
            reach = segments.Reach(0, 0, 0)
        broadcast.total = reach.recipients + reach.unreachable
        broadcast.opted_out = reach.opted_out
        broadcast.unreachable = reach.unreachable
        await session.flush()
        await enqueue_batch(session, broadcast_id, now, batch=batch)
        # Sent to members on the author's behalf: in the audit log, in this same transaction
        # (whether it started at once or at its scheduled time).
        await audit.record(
            session,
            broadcast.author_id,
            AuditAction.BROADCAST_SENT,
            count=broadcast.total,
            subject=audit_subject(broadcast),
            at=now,
        )
        await session.refresh(broadcast)
        started.append(broadcast)
    return started


async def enqueuing(session: AsyncSession) -> list[int]:
    """Started broadcasts whose recipients are not all in the outbox yet, oldest first."""
    rows = await session.scalars(
        select(Broadcast.id)
        .where(Broadcast.status == BroadcastStatus.SENDING, Broadcast.enqueued_through.is_not(None))
        .order_by(Broadcast.id)
    )
    return list(rows)


async def enqueue_batch(
    session: AsyncSession, broadcast_id: int, now: datetime, *, batch: int = ENQUEUE_BATCH
) -> bool:
    """Put the next `batch` recipients of a started broadcast into the outbox; the caller commits.

    Returns True while more may remain. Members are taken in id ranges after
    `enqueued_through`, claimed as bot.services.member_batches describes. No member id passes
    through Python: one INSERT ... SELECT per batch. Those who blocked the bot get rows too,
    already BLOCKED (the report counts them and lists whom to call); who opted out gets none.
    """
    row = (
        await session.execute(
            select(
                Broadcast.status,
                Broadcast.enqueued_through,
                Broadcast.audience,
                Broadcast.category,
                Broadcast.source_chat_id,
                Broadcast.source_message_id,
            ).where(Broadcast.id == broadcast_id)
        )
    ).one_or_none()
    if row is None or row.status is not BroadcastStatus.SENDING or row.enqueued_through is None:
        return False
    after: int = row.enqueued_through
    audience = segments.Audience.readable(row.audience)
    claimed = await member_batches.claim(
        session,
        Broadcast.enqueued_through,
        Broadcast.id == broadcast_id,
        Broadcast.status == BroadcastStatus.SENDING,
        after=after,
        size=batch,
        empty=audience is None,
    )
    if claimed is None:
        # Another instance took this batch (or the broadcast was stopped meanwhile).
        return True
    if claimed.last is not None:
        assert audience is not None
        await _insert_rows(session, broadcast_id, row, audience, after, claimed.last, now)
    return not claimed.done


async def _insert_rows(
    session: AsyncSession,
    broadcast_id: int,
    broadcast: Any,
    audience: segments.Audience,
    after: int,
    last: int,
    now: datetime,
) -> None:
    payload = {
        "broadcast_id": broadcast_id,
        "from_chat_id": broadcast.source_chat_id,
        "message_id": broadcast.source_message_id,
    }
    chosen = segments.matching(audience, broadcast.category, after=after, through=last).subquery()
    reachable = chosen.c.reachable
    rows = select(
        chosen.c.id,
        literal(BROADCAST_KIND, String),
        literal(broadcast.category.value, String),
        literal(broadcast_id, BigInteger),
        literal(payload, JSON),
        literal(now, UTCDateTime),
        case((reachable, DeliveryStatus.PENDING.value), else_=DeliveryStatus.BLOCKED.value),
        literal(0, Integer),
        case((reachable, null()), else_=UNREACHABLE),
        literal(now, UTCDateTime),
    ).where(not_(chosen.c.opted_out))
    columns = [
        "recipient_id",
        "kind",
        "category",
        "batch_id",
        "payload",
        "due_at",
        "status",
        "attempts",
        "last_error",
        "created_at",
    ]
    await session.execute(insert(Delivery).from_select(columns, rows))


class BroadcastError(DomainError):
    """A broadcast a button names can't be acted on.

    `reason`: "unknown" (no such broadcast) or "ended" (done or stopped already).
    """


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    """One broadcast by id."""
    return await session.get(Broadcast, broadcast_id)


async def find(session: AsyncSession, broadcast_id: int, *, running: bool = False) -> Broadcast:
    """One broadcast by id, fresh from the database; with `running`, only an open one.

    Raises BroadcastError("unknown"), or with `running` BroadcastError("ended") for one that is
    neither scheduled nor sending.
    """
    broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if broadcast is None:
        raise BroadcastError("unknown")
    if running and broadcast.status not in OPEN:
        raise BroadcastError("ended")
    return broadcast


def note_progress_message(
    broadcast: Broadcast, *, chat_id: int, message_id: int, at: datetime | None = None
) -> None:
    """Remember where the broadcast's progress message is, so the job edits that one.

    `at` counts as the last progress edit (the message was just sent); the caller commits.
    """
    broadcast.progress_chat_id = chat_id
    broadcast.progress_message_id = message_id
    if at is not None:
        broadcast.progress_at = at


async def source_to_copy(session: AsyncSession, payload: dict[str, Any]) -> tuple[int, int] | None:
    """The (chat id, message id) a broadcast row copies; None once the broadcast was stopped."""
    broadcast = await session.get(Broadcast, payload.get("broadcast_id"))
    if broadcast is None or broadcast.status is BroadcastStatus.CANCELLED:
        return None
    return int(payload["from_chat_id"]), int(payload["message_id"])


async def open_broadcasts(session: AsyncSession) -> list[Broadcast]:
    """Scheduled and running broadcasts, soonest first."""
    rows = await session.scalars(
        select(Broadcast)
        .where(Broadcast.status.in_(OPEN))
        .order_by(Broadcast.scheduled_at, Broadcast.id)
    )
    return list(rows)


async def recently_finished(
    session: AsyncSession, limit: int, *, since: datetime | None = None
) -> list[Broadcast]:
    """The last `limit` broadcasts that ended (done, or stopped after they started).

    With `since`, only those that ended at or after it.
    """
    query = select(Broadcast).where(
        Broadcast.status.in_((BroadcastStatus.DONE, BroadcastStatus.CANCELLED)),
        Broadcast.started_at.is_not(None),
    )
    if since is not None:
        query = query.where(Broadcast.finished_at >= since)
    rows = await session.scalars(
        query.order_by(Broadcast.finished_at.desc(), Broadcast.id.desc()).limit(limit)
    )
    return list(rows)


async def running(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts being sent now."""
    rows = await session.scalars(
        select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING).order_by(Broadcast.id)
    )
    return list(rows)


async def cancel(
    session: AsyncSession, broadcast_id: int, *, by: int, now: datetime
) -> Broadcast | None:
    """Stop a scheduled or running broadcast; what is not sent yet is cancelled.

    Returns the broadcast, or None when it had already finished or been cancelled (or never
    existed). Messages in flight at this moment still arrive. The caller commits.
    """
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status.in_(OPEN))
        .values(
            status=BroadcastStatus.CANCELLED,
            cancelled_by=by,
            finished_at=now,
            # Whoever was not enqueued yet never will be.
            enqueued_through=None,
        )
    )
    if not result.rowcount:
        return None
    await cancel_batch(session, broadcast_id)
    return await session.get(Broadcast, broadcast_id, populate_existing=True)


async def stop(session: AsyncSession, broadcast_id: int, *, by: int, now: datetime) -> Broadcast:
    """`cancel` for a button: raises BroadcastError ("unknown", "ended") instead of None."""
    stopped = await cancel(session, broadcast_id, by=by, now=now)
    if stopped is None:
        await find(session, broadcast_id)  # raises "unknown" for an id that never existed
        raise BroadcastError("ended")
    return stopped


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a running broadcast stands."""

    total: int
    sent: int
    blocked: int
    failed: int
    cancelled: int
    open: int
    # Messages per second since it started, and the estimated time left (None: unknown yet).
    rate: float
    remaining: timedelta | None

    @property
    def done(self) -> int:
        """Rows that reached an end."""
        return self.total - self.open


async def progress(session: AsyncSession, broadcast: Broadcast, now: datetime) -> Progress:
    """Counts per status, the rate so far and the time left at that rate."""
    counts = await batch_counts(session, broadcast.id)
    # Rows pruned after DELIVERY_RETENTION_DAYS, or erased with their recipient, left their
    # counts on the broadcast.
    for status, pruned in kept_counts(broadcast).items():
        counts[status] += pruned
    total = sum(counts.values())
    open_rows = counts[DeliveryStatus.PENDING] + counts[DeliveryStatus.SENDING]
    if broadcast.enqueued_through is not None and broadcast.status in OPEN:
        # Recipients counted at the start but not in the outbox yet are still to send.
        waiting = max(0, broadcast.total - total)
        total += waiting
        open_rows += waiting
    finished = total - open_rows
    elapsed = (now - (broadcast.started_at or now)).total_seconds()
    rate = finished / elapsed if elapsed > 0 else 0.0
    remaining = timedelta(seconds=round(open_rows / rate)) if rate > 0 else None
    return Progress(
        total=total,
        sent=counts[DeliveryStatus.SENT],
        blocked=counts[DeliveryStatus.BLOCKED],
        failed=counts[DeliveryStatus.FAILED],
        cancelled=counts[DeliveryStatus.CANCELLED],
        open=open_rows,
        rate=rate,
        remaining=remaining,
    )


def kept_counts(broadcast: Broadcast) -> dict[DeliveryStatus, int]:
    """What the broadcast's pruned delivery rows counted, per final status."""
    return {
        DeliveryStatus.SENT: broadcast.pruned_sent or 0,
        DeliveryStatus.BLOCKED: broadcast.pruned_blocked or 0,
        DeliveryStatus.FAILED: broadcast.pruned_failed or 0,
        DeliveryStatus.CANCELLED: broadcast.pruned_cancelled or 0,
    }


async def claim_progress_edit(
    session: AsyncSession, broadcast_id: int, now: datetime, every: timedelta
) -> bool:
    """Whether this instance may edit the progress message now (at most once per `every`)."""
    result = await session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status == BroadcastStatus.SENDING,
            or_(Broadcast.progress_at.is_(None), Broadcast.progress_at <= now - every),
        )
        .values(progress_at=now)
    )
    return bool(result.rowcount)


async def finish(session: AsyncSession, broadcast_id: int, now: datetime) -> bool:
    """Mark a running broadcast DONE once nothing of it is open; True for the one caller that did.

    The report goes out exactly once because only one UPDATE can move it out of SENDING.
    """
    still_open = await session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.batch_id == broadcast_id,
            Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
        )
    )
    if still_open:
        return False
    result = await session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status == BroadcastStatus.SENDING,
            # Not while recipients are still being put into the outbox.
            Broadcast.enqueued_through.is_(None),
        )
        .values(status=BroadcastStatus.DONE, finished_at=now)
    )
    return bool(result.rowcount)


async def failure_reasons(session: AsyncSession, broadcast_id: int) -> list[tuple[str, int]]:
    """Why messages failed, most frequent first (pruned rows' reasons included)."""
    rows = await session.execute(
        select(Delivery.last_error, func.count())
        .where(Delivery.batch_id == broadcast_id, Delivery.status == DeliveryStatus.FAILED)
        .group_by(Delivery.last_error)
    )
    merged: dict[str, int] = {}
    for reason, count in rows:
        merged[reason or "?"] = merged.get(reason or "?", 0) + int(count)
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is not None:
        for reason, count in (broadcast.pruned_reasons or {}).items():
            merged[reason] = merged.get(reason, 0) + int(count)
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))


async def unreached(session: AsyncSession, broadcast_id: int) -> list[Member]:
    """Members a broadcast could not reach (blocked or failed), for a follow-up by phone.

    Only while the rows are kept: once pruned (DELIVERY_RETENTION_DAYS) the names are gone and
    only the counts remain (`pruned_unreached`).
    """
    rows = await session.scalars(
        select(Member)
        .join(Delivery, Delivery.recipient_id == Member.id)
        .where(
            Delivery.batch_id == broadcast_id,
            Delivery.status.in_((DeliveryStatus.BLOCKED, DeliveryStatus.FAILED)),
        )
        .order_by(Member.first_name, Member.id)
    )
    return list(rows.unique())


class ScheduleError(DomainError, ValueError):
    """A date/time an organiser typed can't be used.

    `reason`: "format" (not understood), "past" (already over), "gap" (skipped by a DST change)
    or "far" (more than a year ahead).
    """


_DATE_TIME = re.compile(
    r"^(?:(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{2}|\d{4})?"
    r"|(?P<iyear>\d{4})-(?P<imonth>\d{1,2})-(?P<iday>\d{1,2}))"
    r"(?:\s*,)?\s+(?:um\s+|at\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:\s*(?:uhr|h))?$",
    re.IGNORECASE,
)


def parse_local_time(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A typed local date and time ("24.12. 18:00", "24.12.2026 18:00", "2026-12-24 18:00") in UTC.

    Without a year the next such date is meant. A time a DST change skips is refused rather than
    guessed; one it repeats means the first (summer-time) occurrence.
    """
    match = _DATE_TIME.fullmatch(" ".join(text.split()))
    if match is None:
        raise ScheduleError("format")
    parts: dict[str, Any] = match.groupdict()
    local_now = now.astimezone(zone)
    try:
        if parts["iyear"]:
            year, month, day = int(parts["iyear"]), int(parts["imonth"]), int(parts["iday"])
        else:
            day, month = int(parts["day"]), int(parts["month"])
            year_text = parts["year"]
            if year_text:
                year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            else:
                year = local_now.year
        hour, minute = int(parts["hour"]), int(parts["minute"])
        local = datetime(year, month, day, hour, minute, tzinfo=zone)
        if not (parts["iyear"] or parts["year"]) and local < local_now - timedelta(days=1):
            local = local.replace(year=year + 1)
    except ValueError as exc:
        raise ScheduleError("format") from exc
    moment = local.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ScheduleError("gap")
    if moment <= now:
        raise ScheduleError("past")
    if moment - now > MAX_AHEAD:
        raise ScheduleError("far")
    return moment


def pruned_unreached(broadcast: Broadcast) -> int:
    """How many unreached members' names went with pruned rows (no longer listable)."""
    return (broadcast.pruned_blocked or 0) + (broadcast.pruned_failed or 0)


def audit_subject(broadcast: Broadcast) -> str:
    """How the audit log names a broadcast: its number, nothing of its content."""
    return f"#{broadcast.id}"
