"""Calls for help: members asked to help with a shift that lacks people, and who answered.

A job runs every few minutes (`queue_calls`). A shift of a scheduled date of an active action
that starts within `shortfall` (default 48 h) and still lacks people gets a call to every member
who: agreed (has a profile), is reachable, chose an activity type of the action's kind, is free
(Profile.free_time) in every slot the shift touches in local time, lives in the action's
Stadtteil or a neighbouring one (any Stadtteil for an action without one), has not switched
calls for help off, was not called within the cooldown (default 7 days), was not called for this
shift already, and holds neither this shift nor an overlapping one. One candidate query per
shift; only the free time is checked in Python (a JSON list).

Each call is a HelpCall row (one per member and shift, kept with the member's profile, inserted
once also with two instances) plus one outbox row (category calls_for_help) with a one-tap
sign-up. A full shift gets no further calls, and at sending time `still_open` withdraws a call
whose shift filled up, was called off, moved away from the member's reach or started: its
HelpCall row is then deleted, so `stats` counts only calls that went out (or are about to: a
queued call goes out within seconds) and the cooldown never rests on a message nobody got.
A sign-up pressed under a call is marked `via_call`, so whoever plans the action sees how many
were asked and who came through a call.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.dialect import dialect_insert
from bot.services import audit, field_actions, shifts
from bot.services.delivery import KEY_LENGTH, enqueue_once_many
from bot.services.recurrence.occurrences import local_slot
from models import (
    ActionDate,
    ActionStatus,
    ActivityType,
    AuditAction,
    Category,
    FieldAction,
    HelpCall,
    Member,
    OptOut,
    Profile,
    Shift,
    ShiftSignup,
)
from models.kv import district_neighbours
from models.profile import profile_activity_types

HELP_CALL = "help_call"


@dataclass(frozen=True, slots=True)
class CallStats:
    """For one shift: how many members were asked, and who of them signed up through a call."""

    asked: int
    answered: tuple[Member, ...] = ()


async def stats(session: AsyncSession, shift_ids: Collection[int]) -> dict[int, CallStats]:
    """The calls for each of the shifts (shifts without calls are left out). `asked` counts
    the calls that went out or are queued to (a withdrawn one was deleted at sending time)."""
    found: dict[int, CallStats] = {}
    if not shift_ids:
        return found
    asked = dict(
        (
            await session.execute(
                select(HelpCall.shift_id, func.count())
                .where(HelpCall.shift_id.in_(list(shift_ids)))
                .group_by(HelpCall.shift_id)
            )
        ).all()
    )
    answered: dict[int, list[Member]] = {}
    rows = await session.execute(
        select(ShiftSignup.shift_id, Member)
        .join(Member, Member.id == ShiftSignup.member_id)
        .where(ShiftSignup.shift_id.in_(list(shift_ids)), ShiftSignup.via_call.is_(True))
        .order_by(ShiftSignup.signed_at, Member.id)
    )
    for shift_id, member in rows.unique():
        answered.setdefault(shift_id, []).append(member)
    for shift_id in set(asked) | set(answered):
        found[shift_id] = CallStats(
            asked=int(asked.get(shift_id, 0)), answered=tuple(answered.get(shift_id, ()))
        )
    return found


# --- calling ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Calls:
    """What a run did: shifts that lacked people within the window, members called."""

    shifts: int
    called: int


def shift_slots(shift: Shift, zone: ZoneInfo) -> frozenset[str]:
    """The free-time slots a shift touches in local time (its start and its last minute: a
    shift from 16:00 to 18:00 on a Tuesday is weekday daytime and weekday evening)."""
    last = max(shift.starts_at, shift.ends_at - timedelta(minutes=1))
    return frozenset({local_slot(shift.starts_at, zone), local_slot(last, zone)})


def covers(free_time: Iterable[Any] | None, slots: Collection[str]) -> bool:
    """Whether a member's free time covers every slot (none given: not free at all)."""
    free = {value for value in free_time or () if isinstance(value, str)}
    return bool(slots) and set(slots) <= free


async def _short_shifts(session: AsyncSession, *, now: datetime, until: datetime) -> list[Shift]:
    """Shifts of scheduled dates of active actions starting in (now, until] that lack people."""
    taken = (
        select(ShiftSignup.shift_id, func.count().label("taken"))
        .group_by(ShiftSignup.shift_id)
        .subquery()
    )
    rows = await session.scalars(
        select(Shift)
        .join(ActionDate, ActionDate.id == Shift.action_date_id)
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .outerjoin(taken, taken.c.shift_id == Shift.id)
        .where(
            FieldAction.active.is_(True),
            ActionDate.status == ActionStatus.SCHEDULED,
            Shift.starts_at > now,
            Shift.starts_at <= until,
            func.coalesce(taken.c.taken, 0) < Shift.needed,
        )
        .order_by(Shift.starts_at, Shift.id)
    )
    return list(rows.unique())


