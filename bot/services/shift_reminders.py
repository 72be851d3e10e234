"""Shift reminders: everyone on a shift is reminded the evening before and shortly before it.

Two moments per shift, both configurable (bot.settings): the evening before at a local hour
(shift_reminder_evening_hour; none when the shift starts less than EVENING_GAP after that
moment, e.g. an evening hour of 23 and a shift at half past midnight: the second reminder
follows anyway) and a number of minutes before the start (shift_reminder_minutes). A job runs
every minute and queues, per member and shift, the latest moment that is due, under a key
naming the shift, its current start, the moment and the member: a second run, a restart or a
second instance adds nothing, and a moved shift gets new reminders. After downtime only the
latest due reminder goes out (late, not a burst), as long as the shift has not started; once it
has, the missed reminder is recorded as dropped (a CANCELLED outbox row under the same key, so
it is counted once). Who signs up after a moment is not reminded of it.

Rows carry ids only; at sending time `still_due` re-checks the shift (its date not called off,
its action active, not moved, not started) and that the member still holds it, and the
renderer withdraws the rest. Category REMINDERS: a member who switched reminders off gets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services import field_actions, shifts
from bot.services.delivery import KEY_LENGTH, enqueue_once, existing_keys
from bot.services.preferences import opted_out_among
from models import (
    ActionDate,
    ActionStatus,
    Category,
    Delivery,
    DeliveryStatus,
    FieldAction,
    Member,
    Shift,
    ShiftSignup,
)

SHIFT_REMINDER = "shift_reminder"
EVENING = "eve"
BEFORE = "min"
# No evening reminder for a shift starting less than this after the evening moment.
EVENING_GAP = timedelta(hours=3)
# The farthest ahead a reminder can be due: the evening before at 0:00 for a shift at 23:59
# the next day, plus a DST hour; and the longest "minutes before" setting (a day).
MAX_AHEAD = timedelta(hours=49)
# Shifts that started this recently are checked for reminders downtime made miss (counted).
DROP_LOOKBACK = timedelta(days=1)
DROPPED = "shift started before the reminder could go out"


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """When shift reminders go out: the evening hour (None: none) and minutes before (0: none)."""

    evening_hour: int | None
    minutes: int


@dataclass(frozen=True, slots=True)
class Queued:
    """What a run did: reminders queued, and missed ones dropped because the shift started."""

    queued: int
    dropped: int


@dataclass(frozen=True, slots=True)
class Due:
    """One reminder to queue (or to record as dropped)."""

    shift_id: int
    starts_at: datetime
    which: str
    remind_at: datetime
    member_id: int

    @property
    def key(self) -> str:
        """The occasion: shift, its current start, which reminder, the member."""
        stamp = int(self.starts_at.timestamp())
        return f"srem:{self.shift_id}:{stamp}:{self.which}:{self.member_id}"[:KEY_LENGTH]


def moments(starts_at: datetime, plan: ReminderPlan, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    """The shift's reminder moments (which, when in UTC), earliest first."""
    found: list[tuple[str, datetime]] = []
    if plan.evening_hour is not None:
        day_before = starts_at.astimezone(zone).date() - timedelta(days=1)
        evening = datetime.combine(day_before, time(plan.evening_hour), tzinfo=zone).astimezone(UTC)
        if starts_at - evening >= EVENING_GAP:
            found.append((EVENING, evening))
    if plan.minutes > 0:
        found.append((BEFORE, starts_at - timedelta(minutes=plan.minutes)))
    return sorted(found, key=lambda item: item[1])


def latest_due(
    starts_at: datetime,
    plan: ReminderPlan,
    zone: ZoneInfo,
    *,
    signed_at: datetime,
    now: datetime,
) -> tuple[str, datetime] | None:
    """The reminder due at `now` closest to the start, or None. Only moments after the member
    signed up count: who signs up an hour before needs no evening reminder of it."""
    due = [item for item in moments(starts_at, plan, zone) if signed_at <= item[1] <= now]
    return due[-1] if due else None


async def _candidates(
    session: AsyncSession, *, start_after: datetime, start_until: datetime
) -> list[tuple[int, datetime, int, datetime]]:
    """(shift, start, member, signed_at) for shifts of scheduled dates of active actions
    starting in (start_after, start_until], reachable members only."""
    rows = await session.execute(
        select(Shift.id, Shift.starts_at, ShiftSignup.member_id, ShiftSignup.signed_at)
        .join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .join(ActionDate, ActionDate.id == Shift.action_date_id)
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .join(Member, Member.id == ShiftSignup.member_id)
        .where(
            FieldAction.active.is_(True),
            ActionDate.status == ActionStatus.SCHEDULED,
            Shift.starts_at > start_after,
            Shift.starts_at <= start_until,
            Member.reachable.is_(True),
        )
        .order_by(Shift.starts_at, Shift.id, ShiftSignup.member_id)
    )
    return [(shift, start, member, signed) for shift, start, member, signed in rows]


