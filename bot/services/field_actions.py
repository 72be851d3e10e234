"""Field actions: the plan (kind, place, day or rule, shift plan), its dates on a rolling
horizon, lookups, and the staffing of what lies ahead.

An action's rule ("jeden Samstag") is read by the same parser and RRULE engine as meetings and
expanded in the KV's zone; only its days count, the shift plan gives the times. Each date is an
ActionDate row with its Shift rows, made up to HORIZON ahead, within the action's own period
and its campaign's. Dates the plan no longer gives are deleted when nobody signed up, else
cancelled (their people are told by bot.services.action_notices).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.kv_setup.schema import derive_key
from bot.services.recurrence import RuleError, expand, parse_day, parse_period, parse_rule, to_rrule
from models import (
    ActionDate,
    ActionKind,
    ActionPlanner,
    ActionStatus,
    Campaign,
    FieldAction,
    Member,
    MemberRole,
    Role,
    Shift,
    ShiftSignup,
)
from models.base import valid_id
from models.field_action import LABEL_LENGTH, MATERIAL_LENGTH, MAX_NEEDED, MAX_SHIFTS, PLACE_LENGTH
from models.kv import KEY_LENGTH, NAME_LENGTH, district_neighbours

HORIZON = timedelta(weeks=8)
# How far ahead a single action may be planned.
MAX_AHEAD = timedelta(days=366)
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


class ActionError(DomainError, ValueError):
    """A plan or lookup that can't be made. `reason`: "unknown" (no such action, date or shift,
    or its action is gone), "shifts" (the shift plan is empty, too long, or a shift ends before
    it starts or overlaps the next), "needed" (people per shift outside 1..MAX_NEEDED), "time"
    (a time that can't be read), "label", "place", "title", "material" (too long or empty),
    "rule" (a rule that can't be read or gives no date), "past" (the day is over),
    "too_far", "period" (the period ends before it starts), "when" (neither a day nor a rule,
    or both)."""


@dataclass(frozen=True, slots=True)
class PlannedShift:
    """One shift of the plan: local wall-clock times and how many people it needs."""

    start: time
    end: time
    needed: int
    label: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The plan entry as stored in FieldAction.shift_plan."""
        return {
            "label": self.label,
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "needed": self.needed,
        }


@dataclass(frozen=True, slots=True)
class Horizon:
    """What extending the horizon did: dates added, and dates withdrawn (cancelled ones among
    them by id, whose people are to be told)."""

    added: int
    withdrawn: int
    cancelled: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ShiftStaffing:
    """A shift and how many hold it."""

    shift: Shift
    filled: int

    @property
    def missing(self) -> int:
        """People still needed (0 when full)."""
        return max(0, self.shift.needed - self.filled)


@dataclass(frozen=True, slots=True)
class DateStaffing:
    """An action's date and the staffing of each of its shifts."""

    action_date: ActionDate
    shifts: tuple[ShiftStaffing, ...]

    @property
    def filled(self) -> int:
        """People signed up over all shifts (a shift counts at most its need)."""
        return sum(min(item.filled, item.shift.needed) for item in self.shifts)

    @property
    def needed(self) -> int:
        """People needed over all shifts."""
        return sum(item.shift.needed for item in self.shifts)


# --- the plan ----------------------------------------------------------------------------------


def parse_time(text: str) -> time:
    """ "9:30", "09:30" or "9.30" as a time; ActionError("time") otherwise."""
    match = _TIME.match(text.strip())
    if match is None:
        raise ActionError("time")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ActionError("time")
    return time(hour, minute)


def check_shift_plan(shifts: Iterable[PlannedShift]) -> tuple[PlannedShift, ...]:
    """The plan sorted by start, checked: 1..MAX_SHIFTS shifts, each ending after it starts
    (same day), none overlapping the next, 1..MAX_NEEDED people each, labels short."""
    plan = tuple(sorted(shifts, key=lambda item: (item.start, item.end)))
    if not 0 < len(plan) <= MAX_SHIFTS:
        raise ActionError("shifts")
    for item in plan:
        if item.end <= item.start:
            raise ActionError("shifts")
        if not 1 <= item.needed <= MAX_NEEDED:
            raise ActionError("needed")
        if item.label is not None and not 0 < len(item.label) <= LABEL_LENGTH:
            raise ActionError("label")
    for earlier, later in pairwise(plan):
        if later.start < earlier.end:
            raise ActionError("shifts")
    return plan


def plan_of(action: FieldAction) -> tuple[PlannedShift, ...]:
    """The action's stored shift plan as values (entries that can't be read are skipped)."""
    found: list[PlannedShift] = []
    for entry in action.shift_plan or ():
        try:
            found.append(
                PlannedShift(
                    start=parse_time(str(entry["start"])),
                    end=parse_time(str(entry["end"])),
                    needed=int(entry.get("needed") or 1),
                    label=entry.get("label") or None,
                )
            )
        except (ActionError, KeyError, TypeError, ValueError):
            continue
    return tuple(found)


def check_details(*, title: str, place: str, material: str | None) -> None:
    """Refuse an empty or too long title or place, or too long material notes."""
    if not 0 < len(title.strip()) <= NAME_LENGTH:
        raise ActionError("title")
    if not 0 < len(place.strip()) <= PLACE_LENGTH:
        raise ActionError("place")
    if material is not None and len(material) > MATERIAL_LENGTH:
        raise ActionError("material")


def rule_text(rule: str) -> str:
    """The RRULE text of a written rule ("jeden Samstag"); ActionError("rule") if unreadable."""
    try:
        return to_rrule(parse_rule(rule))
    except RuleError as error:
        raise ActionError("rule") from error


async def create(
    session: AsyncSession,
    *,
    kind: ActionKind,
    title: str,
    place: str,
    shifts: Sequence[PlannedShift],
    now: datetime,
    zone: ZoneInfo,
    on_day: date | None = None,
    rule: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    district_id: int | None = None,
    campaign_id: int | None = None,
    material: str | None = None,
    contact_id: int | None = None,
    key: str | None = None,
) -> FieldAction:
    """Plan an action (one day, or a rule within an optional period) and make its dates up to
    the horizon. Everything is checked first; nothing is stored when anything is wrong. The
    caller commits.

    Without a `key` the action gets one made from its title (unique, "-2", "-3" appended), so
    an action planned in the chat appears in the setup file's export and a re-import of that
    export finds it again.
    """
    check_details(title=title, place=place, material=material)
    plan = check_shift_plan(shifts)
    campaign = await find_campaign(session, campaign_id)
    check_when(
        When(on_day=on_day, rule=rule, starts_on=starts_on, ends_on=ends_on), campaign=campaign
    )
    rrule = None
    if on_day is not None:
        check_day(on_day, plan, now=now, zone=zone)
    else:
        assert rule is not None
        rrule = rule_text(rule)
    position = await session.scalar(select(func.coalesce(func.max(FieldAction.position), 0)))
    action = FieldAction(
        key=key or await _free_key(session, title),
        kind=kind,
        title=title.strip(),
        place=place.strip(),
        material=(material or "").strip() or None,
        on_day=on_day,
        rule=rule.strip() if rule else None,
        rrule=rrule,
        starts_on=starts_on,
        ends_on=ends_on,
        district_id=district_id,
        campaign_id=campaign_id,
        contact_id=contact_id,
        shift_plan=[item.as_json() for item in plan],
        position=int(position or 0) + 1,
        created_at=now,
    )
    session.add(action)
    await session.flush()
    await extend_horizon(session, now=now, zone=zone, action_ids=[action.id])
    return action


async def _free_key(session: AsyncSession, title: str) -> str:
    base = (derive_key(title) or "aktion")[: KEY_LENGTH - 4]
    taken = set(
        await session.scalars(select(FieldAction.key).where(FieldAction.key.like(f"{base}%")))
    )
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


# --- dates on the horizon -----------------------------------------------------------------------


def _shift_start(day: date, planned: PlannedShift, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, planned.start, tzinfo=zone)


def _in_period(day: date, action: FieldAction) -> bool:
    periods: list[tuple[date | None, date | None]] = [(action.starts_on, action.ends_on)]
    if action.campaign is not None:
        periods.append((action.campaign.starts_on, action.campaign.ends_on))
    return all(
        (first is None or day >= first) and (last is None or day <= last) for first, last in periods
    )


def action_days(
    action: FieldAction, *, zone: ZoneInfo, start: datetime, end: datetime
) -> list[date]:
    """The local days the action takes place on with start < day's midnight-ish <= end:
    its single day, or its rule's days within its period and its campaign's."""
    first_day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    if action.on_day is not None:
        days = [action.on_day] if first_day <= action.on_day <= last_day else []
    elif action.rrule:
        try:
            # From the local midnight before today, so today's date counts too.
            since = datetime.combine(first_day, time(0), tzinfo=zone) - timedelta(seconds=1)
            moments = expand(action.rrule, zone=zone, start=since, end=end)
        except RuleError:
            return []
        days = sorted({moment.astimezone(zone).date() for moment in moments})
    else:
        days = []
    return [day for day in days if _in_period(day, action)]


def _shifts_for(action: FieldAction, day: date, zone: ZoneInfo) -> list[Shift]:
    return [
        Shift(
            label=planned.label,
            starts_at=datetime.combine(day, planned.start, tzinfo=zone).astimezone(UTC),
            ends_at=datetime.combine(day, planned.end, tzinfo=zone).astimezone(UTC),
            needed=planned.needed,
        )
        for planned in plan_of(action)
    ]


def _date_rows(action: FieldAction, day: date, zone: ZoneInfo, now: datetime) -> ActionDate:
    row = ActionDate(action_id=action.id, day=day, status=ActionStatus.SCHEDULED, created_at=now)
    row.shifts = _shifts_for(action, day, zone)
    return row


async def extend_horizon(
    session: AsyncSession,
    *,
    now: datetime,
    zone: ZoneInfo,
    action_ids: Collection[int] | None = None,
) -> Horizon:
    """Make a date (with its shifts) for every day of each active action up to HORIZON ahead.

    Idempotent: one row per action and day. Future dates whose last shift has not ended and that
    the plan no longer gives are withdrawn: deleted when nobody signed up, else cancelled (their
    ids returned, for telling the people). The caller commits.
    """
    query = select(FieldAction).where(FieldAction.active.is_(True))
    if action_ids is not None:
        query = query.where(FieldAction.id.in_(list(action_ids)))
    actions = list((await session.scalars(query)).unique())
    # Actions the setup file dropped: their dates ahead go too (told like withdrawn ones).
    retired = await _retire_inactive(session, now=now) if action_ids is None else Horizon(0, 0)
    if not actions:
        return retired
    today = now.astimezone(zone).date()
    end = now + HORIZON
    existing: dict[tuple[int, date], ActionDate] = {
        (row.action_id, row.day): row
        for row in (
            await session.scalars(
                select(ActionDate).where(
                    ActionDate.action_id.in_([action.id for action in actions]),
                    ActionDate.day >= today,
                )
            )
        ).unique()
    }
    added = 0
    wanted: set[tuple[int, date]] = set()
    for action in actions:
        plan = plan_of(action)
        if not plan:
            continue
        for day in action_days(action, zone=zone, start=now, end=end):
            if datetime.combine(day, plan[-1].end, tzinfo=zone) <= now:
                continue  # all its shifts are over
            wanted.add((action.id, day))
            if (action.id, day) in existing:
                await _follow_plan(session, existing[(action.id, day)], action, zone, now)
                continue
            # Another instance may make the same date meanwhile: a savepoint keeps the rest.
            try:
                async with session.begin_nested():
                    session.add(_date_rows(action, day, zone, now))
                    await session.flush()
                added += 1
            except IntegrityError:
                continue
    stale = [
        row
        for key, row in existing.items()
        if key not in wanted
        and row.status == ActionStatus.SCHEDULED
        and row.shifts
        and row.shifts[-1].ends_at > now
    ]
    cancelled = await _withdraw(session, stale, now=now)
    return Horizon(
        added=added,
        withdrawn=len(stale) + retired.withdrawn,
        cancelled=(*retired.cancelled, *cancelled),
    )


async def _withdraw(
    session: AsyncSession, rows: Sequence[ActionDate], *, now: datetime
) -> tuple[int, ...]:
    """Delete dates nobody signed up for; cancel the others and return their ids."""
    cancelled: list[int] = []
    for row in rows:
        if await _has_signups(session, [shift.id for shift in row.shifts]):
            row.status = ActionStatus.CANCELLED
            row.changed_at = now
            cancelled.append(row.id)
        else:
            await session.execute(delete(ActionDate).where(ActionDate.id == row.id))
    await session.flush()
    return tuple(cancelled)


async def _retire_inactive(session: AsyncSession, *, now: datetime) -> Horizon:
    """Withdraw the scheduled dates ahead of inactive actions (their last shift not ended)."""
    rows = [
        row
        for row in (
            await session.scalars(
                select(ActionDate)
                .join(FieldAction, FieldAction.id == ActionDate.action_id)
                .where(
                    FieldAction.active.is_(False),
                    ActionDate.status == ActionStatus.SCHEDULED,
                    ActionDate.day >= (now - timedelta(days=1)).date(),
                )
            )
        ).unique()
        if row.shifts and row.shifts[-1].ends_at > now
    ]
    return Horizon(added=0, withdrawn=len(rows), cancelled=await _withdraw(session, rows, now=now))


async def _follow_plan(
    session: AsyncSession, row: ActionDate, action: FieldAction, zone: ZoneInfo, now: datetime
) -> None:
    """A changed shift plan reaches future dates nobody signed up for yet; a date with people
    keeps the shifts they signed up for."""
    fresh = _shifts_for(action, row.day, zone)
    current = [(s.label, s.starts_at, s.ends_at, s.needed) for s in row.shifts]
    if current == [(s.label, s.starts_at, s.ends_at, s.needed) for s in fresh]:
        return
    if row.status != ActionStatus.SCHEDULED or not row.shifts or row.shifts[0].starts_at <= now:
        return
    if await _has_signups(session, [shift.id for shift in row.shifts]):
        return
    row.shifts = fresh
    row.changed_at = now
    await session.flush()


async def _has_signups(session: AsyncSession, shift_ids: Sequence[int]) -> bool:
    if not shift_ids:
        return False
    found = await session.scalar(
        select(ShiftSignup.shift_id).where(ShiftSignup.shift_id.in_(list(shift_ids))).limit(1)
    )
    return found is not None


async def cancel_date(session: AsyncSession, date_id: int, *, now: datetime) -> ActionDate:
    """Call off one date of an action (its people are told by the caller through
    bot.services.action_notices). ActionError("unknown"/"past"). The caller commits."""
    row = await get_date(session, date_id)
    if row.cancelled:
        return row
    if not row.shifts or row.shifts[-1].ends_at <= now:
        raise ActionError("past")
    row.status = ActionStatus.CANCELLED
    row.changed_at = now
    await session.flush()
    return row


async def set_needed(session: AsyncSession, shift_id: int, needed: int, *, now: datetime) -> Shift:
    """Change how many people one shift needs (never below who already hold it is fine: they
    keep it). ActionError("unknown"/"needed"/"past"). The caller commits."""
    shift = await get_shift(session, shift_id)
    if not 1 <= needed <= MAX_NEEDED:
        raise ActionError("needed")
    if shift.starts_at <= now:
        raise ActionError("past")
    shift.needed = needed
    await session.flush()
    return shift


# --- lookups ------------------------------------------------------------------------------------


async def find_action(session: AsyncSession, action_id: int) -> FieldAction | None:
    """An active action; None otherwise (also for forged ids)."""
    action = await session.get(FieldAction, action_id) if valid_id(action_id) else None
    return action if action is not None and action.active else None


async def find_date(
    session: AsyncSession, date_id: int, *, retired_too: bool = False
) -> ActionDate | None:
    """A date of an active action (with `retired_too` also of one the setup file dropped, for
    telling its people it was called off); None otherwise (also for forged ids)."""
    if not valid_id(date_id):
        return None
    # A query, not session.get: a date already loaded through a shift has no shifts loaded
    # (eager loading stops at the cycle), and the query's eager load fills them in.
    row = await session.scalar(select(ActionDate).where(ActionDate.id == date_id))
    return row if row is not None and (row.action.active or retired_too) else None


async def get_date(session: AsyncSession, date_id: int) -> ActionDate:
    """find_date, or ActionError("unknown")."""
    row = await find_date(session, date_id)
    if row is None:
        raise ActionError("unknown")
    return row


async def find_shift(session: AsyncSession, shift_id: int) -> Shift | None:
    """A shift of an active action; None otherwise (also for forged ids)."""
    shift = await session.get(Shift, shift_id) if valid_id(shift_id) else None
    return shift if shift is not None and shift.action_date.action.active else None


async def get_shift(session: AsyncSession, shift_id: int) -> Shift:
    """find_shift, or ActionError("unknown")."""
    shift = await find_shift(session, shift_id)
    if shift is None:
        raise ActionError("unknown")
    return shift


async def upcoming_dates(
    session: AsyncSession,
    *,
    now: datetime,
    until: datetime,
    include_cancelled: bool = True,
    action_ids: Collection[int] | None = None,
) -> list[ActionDate]:
    """Dates of active actions with a shift that has not ended by `now` and a first shift
    starting by `until`, soonest first (cancelled ones too unless asked not to)."""
    first = (
        select(Shift.action_date_id, func.min(Shift.starts_at).label("first"))
        .group_by(Shift.action_date_id)
        .having(func.max(Shift.ends_at) > now, func.min(Shift.starts_at) <= until)
        .subquery()
    )
    query = (
        select(ActionDate)
        .join(first, first.c.action_date_id == ActionDate.id)
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .where(FieldAction.active.is_(True))
        .order_by(first.c.first, ActionDate.id)
    )
    if not include_cancelled:
        query = query.where(ActionDate.status == ActionStatus.SCHEDULED)
    if action_ids is not None:
        query = query.where(ActionDate.action_id.in_(list(action_ids)))
    return list((await session.scalars(query)).unique())


async def filled(session: AsyncSession, shift_ids: Collection[int]) -> dict[int, int]:
    """How many members hold each of the shifts (0 for those nobody holds)."""
    counts = dict.fromkeys(shift_ids, 0)
    if not counts:
        return counts
    rows = await session.execute(
        select(ShiftSignup.shift_id, func.count())
        .where(ShiftSignup.shift_id.in_(list(counts)))
        .group_by(ShiftSignup.shift_id)
    )
    for shift_id, count in rows:
        counts[shift_id] = int(count)
    return counts


async def staffing(session: AsyncSession, dates: Sequence[ActionDate]) -> list[DateStaffing]:
    """Each date with the staffing of its shifts, in the given order."""
    counts = await filled(session, [shift.id for row in dates for shift in row.shifts])
    return [
        DateStaffing(
            row, tuple(ShiftStaffing(shift, counts.get(shift.id, 0)) for shift in row.shifts)
        )
        for row in dates
    ]


async def upcoming_staffing(
    session: AsyncSession, *, now: datetime, until: datetime
) -> list[DateStaffing]:
    """Every scheduled date ahead until `until` with its staffing: the organisers' overview."""
    dates = await upcoming_dates(session, now=now, until=until, include_cancelled=False)
    return await staffing(session, dates)


class Nearness(enum.IntEnum):
    """How close a date is to a member's Stadtteil, closest first."""

    OWN = 0
    NEIGHBOUR = 1
    OTHER = 2


async def neighbour_ids(session: AsyncSession, district_id: int | None) -> set[int]:
    """The Stadtteile next to `district_id` (none for None)."""
    if district_id is None:
        return set()
    return set(
        await session.scalars(
            select(district_neighbours.c.neighbour_id).where(
                district_neighbours.c.district_id == district_id
            )
        )
    )


def nearness(row: ActionDate, district_id: int | None, neighbours: Collection[int]) -> Nearness:
    """Whether the date's action is in Stadtteil `district_id`, one of its `neighbours`, or
    elsewhere (an action without a Stadtteil, or a member without one: elsewhere)."""
    if district_id is None or row.action.district_id is None:
        return Nearness.OTHER
    if row.action.district_id == district_id:
        return Nearness.OWN
    if row.action.district_id in neighbours:
        return Nearness.NEIGHBOUR
    return Nearness.OTHER


def by_nearness(
    items: Sequence[DateStaffing], district_id: int | None, neighbours: Collection[int]
) -> list[tuple[Nearness, DateStaffing]]:
    """The dates with their nearness, the member's own Stadtteil first, then its neighbours,
    then the rest; each group keeps the given (time) order."""
    ranked = [(nearness(item.action_date, district_id, neighbours), item) for item in items]
    return sorted(ranked, key=lambda pair: pair[0])


async def find_campaign(session: AsyncSession, campaign_id: int | None) -> Campaign | None:
    """A campaign by id; None for none, unknown or forged ids."""
    if campaign_id is None or not valid_id(campaign_id):
        return None
    return await session.get(Campaign, campaign_id)


async def campaigns(session: AsyncSession) -> list[Campaign]:
    """The KV's campaigns in the setup's order."""
    return list(await session.scalars(select(Campaign).order_by(Campaign.position, Campaign.id)))


# --- who plans actions ---------------------------------------------------------------------------


async def is_planner(session: AsyncSession, member_id: int, roles: Collection[Role]) -> bool:
    """Whether the member may create and manage field actions: organisers and admins, and
    hosts an organiser allowed."""
    if Role.ORGANISER in roles or Role.ADMIN in roles:
        return True
    if Role.HOST not in roles:
        return False
    return await session.get(ActionPlanner, member_id) is not None


async def can_manage(
    session: AsyncSession, action: FieldAction, member_id: int, roles: Collection[Role]
) -> bool:
    """Organisers and admins manage every action; an allowed host the ones they plan."""
    if Role.ORGANISER in roles or Role.ADMIN in roles:
        return True
    return action.contact_id == member_id and await is_planner(session, member_id, roles)


async def allow_planner(
    session: AsyncSession, member_id: int, *, allowed: bool, by: int | None, now: datetime
) -> bool:
    """Allow a host to plan field actions (or take it back); returns whether anything changed.
    The caller commits."""
    row = await session.get(ActionPlanner, member_id)
    if allowed and row is None:
        session.add(ActionPlanner(member_id=member_id, granted_by=by, granted_at=now))
        await session.flush()
        return True
    if not allowed and row is not None:
        await session.delete(row)
        await session.flush()
        return True
    return False


# --- what planners type in the chat --------------------------------------------------------------

# "9:30-10 Aufbau 2": a start, an end (hours alone are whole hours), an optional label and the
# number of people; "Uhr"/"h" after a time and "Pers."/"people" after the number are allowed.
_CLOCK = r"\d{1,2}(?:[:.]\d{2})?"
_SHIFT_PART = re.compile(
    rf"^(?P<start>{_CLOCK})\s*(?:uhr|h)?\s*(?:-|–|—|bis|to)\s*(?P<end>{_CLOCK})\s*(?:uhr|h)?"
    r"(?:\s+(?P<label>.*?))??"
    r"(?:\s+(?P<needed>\d{1,6})\s*(?:pers\.?|personen|person|people|leute|p)?)?\s*$",
    re.IGNORECASE,
)
MAX_SHIFT_TEXT = 600
# Words that make a typed "when" a rule rather than one day ("jeden Samstag", "samstags").
_RULE_WORDS = re.compile(
    r"\b(jede[nrms]?|every|each|alle|wöchentlich|woechentlich|weekly|monatlich|monthly|"
    r"biweekly|fortnightly|\w+tags|mittwochs|\w+days)\b",
    re.IGNORECASE,
)
_DAY = r"(?:\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})?|\d{4}-\d{1,2}-\d{1,2})"
_PERIOD = rf"(?:\b(?:vom|von|from|ab)\s+)?{_DAY}\s*(?:-|–|—|bis|to|until)\s*{_DAY}"
# The period after the rule ("jeden Samstag 1.12.-28.2.", "... bis 28.2.") or before it.
_PERIOD_TAIL = re.compile(rf"{_PERIOD}\s*$|\b(?:bis|until)\s+{_DAY}\s*$", re.IGNORECASE)
_PERIOD_HEAD = re.compile(rf"^\s*{_PERIOD}(?=[\s,:]|$)", re.IGNORECASE)


class ShiftTextError(ActionError):
    """A typed shift plan that can't be used; `part` is the piece of text at fault (empty when
    the plan as a whole is wrong). Reasons: "format", "time", "reversed" (ends before it
    starts), "overlap" (`part` names the later of two shifts), "needed", "label", "shifts"
    (none or more than MAX_SHIFTS), "too_long"."""

    def __init__(self, reason: str, part: str = "") -> None:
        super().__init__(reason)
        self.part = part


def _clock(text: str) -> time:
    return parse_time(text if re.search(r"[:.]", text) else f"{text}:00")


def parse_shifts(text: str) -> tuple[PlannedShift, ...]:
    """A shift plan as typed: "9:30-10 Aufbau 2, 10-12 3, 12-14 3" (parts separated by commas,
    semicolons or lines; each "start-end [label] people"), checked like check_shift_plan.
    Raises ShiftTextError naming the part at fault."""
    if len(text) > MAX_SHIFT_TEXT:
        raise ShiftTextError("too_long")
    parts = [part.strip() for part in re.split(r"[,;\n]+", text) if part.strip()]
    if not 0 < len(parts) <= MAX_SHIFTS:
        raise ShiftTextError("shifts")
    found: list[tuple[PlannedShift, str]] = []
    for part in parts:
        match = _SHIFT_PART.match(part)
        if match is None or match.group("needed") is None:
            raise ShiftTextError("format", part)
        try:
            start, end = _clock(match.group("start")), _clock(match.group("end"))
        except ActionError as error:
            raise ShiftTextError("time", part) from error
        if end <= start:
            raise ShiftTextError("reversed", part)
        needed = int(match.group("needed"))
        if not 1 <= needed <= MAX_NEEDED:
            raise ShiftTextError("needed", part)
        label = (match.group("label") or "").strip() or None
        if label is not None and len(label) > LABEL_LENGTH:
            raise ShiftTextError("label", part)
        found.append((PlannedShift(start=start, end=end, needed=needed, label=label), part))
    found.sort(key=lambda item: (item[0].start, item[0].end))
    for (earlier, _part), (later, part) in pairwise(found):
        if later.start < earlier.end:
            raise ShiftTextError("overlap", part)
    return check_shift_plan(item for item, _part in found)


def check_day(day: date, plan: Sequence[PlannedShift], *, now: datetime, zone: ZoneInfo) -> None:
    """Refuse a single day whose first shift has begun ("past") or that lies further ahead than
    an action may be planned ("too_far"), as create would."""
    today = now.astimezone(zone).date()
    if day < today or (plan and _shift_start(day, plan[0], zone) <= now):
        raise ActionError("past")
    if day > today + MAX_AHEAD:
        raise ActionError("too_far")


@dataclass(frozen=True, slots=True)
class When:
    """When a typed action takes place: one day, or a rule (as typed, and read) within an
    optional period."""

    on_day: date | None = None
    rule: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None


def check_when(when: When, *, campaign: Campaign | None = None) -> None:
    """Refuse what the setup file would refuse too, so an action planned in the chat always
    reads back from an export: neither or both of a day and a rule ("when"), a period for a
    single day ("when"), a period ending before it starts ("period"), a rule with a time of day
    (the shifts give the times: "rule_time"), a rule that can't be read ("rule"), and a day
    outside its campaign's period ("campaign")."""
    if (when.on_day is None) == (when.rule is None):
        raise ActionError("when")
    if when.on_day is not None:
        if when.starts_on is not None or when.ends_on is not None:
            raise ActionError("when")
        if campaign is not None and (
            (campaign.starts_on is not None and when.on_day < campaign.starts_on)
            or (campaign.ends_on is not None and when.on_day > campaign.ends_on)
        ):
            raise ActionError("campaign")
        return
    assert when.rule is not None
    try:
        rule = parse_rule(when.rule)
    except RuleError as error:
        raise ActionError("rule") from error
    if rule.time is not None:
        raise ActionError("rule_time")
    if when.starts_on is not None and when.ends_on is not None and when.ends_on < when.starts_on:
        raise ActionError("period")


def parse_when(text: str, *, today: date) -> When:
    """One day ("Sa 12.12.", "12.12.2026", "morgen") or a rule ("jeden Samstag", "samstags")
    with an optional period after or before it ("jeden Samstag 1.12.-28.2.", "... bis 28.2.",
    "1.12.-28.2. jeden Samstag").

    Raises the recurrence parser's RuleError (a MomentError for days and periods), whose
    message, in the active locale, says what is wrong; it quotes what was typed.
    """
    text = text.strip()
    if not _RULE_WORDS.search(text):
        return When(on_day=parse_day(text, today=today))
    starts_on = ends_on = None
    period = _PERIOD_TAIL.search(text) or _PERIOD_HEAD.search(text)
    if period is not None:
        starts_on, ends_on = parse_period(period.group(0), today=today)
        text = (text[: period.start()] + " " + text[period.end() :]).strip(" ,:")
    parse_rule(text)
    return When(rule=text, starts_on=starts_on, ends_on=ends_on)


async def hosts_as_planners(session: AsyncSession) -> list[tuple[Member, bool]]:
    """Every member with the host role, by first name, and whether they may plan actions."""
    hosts = list(
        (
            await session.scalars(
                select(Member)
                .join(MemberRole, MemberRole.member_id == Member.id)
                .where(MemberRole.role == Role.HOST)
                .order_by(Member.first_name, Member.id)
            )
        ).unique()
    )
    allowed = set(await session.scalars(select(ActionPlanner.member_id)))
    return [(host, host.id in allowed) for host in hosts]


async def is_host(session: AsyncSession, member_id: int) -> bool:
    """Whether the member holds the host role (whom organisers may allow to plan actions)."""
    if not valid_id(member_id):
        return False
    found = await session.scalar(
        select(MemberRole.member_id).where(
            MemberRole.member_id == member_id, MemberRole.role == Role.HOST
        )
    )
    return found is not None
