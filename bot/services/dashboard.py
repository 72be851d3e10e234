"""What the organisers' dashboard (the Mini App) shows beside the report: the staffing of the
next field action dates, the newcomers waiting for contact, the last broadcasts.

Aggregates only, counted in SQL with a fixed handful of statements and bounded by LIMIT, so a
KV with 100,000 members costs the same statements as one with 100. Nothing here names a member;
how small counts are shown is the caller's business (bot.services.reports.model.masked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import newcomer_digest
from bot.services.broadcasts import kept_counts, recently_finished
from bot.services.delivery import batch_counts
from models import (
    ActionDate,
    ActionStatus,
    Broadcast,
    DeliveryStatus,
    FieldAction,
    Shift,
    ShiftSignup,
)

# How far ahead the staffing looks, and how many dates it lists at most.
STAFFING_DAYS = 14
STAFFING_LIMIT = 20
# How many of the last broadcasts are listed.
BROADCAST_LIMIT = 5


@dataclass(frozen=True, slots=True)
class DateStaffing:
    """One upcoming date of a field action: its shifts, people needed and signed up."""

    title: str
    kind: str  # models.ActionKind value
    day: date
    starts_at: datetime  # the first shift's start (UTC)
    shifts: int
    needed: int
    signed_up: int  # members signed up over all its shifts
    shifts_short: int  # shifts with fewer sign-ups than needed


@dataclass(frozen=True, slots=True)
class WaitingNewcomers:
    """Newcomers without a group, as the organisers' digest counts them (no names)."""

    total: int
    days: int  # NEWCOMER_DAYS: how long after joining someone counts as waiting
    districts: tuple[tuple[str, int], ...]  # the largest Stadtteile, largest first
    other_districts: int
    no_district: int


@dataclass(frozen=True, slots=True)
class BroadcastReach:
    """One broadcast that went out: its organiser's short label and what became of it."""

    summary: str
    category: str  # models.Category value
    sent_at: datetime
    total: int  # recipients put in the outbox
    delivered: int
    unreachable: int  # blocked the bot, before or while it went out
    opted_out: int  # left out: they don't want this category


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the dashboard shows beside the report."""

    staffing: tuple[DateStaffing, ...]
    newcomers: WaitingNewcomers
    broadcasts: tuple[BroadcastReach, ...]


async def upcoming_staffing(
    session: AsyncSession, *, now: datetime, days: int = STAFFING_DAYS, limit: int = STAFFING_LIMIT
) -> tuple[DateStaffing, ...]:
    """Scheduled dates of active actions whose first shift starts within `days` from `now`
    (and which haven't ended), soonest first, at most `limit`.

    Two statements: the shifts per date with their needs, and the sign-ups per date.
    """
    until = now + timedelta(days=days)
    per_date = (
        select(
            ActionDate.id,
            ActionDate.day,
            FieldAction.title,
            FieldAction.kind,
            func.min(Shift.starts_at).label("first"),
            func.count(Shift.id),
            func.sum(Shift.needed),
        )
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .join(Shift, Shift.action_date_id == ActionDate.id)
        .where(FieldAction.active.is_(True), ActionDate.status == ActionStatus.SCHEDULED)
        .group_by(ActionDate.id, ActionDate.day, FieldAction.title, FieldAction.kind)
        .having(func.max(Shift.ends_at) > now, func.min(Shift.starts_at) <= until)
        .order_by(func.min(Shift.starts_at), ActionDate.id)
        .limit(limit)
    )
    rows = (await session.execute(per_date)).all()
    if not rows:
        return ()
    date_ids = [row[0] for row in rows]
    # Per shift: its need and its sign-ups, so a date can say how many shifts are short.
    signups = (
        select(ShiftSignup.shift_id, func.count().label("people"))
        .group_by(ShiftSignup.shift_id)
        .subquery()
    )
    shift_rows = await session.execute(
        select(Shift.action_date_id, Shift.needed, func.coalesce(signups.c.people, 0))
        .outerjoin(signups, signups.c.shift_id == Shift.id)
        .where(Shift.action_date_id.in_(date_ids))
    )
    signed: dict[int, int] = dict.fromkeys(date_ids, 0)
    short: dict[int, int] = dict.fromkeys(date_ids, 0)
    for date_id, needed, people in shift_rows:
        signed[date_id] += int(people)
        short[date_id] += int(people) < int(needed)
    return tuple(
        DateStaffing(
            title=title,
            kind=str(kind),
            day=day,
            starts_at=first,
            shifts=int(shifts),
            needed=int(needed or 0),
            signed_up=signed[date_id],
            shifts_short=short[date_id],
        )
        for date_id, day, title, kind, first, shifts, needed in rows
    )


async def waiting_newcomers(session: AsyncSession, *, now: datetime, days: int) -> WaitingNewcomers:
    """The newcomer digest's counts as of `now` (bot.services.newcomer_digest), without names."""
    page = await newcomer_digest.digest_page(session, now=now, days=days, page=0)
    return WaitingNewcomers(
        total=page.total,
        days=page.days,
        districts=page.districts,
        other_districts=page.other_districts,
        no_district=page.no_district,
    )


async def last_broadcasts(
    session: AsyncSession, *, limit: int = BROADCAST_LIMIT
) -> tuple[BroadcastReach, ...]:
    """The last `limit` broadcasts that went out, newest first, with their reach."""
    return tuple([await _reach(session, item) for item in await recently_finished(session, limit)])


async def _reach(session: AsyncSession, broadcast: Broadcast) -> BroadcastReach:
    # The live outbox rows plus what pruned rows left on the broadcast, as its progress does.
    counts = await batch_counts(session, broadcast.id)
    for status, pruned in kept_counts(broadcast).items():
        counts[status] += pruned
    return BroadcastReach(
        summary=broadcast.summary,
        category=str(broadcast.category),
        sent_at=broadcast.started_at or broadcast.scheduled_at,
        total=sum(counts.values()),
        delivered=counts[DeliveryStatus.SENT],
        # Members known to have blocked the bot get a BLOCKED row too (bot.services.broadcasts).
        unreachable=counts[DeliveryStatus.BLOCKED],
        opted_out=broadcast.opted_out,
    )


async def dashboard(session: AsyncSession, *, now: datetime, newcomer_days: int) -> Dashboard:
    """Staffing, waiting newcomers and the last broadcasts as of `now`."""
    return Dashboard(
        staffing=await upcoming_staffing(session, now=now),
        newcomers=await waiting_newcomers(session, now=now, days=newcomer_days),
        broadcasts=await last_broadcasts(session),
    )