async def _new(session: AsyncSession, wanted: list[Due]) -> list[Due]:
    """Those of `wanted` not in the outbox yet whose member still wants reminders (the worker
    checks the opt-out again at sending time)."""
    if not wanted:
        return []
    existing = await existing_keys(session, [due.key for due in wanted])
    fresh = [due for due in wanted if due.key not in existing]
    opted_out = await opted_out_among(session, {due.member_id for due in fresh}, Category.REMINDERS)
    return [due for due in fresh if due.member_id not in opted_out]


def payload(due: Due) -> dict[str, Any]:
    """What a reminder row carries: the shift's id, the start it was for, which reminder."""
    return {"shift_id": due.shift_id, "start": int(due.starts_at.timestamp()), "which": due.which}


async def _record_dropped(session: AsyncSession, due: Due, *, now: datetime) -> bool:
    """Note a reminder downtime made miss: a CANCELLED row under its key, so it counts once
    (also with two instances) and no later run queues it."""
    insert = dialect_insert(session)(Delivery).values(
        recipient_id=due.member_id,
        kind=SHIFT_REMINDER,
        payload=payload(due),
        due_at=due.remind_at,
        category=Category.REMINDERS.value,
        status=DeliveryStatus.CANCELLED,
        attempts=0,
        last_error=DROPPED,
        created_at=now,
        dedupe_key=due.key,
    )
    result = await session.execute(insert.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return bool(result.rowcount)


async def queue_due(
    session: AsyncSession, *, now: datetime, zone: ZoneInfo, plan: ReminderPlan
) -> Queued:
    """Queue every shift reminder due at `now` that is not queued yet; the caller commits.

    Per member and shift only the latest due reminder. Reminders missed while the bot was down
    for shifts that started meanwhile (up to DROP_LOOKBACK ago) are recorded as dropped.
    """
    if plan.evening_hour is None and plan.minutes <= 0:
        return Queued(0, 0)
    wanted: list[Due] = []
    missed: list[Due] = []
    for shift_id, starts_at, member_id, signed_at in await _candidates(
        session,
        start_after=now - DROP_LOOKBACK,
        start_until=now + max(MAX_AHEAD, timedelta(minutes=plan.minutes)),
    ):
        started = starts_at <= now
        # Before the start anything due until now counts; after it, what was due before it.
        found = latest_due(
            starts_at, plan, zone, signed_at=signed_at, now=starts_at if started else now
        )
        if found is None:
            continue
        which, remind_at = found
        due = Due(shift_id, starts_at, which, remind_at, member_id)
        (missed if started else wanted).append(due)
    queued = 0
    for due in await _new(session, wanted):
        queued += await enqueue_once(
            session,
            due.member_id,
            key=due.key,
            kind=SHIFT_REMINDER,
            payload=payload(due),
            # When it was meant; a late one (after downtime) is thus due at once.
            due_at=due.remind_at,
            category=Category.REMINDERS.value,
        )
    dropped = 0
    for due in await _new(session, missed):
        dropped += await _record_dropped(session, due, now=now)
    return Queued(queued=queued, dropped=dropped)


@dataclass(frozen=True, slots=True)
class ShiftReminder:
    """A reminder still worth sending: the shift (with its date and action), which reminder,
    the others on it (in sign-up order) and how many people it still lacks."""

    shift: Shift
    which: str
    others: tuple[Member, ...]
    missing: int

    @property
    def action(self) -> FieldAction:
        """The shift's action."""
        return self.shift.action_date.action


async def still_due(
    session: AsyncSession, row_payload: dict[str, Any], member: Member | None, *, now: datetime
) -> ShiftReminder | None:
    """The reminder as it stands at sending time, or None when it is no longer true: the
    shift is gone, its action inactive, its date called off, it moved or started, or the
    member left it (or withdrew consent)."""
    if member is None or member.profile is None:
        return None
    try:
        shift_id = int(row_payload["shift_id"])
        start = int(row_payload["start"])
        which = str(row_payload["which"])
    except (KeyError, TypeError, ValueError):
        return None
    shift = await field_actions.find_shift(session, shift_id)
    if shift is None or shift.action_date.status != ActionStatus.SCHEDULED:
        return None
    if int(shift.starts_at.timestamp()) != start or shift.starts_at <= now:
        return None
    crew = await shifts.people(session, shift.id)
    if all(person.id != member.id for person in crew):
        return None
    others = tuple(person for person in crew if person.id != member.id)
    return ShiftReminder(shift, which, others, max(0, shift.needed - len(crew)))