async def candidates(
    session: AsyncSession, shift: Shift, *, now: datetime, zone: ZoneInfo, cooldown: timedelta
) -> list[int]:
    """The members to call for `shift` now, by id (ascending): one query for everything but the
    free time, which is a JSON list and checked here."""
    action = shift.action_date.action
    other = aliased(Shift)
    other_date = aliased(ActionDate)
    other_action = aliased(FieldAction)
    holding = (
        select(ShiftSignup.member_id)
        .join(other, other.id == ShiftSignup.shift_id)
        .join(other_date, other_date.id == other.action_date_id)
        .join(other_action, other_action.id == other_date.action_id)
        .where(
            other.starts_at < shift.ends_at,
            other.ends_at > shift.starts_at,
            or_(
                other.id == shift.id,
                (other_date.status == ActionStatus.SCHEDULED) & other_action.active.is_(True),
            ),
        )
    )
    kind_chosen = (
        select(profile_activity_types.c.member_id)
        .join(ActivityType, ActivityType.id == profile_activity_types.c.activity_type_id)
        .where(ActivityType.action_kind == action.kind.value)
    )
    opted_out = select(OptOut.member_id).where(OptOut.category == Category.CALLS_FOR_HELP)
    called = select(HelpCall.member_id).where(
        or_(HelpCall.shift_id == shift.id, HelpCall.called_at > now - cooldown)
    )
    query = (
        select(Member.id, Profile.free_time)
        .join(Profile, Profile.member_id == Member.id)
        .where(
            Member.reachable.is_(True),
            Member.id.in_(kind_chosen),
            Member.id.not_in(opted_out),
            Member.id.not_in(called),
            Member.id.not_in(holding),
        )
        .order_by(Member.id)
    )
    if action.district_id is not None:
        # Neighbours are stored both ways, so one direction finds them all.
        query = query.where(
            or_(
                Profile.district_id == action.district_id,
                Profile.district_id.in_(
                    select(district_neighbours.c.neighbour_id).where(
                        district_neighbours.c.district_id == action.district_id
                    )
                ),
            )
        )
    slots = shift_slots(shift, zone)
    rows = await session.execute(query)
    return [member_id for member_id, free_time in rows if covers(free_time, slots)]


# HelpCall rows per INSERT (three parameters each, well under every database's limit).
_INSERT_CHUNK = 500


async def _record(
    session: AsyncSession, shift_id: int, member_ids: list[int], *, now: datetime
) -> list[int]:
    """The HelpCall rows, once each; returns the members recorded now (a second instance
    calling the same member finds the row and leaves them out)."""
    recorded: list[int] = []
    for index in range(0, len(member_ids), _INSERT_CHUNK):
        rows = [
            {"shift_id": shift_id, "member_id": member_id, "called_at": now}
            for member_id in member_ids[index : index + _INSERT_CHUNK]
        ]
        insert = dialect_insert(session)(HelpCall).values(rows)
        result = await session.scalars(
            insert.on_conflict_do_nothing(index_elements=["shift_id", "member_id"]).returning(
                HelpCall.member_id
            )
        )
        recorded += list(result)
    return sorted(recorded)


def call_key(shift_id: int, member_id: int, called_at: datetime) -> str:
    """The outbox key of a call: its moment too, so a call withdrawn (its HelpCall deleted) can
    be made again later when the shift lacks people once more."""
    return f"call:{shift_id}:{member_id}:{int(called_at.timestamp())}"[:KEY_LENGTH]


async def queue_calls(
    session: AsyncSession,
    *,
    now: datetime,
    zone: ZoneInfo,
    shortfall: timedelta,
    cooldown: timedelta,
) -> Calls:
    """Call for help for every shift starting within `shortfall` that lacks people: a HelpCall
    and one queued message per member `candidates` finds. The caller commits."""
    short = await _short_shifts(session, now=now, until=now + shortfall)
    called = 0
    for shift in short:
        # Later shifts of this run see the calls made for earlier ones (the cooldown).
        found = await candidates(session, shift, now=now, zone=zone, cooldown=cooldown)
        recorded = await _record(session, shift.id, found, now=now) if found else []
        queued = await enqueue_once_many(
            session,
            [(member_id, call_key(shift.id, member_id, now)) for member_id in recorded],
            kind=HELP_CALL,
            payload={"shift_id": shift.id},
            due_at=now,
            category=Category.CALLS_FOR_HELP.value,
        )
        if queued:
            # Written to members on the KV's behalf: the bot is the actor.
            await audit.record(
                session,
                None,
                AuditAction.HELP_CALL,
                count=queued,
                subject=f"shift #{shift.id}",
                at=now,
            )
        called += queued
    return Calls(shifts=len(short), called=called)


@dataclass(frozen=True, slots=True)
class OpenCall:
    """A call still worth sending: the shift and how many people it lacks."""

    shift: Shift
    missing: int

    @property
    def action(self) -> FieldAction:
        """The shift's action."""
        return self.shift.action_date.action


async def still_open(
    session: AsyncSession, row_payload: dict[str, Any], member: Member | None, *, now: datetime
) -> OpenCall | None:
    """The call as it stands at sending time, or None when it is no longer needed: the shift
    is gone, full, called off or started, or the member holds it or an overlapping shift (or
    withdrew consent). A call that won't go out loses its HelpCall row (committed with the
    outbox's batch), so it doesn't count as asked."""
    try:
        shift_id = int(row_payload["shift_id"])
    except (KeyError, TypeError, ValueError):
        return None
    if member is None:
        return None
    shift = await field_actions.find_shift(session, shift_id)
    found: OpenCall | None = None
    if (
        member.profile is not None
        and shift is not None
        and shift.action_date.status == ActionStatus.SCHEDULED
        and shift.starts_at > now
    ):
        missing = shift.needed - await shifts.count(session, shift.id)
        held = await session.get(ShiftSignup, (shift.id, member.id)) is not None
        if missing > 0 and not held and await shifts.clash(session, member.id, shift) is None:
            found = OpenCall(shift, missing)
    if found is None:
        await session.execute(
            delete(HelpCall).where(HelpCall.shift_id == shift_id, HelpCall.member_id == member.id)
        )
    return found
