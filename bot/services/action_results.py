"""The result log after a shift: counts and topics, never who logged them or whom they met.

After a shift has ended, its people are asked once (through the outbox, `queue_prompts`) how it
went; they (or the action's planners) log conversations held, leaflets handed out, new contacts
(a count) and the topics people raised (from the KV's topic list). One result per shift: a
teammate logging later replaces it. A result can be logged from the shift's end until
LOG_WINDOW after it.

What is stored is deliberately poor: ActionResult (the shift, three counts, when) and
ActionResultTopic (the shift, a topic, how often). No member id, no name, no address, no text:
door-to-door rounds so keep only aggregated topics per area (the action's place and Stadtteil)
and date. Organisers read aggregates: per date (`date_summary`) and over a period
(`period_summary`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import field_actions
from bot.services.delivery import enqueue_once
from bot.services.errors import DomainError
from bot.services.preferences import opted_out_among
from models import (
    ActionDate,
    ActionKind,
    ActionResult,
    ActionResultTopic,
    ActionStatus,
    Category,
    FieldAction,
    Member,
    Role,
    Shift,
    ShiftSignup,
    Topic,
)
from models.base import valid_id

# The outbox kind of "How did the shift go? Log the result".
RESULT_PROMPT = "action_result_prompt"
# The prompt is a reminder: members who switched reminders off are not asked.
PROMPT_CATEGORY = Category.REMINDERS
# Shifts that ended longer ago than this are not prompted any more (after downtime, too).
PROMPT_WINDOW = timedelta(hours=24)
# A result can be logged (or replaced) until this long after the shift's end.
LOG_WINDOW = timedelta(days=14)
MAX_COUNT = 10_000
# The counts of a result, in the order buttons name them by index.
FIELDS = ("conversations", "leaflets", "contacts")


class ResultError(DomainError, ValueError):
    """A result that can't be logged. `reason`: "unknown" (no such shift, or its action is
    gone), "cancelled" (the date was called off), "not_ended" (the shift is still ahead or
    running), "too_late" (ended more than LOG_WINDOW ago), "not_yours" (neither on the shift
    nor planning the action), "count" (a count outside 0..MAX_COUNT), "topic" (not in the
    KV's topic list)."""


@dataclass(frozen=True, slots=True)
class Counts:
    """The three counts of a result."""

    conversations: int = 0
    leaflets: int = 0
    contacts: int = 0

    def get(self, index: int) -> int:
        """The count FIELDS[index] names."""
        return int(getattr(self, FIELDS[index]))

    def with_value(self, index: int, value: int) -> Counts:
        """These counts with FIELDS[index] set to `value` (clamped to 0..MAX_COUNT)."""
        values = {name: getattr(self, name) for name in FIELDS}
        values[FIELDS[index]] = clamp(value)
        return Counts(**values)


@dataclass(frozen=True, slots=True)
class Logged:
    """A stored result: its counts and the ids of the topics raised."""

    counts: Counts
    topic_ids: frozenset[int]
    logged_at: datetime


@dataclass(frozen=True, slots=True)
class Target:
    """A shift whose result the member may log now, and what is stored for it so far."""

    shift: Shift
    logged: Logged | None


@dataclass(frozen=True, slots=True)
class Totals:
    """Summed counts over logged shifts."""

    shifts: int = 0
    conversations: int = 0
    leaflets: int = 0
    contacts: int = 0


@dataclass(frozen=True, slots=True)
class TopicCount:
    """A topic and how often it came up (summed over shifts)."""

    topic_id: int
    name: str
    mentions: int


@dataclass(frozen=True, slots=True)
class DateSummary:
    """One action date (its area: place and Stadtteil; its day): totals and topics, ranked."""

    action_date: ActionDate
    shifts_total: int
    totals: Totals
    topics: tuple[TopicCount, ...]


@dataclass(frozen=True, slots=True)
class PeriodSummary:
    """All results of dates within [start, end]: totals per action kind, topics ranked."""

    start: date
    end: date
    by_kind: Mapping[ActionKind, Totals] = field(default_factory=dict)
    topics: tuple[TopicCount, ...] = ()


def clamp(value: int) -> int:
    """A count forced into 0..MAX_COUNT (steppers can't go below zero or past the limit)."""
    return max(0, min(MAX_COUNT, int(value)))


def check_count(value: int) -> int:
    """`value` if it is a count 0..MAX_COUNT; ResultError("count") otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ResultError("count")
    return value


# --- who may log what, when -------------------------------------------------------------------


async def holds(session: AsyncSession, shift_id: int, member_id: int) -> bool:
    """Whether the member is on the shift."""
    row = await session.get(ShiftSignup, (shift_id, member_id)) if valid_id(shift_id) else None
    return row is not None


async def logged(session: AsyncSession, shift_id: int) -> Logged | None:
    """The result stored for the shift, or None."""
    if not valid_id(shift_id):
        return None
    row = await session.get(ActionResult, shift_id, populate_existing=True)
    if row is None:
        return None
    topics = await session.scalars(
        select(ActionResultTopic.topic_id).where(ActionResultTopic.shift_id == shift_id)
    )
    return Logged(
        Counts(row.conversations, row.leaflets, row.contacts),
        frozenset(topics),
        row.logged_at,
    )


def _check_time(shift: Shift, now: datetime) -> None:
    if shift.action_date.status == ActionStatus.CANCELLED:
        raise ResultError("cancelled")
    if shift.ends_at > now:
        raise ResultError("not_ended")
    if now - shift.ends_at > LOG_WINDOW:
        raise ResultError("too_late")


async def target(
    session: AsyncSession, shift_id: int, member_id: int, roles: Collection[Role], *, now: datetime
) -> Target:
    """The shift, if `member_id` may log its result at `now`: someone on the shift, or one who
    plans its action (field_actions.can_manage); after its end, within LOG_WINDOW, on a date
    that took place. ResultError otherwise (forged ids included)."""
    shift = await field_actions.find_shift(session, shift_id)
    if shift is None:
        raise ResultError("unknown")
    _check_time(shift, now)
    if not await holds(session, shift.id, member_id) and not await field_actions.can_manage(
        session, shift.action_date.action, member_id, roles
    ):
        raise ResultError("not_yours")
    return Target(shift, await logged(session, shift.id))


async def topics(session: AsyncSession) -> list[Topic]:
    """The KV's topic list in the setup's order."""
    return list(await session.scalars(select(Topic).order_by(Topic.position, Topic.id)))


async def _check_topics(session: AsyncSession, topic_ids: Iterable[int]) -> frozenset[int]:
    wanted = frozenset(topic_ids)
    if not wanted:
        return wanted
    if not all(valid_id(topic_id) for topic_id in wanted):
        raise ResultError("topic")
    found = set(await session.scalars(select(Topic.id).where(Topic.id.in_(list(wanted)))))
    if found != wanted:
        raise ResultError("topic")
    return wanted


async def _locked_shift(session: AsyncSession, shift_id: int) -> None:
    # Two teammates saving at once: the second waits for the first and then replaces it (on
    # SQLite writes are serialised anyway).
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(Shift.id).where(Shift.id == shift_id).with_for_update())


async def log(
    session: AsyncSession,
    shift_id: int,
    member_id: int,
    roles: Collection[Role],
    counts: Counts,
    topic_ids: Iterable[int] = (),
    *,
    now: datetime,
) -> Logged:
    """Store the shift's result, replacing one logged before (by anyone on the shift).

    Checks who may log and when (`target`), counts 0..MAX_COUNT and topics from the KV's list;
    stores nothing about who logged it. The caller commits (one transaction with the topics).
    """
    found = await target(session, shift_id, member_id, roles, now=now)
    for name in FIELDS:
        check_count(getattr(counts, name))
    chosen = await _check_topics(session, topic_ids)
    shift_id = found.shift.id
    await _locked_shift(session, shift_id)
    # Replaced as a whole: the old topics go with the old counts.
    await session.execute(delete(ActionResultTopic).where(ActionResultTopic.shift_id == shift_id))
    await session.execute(delete(ActionResult).where(ActionResult.shift_id == shift_id))
    session.add(
        ActionResult(
            shift_id=shift_id,
            conversations=counts.conversations,
            leaflets=counts.leaflets,
            contacts=counts.contacts,
            logged_at=now,
        )
    )
    await session.flush()
    session.add_all(
        ActionResultTopic(shift_id=shift_id, topic_id=topic_id, mentions=1)
        for topic_id in sorted(chosen)
    )
    await session.flush()
    return Logged(counts, chosen, now)


# --- the prompt after a shift ------------------------------------------------------------------


async def queue_prompts(session: AsyncSession, *, now: datetime) -> int:
    """Ask the people of every shift that ended in the last PROMPT_WINDOW (and has no result
    yet) to log it: one outbox row per shift and member, under a key naming both, so reruns,
    restarts and a second instance add nothing. Not those who switched reminders off.
    Returns how many were queued; the caller commits."""
    rows = await session.execute(
        select(Shift.id, Shift.ends_at, ShiftSignup.member_id)
        .join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .join(ActionDate, ActionDate.id == Shift.action_date_id)
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .join(Member, Member.id == ShiftSignup.member_id)
        .outerjoin(ActionResult, ActionResult.shift_id == Shift.id)
        .where(
            Shift.ends_at <= now,
            Shift.ends_at > now - PROMPT_WINDOW,
            ActionDate.status == ActionStatus.SCHEDULED,
            FieldAction.active.is_(True),
            Member.reachable.is_(True),
            ActionResult.shift_id.is_(None),
        )
        .order_by(Shift.ends_at, Shift.id, ShiftSignup.member_id)
    )
    wanted = list(rows)
    # Members who switched reminders off are not asked (the worker checks again when sending).
    opted_out = await opted_out_among(session, {row[2] for row in wanted}, PROMPT_CATEGORY)
    queued = 0
    for shift_id, ends_at, member_id in wanted:
        if member_id in opted_out:
            continue
        queued += await enqueue_once(
            session,
            member_id,
            key=prompt_key(shift_id, member_id),
            kind=RESULT_PROMPT,
            payload={"shift_id": shift_id},
            due_at=ends_at,
            category=PROMPT_CATEGORY.value,
        )
    return queued


def prompt_key(shift_id: int, member_id: int) -> str:
    """The outbox key of the prompt for one shift and member."""
    return f"arp:{shift_id}:{member_id}"


async def prompt_still_wanted(
    session: AsyncSession, payload: Mapping[str, Any], member_id: int, *, now: datetime
) -> Shift | None:
    """The prompt's shift while the prompt still makes sense at sending time: the member is
    still on it, the date took place, nobody logged a result yet, and it can still be logged.
    None withdraws the prompt."""
    shift_id = payload.get("shift_id")
    if not isinstance(shift_id, int) or isinstance(shift_id, bool):
        return None
    shift = await field_actions.find_shift(session, shift_id)
    if shift is None or not await holds(session, shift.id, member_id):
        return None
    try:
        _check_time(shift, now)
    except ResultError:
        return None
    if await session.get(ActionResult, shift.id) is not None:
        return None  # a teammate was quicker
    return shift


# --- aggregates for organisers and reports ------------------------------------------------------


async def _topic_counts(session: AsyncSession, shift_filter: Any) -> tuple[TopicCount, ...]:
    rows = await session.execute(
        select(Topic.id, Topic.name, func.sum(ActionResultTopic.mentions).label("n"))
        .join(ActionResultTopic, ActionResultTopic.topic_id == Topic.id)
        .join(Shift, Shift.id == ActionResultTopic.shift_id)
        .join(ActionDate, ActionDate.id == Shift.action_date_id)
        .where(shift_filter)
        .group_by(Topic.id, Topic.name, Topic.position)
        .order_by(func.sum(ActionResultTopic.mentions).desc(), Topic.position, Topic.id)
    )
    return tuple(TopicCount(topic_id, name, int(n)) for topic_id, name, n in rows)


def _totals(row: Any) -> Totals:
    shifts, conversations, leaflets, contacts = row
    return Totals(int(shifts or 0), int(conversations or 0), int(leaflets or 0), int(contacts or 0))


_SUMS = (
    func.count(ActionResult.shift_id),
    func.sum(ActionResult.conversations),
    func.sum(ActionResult.leaflets),
    func.sum(ActionResult.contacts),
)


async def date_summary(session: AsyncSession, date_id: int) -> DateSummary | None:
    """One action date's results for its planners: how many of its shifts logged one, the
    summed counts and the topics raised, most mentioned first. None for an unknown date
    (forged ids too). Dates of actions made inactive since keep their history."""
    if not valid_id(date_id):
        return None
    action_date = await session.scalar(select(ActionDate).where(ActionDate.id == date_id))
    if action_date is None:
        return None
    row = (
        await session.execute(
            select(*_SUMS)
            .join(Shift, Shift.id == ActionResult.shift_id)
            .where(Shift.action_date_id == date_id)
        )
    ).one()
    return DateSummary(
        action_date,
        len(action_date.shifts),
        _totals(row),
        await _topic_counts(session, ActionDate.id == date_id),
    )


async def date_summaries(
    session: AsyncSession, start: date, end: date, *, kind: ActionKind | None = None
) -> list[DateSummary]:
    """The summary of every action date from `start` to `end` (local days, inclusive) with at
    least one logged result, by day: per area (the action's place and Stadtteil) and date, for
    reports. Only dates of `kind` when given."""
    query = (
        select(ActionDate.id)
        .join(Shift, Shift.action_date_id == ActionDate.id)
        .join(ActionResult, ActionResult.shift_id == Shift.id)
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .where(ActionDate.day.between(start, end))
        .group_by(ActionDate.id, ActionDate.day)
        .order_by(ActionDate.day, ActionDate.id)
    )
    if kind is not None:
        query = query.where(FieldAction.kind == kind)
    summaries = []
    for date_id in list(await session.scalars(query)):
        summary = await date_summary(session, date_id)
        if summary is not None:
            summaries.append(summary)
    return summaries


async def period_summary(session: AsyncSession, start: date, end: date) -> PeriodSummary:
    """Every result of action dates from `start` to `end` (local days, inclusive): totals per
    action kind (kinds without a result are left out) and the topics raised, most mentioned
    first. For organisers' overviews and reports; aggregates only."""
    in_period = ActionDate.day.between(start, end)
    rows = await session.execute(
        select(FieldAction.kind, *_SUMS)
        .join(Shift, Shift.id == ActionResult.shift_id)
        .join(ActionDate, ActionDate.id == Shift.action_date_id)
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .where(in_period)
        .group_by(FieldAction.kind)
    )
    by_kind = {ActionKind(kind): _totals(rest) for kind, *rest in rows}
    ordered = {kind: by_kind[kind] for kind in ActionKind if kind in by_kind}
    return PeriodSummary(start, end, ordered, await _topic_counts(session, in_period))
