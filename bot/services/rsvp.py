"""Answers to meetings: yes / maybe / no with guests, capacity and the waiting list.

With a capacity, a yes that doesn't fit (the member plus guests) waits; when a place frees up
the waiting list moves up in order of arrival, and whoever moves up is told at once. The
meeting's row is locked while an answer is counted (FOR UPDATE on PostgreSQL; SQLite runs one
writer at a time), so simultaneous answers never overbook.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services import meeting_notices
from bot.services.errors import DomainError
from models import Attendance, Group, Meeting, MeetingStatus, Member, RsvpAnswer
from models.base import valid_id
from models.meeting import MAX_GUESTS


class RsvpError(DomainError, ValueError):
    """An answer that can't be recorded. `reason`: "no_consent", "unknown" (no such meeting,
    or a forged id), "cancelled", "started", "guests" (not 0-5), "full" (the guests don't fit
    beside a confirmed place)."""


@dataclass(frozen=True, slots=True)
class Answered:
    """What an answer did: the member's row, whether it waits, and who moved up meanwhile."""

    meeting: Meeting
    attendance: Attendance
    waitlisted: bool
    promoted: list[int]
    changed: bool


@dataclass(frozen=True, slots=True)
class Counts:
    """A meeting's answers: confirmed yes (and their guests), maybe, no, waiting."""

    yes: int = 0
    guests: int = 0
    maybe: int = 0
    no: int = 0
    waiting: int = 0
    capacity: int | None = None

    @property
    def coming(self) -> int:
        """Places taken: confirmed members and their guests."""
        return self.yes + self.guests

    @property
    def free(self) -> int | None:
        """Places left; None without a capacity."""
        return None if self.capacity is None else max(0, self.capacity - self.coming)


@dataclass(frozen=True, slots=True)
class Attendee:
    """One answer as a host sees it."""

    member_id: int
    first_name: str
    answer: RsvpAnswer
    guests: int
    waitlisted: bool
    first_time: bool


async def _locked_meeting(session: AsyncSession, meeting_id: int) -> Meeting:
    if not valid_id(meeting_id):
        raise RsvpError("unknown")
    query = (
        select(Meeting).where(Meeting.id == meeting_id).execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Meeting)
    meeting = await session.scalar(query)
    if meeting is None or not meeting.group.active:
        raise RsvpError("unknown")
    return meeting


async def _taken(session: AsyncSession, meeting_id: int, *, besides: int | None = None) -> int:
    query = select(func.coalesce(func.sum(1 + Attendance.guests), 0)).where(
        Attendance.meeting_id == meeting_id,
        Attendance.answer == RsvpAnswer.YES,
        Attendance.waitlisted.is_(False),
    )
    if besides is not None:
        query = query.where(Attendance.member_id != besides)
    return int(await session.scalar(query) or 0)


async def _waiting_ahead(session: AsyncSession, meeting_id: int, row: Attendance | None) -> bool:
    condition = [
        Attendance.meeting_id == meeting_id,
        Attendance.answer == RsvpAnswer.YES,
        Attendance.waitlisted.is_(True),
    ]
    if row is not None:
        condition.append(Attendance.member_id != row.member_id)
        if row.waitlisted and row.queued_at is not None:
            # The waiting list's order: time of the yes, then member id for the same instant.
            condition.append(
                or_(
                    Attendance.queued_at < row.queued_at,
                    and_(
                        Attendance.queued_at == row.queued_at,
                        Attendance.member_id < row.member_id,
                    ),
                )
            )
    return bool(await session.scalar(select(exists().where(and_(*condition)))))


async def _must_wait(
    session: AsyncSession,
    meeting: Meeting,
    row: Attendance,
    guests: int,
    *,
    confirmed: bool,
    new: bool,
) -> bool:
    """Whether a yes waits: it doesn't fit, or others wait ahead. A confirmed member keeps the
    place; guests that don't fit beside it are refused (RsvpError("full"))."""
    if meeting.capacity is None:
        return False
    taken = await _taken(session, meeting.id, besides=row.member_id)
    fits = taken + 1 + guests <= meeting.capacity
    if confirmed:
        if not fits:
            raise RsvpError("full")
        return False
    return not fits or await _waiting_ahead(session, meeting.id, None if new else row)


async def answer(
    session: AsyncSession,
    *,
    meeting_id: int,
    member_id: int,
    consented: bool,
    answer: RsvpAnswer,
    guests: int | None = None,
    now: datetime,
) -> Answered:
    """Record a member's answer to a meeting (changeable until it starts); the caller commits.

    `guests` None keeps the number given before. A yes beyond the capacity waits; a confirmed
    member who says maybe or no (or brings fewer guests) frees places, and the waiting list
    moves up. Raises RsvpError (see its reasons).
    """
    if not consented:
        raise RsvpError("no_consent")
    meeting = await _locked_meeting(session, meeting_id)
    if meeting.status == MeetingStatus.CANCELLED:
        raise RsvpError("cancelled")
    if meeting.starts_at <= now:
        raise RsvpError("started")
    row = await session.get(Attendance, (meeting.id, member_id), populate_existing=True)
    if guests is None:
        guests = row.guests if row is not None else 0
    if not 0 <= guests <= MAX_GUESTS:
        raise RsvpError("guests")
    if answer == RsvpAnswer.NO:
        guests = 0
    was_confirmed = row is not None and row.answer == RsvpAnswer.YES and not row.waitlisted
    before = (row.answer, row.guests, row.waitlisted) if row is not None else None
    if row is None:
        row = Attendance(
            meeting_id=meeting.id,
            member_id=member_id,
            answer=answer,
            guests=guests,
            waitlisted=False,
            answered_at=now,
            host_notified=False,
        )
        session.add(row)
    waitlisted = False
    if answer == RsvpAnswer.YES:
        if before is None or before[0] != RsvpAnswer.YES:
            row.queued_at = now
        waitlisted = await _must_wait(
            session, meeting, row, guests, confirmed=was_confirmed, new=before is None
        )
    row.answer = answer
    row.guests = guests
    row.waitlisted = waitlisted
    changed = before != (answer, guests, waitlisted)
    promoted: list[int] = []
    if changed:
        row.answered_at = now
        row.host_notified = False
        await session.flush()
        # A confirmed member leaving (or bringing fewer guests) frees places; one waiting ahead
        # leaving (or bringing fewer guests) may let those behind who fit move up.
        if before is not None and meeting.capacity is not None:
            promoted = await promote(session, meeting, now=now)
        await meeting_notices.touch_posts(session, meeting.id)
    return Answered(meeting, row, waitlisted, promoted, changed)


async def promote(session: AsyncSession, meeting: Meeting, *, now: datetime) -> list[int]:
    """Let waiting members in, first come first served, while their party fits; they are told.

    The order is strict: a party that doesn't fit yet keeps the ones behind it waiting.
    Returns who moved up; the caller commits.
    """
    if meeting.status == MeetingStatus.CANCELLED or meeting.starts_at <= now:
        return []
    waiting = list(
        await session.scalars(
            select(Attendance)
            .where(
                Attendance.meeting_id == meeting.id,
                Attendance.answer == RsvpAnswer.YES,
                Attendance.waitlisted.is_(True),
            )
            .order_by(Attendance.queued_at, Attendance.member_id)
        )
    )
    if not waiting:
        return []
    taken = await _taken(session, meeting.id)
    promoted: list[int] = []
    for row in waiting:
        if meeting.capacity is not None and taken + row.seats > meeting.capacity:
            break
        row.waitlisted = False
        row.host_notified = False
        taken += row.seats
        promoted.append(row.member_id)
    if promoted:
        await session.flush()
        await meeting_notices.queue_promotions(session, meeting.id, promoted, now=now)
    return promoted


async def waiting_position(session: AsyncSession, attendance: Attendance) -> int | None:
    """Where a waiting answer stands in the waiting list (1: next to move up); None if it
    doesn't wait."""
    if attendance.answer != RsvpAnswer.YES or not attendance.waitlisted:
        return None
    ahead = await session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(
            Attendance.meeting_id == attendance.meeting_id,
            Attendance.answer == RsvpAnswer.YES,
            Attendance.waitlisted.is_(True),
            or_(
                Attendance.queued_at < attendance.queued_at,
                and_(
                    Attendance.queued_at == attendance.queued_at,
                    Attendance.member_id < attendance.member_id,
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


async def counts(session: AsyncSession, meetings: Collection[Meeting]) -> dict[int, Counts]:
    """Each meeting's answers, in one query."""
    ids = [meeting.id for meeting in meetings]
    found: dict[int, dict[str, int]] = {meeting_id: {} for meeting_id in ids}
    if ids:
        rows = await session.execute(
            select(
                Attendance.meeting_id,
                Attendance.answer,
                Attendance.waitlisted,
                func.count(),
                func.coalesce(func.sum(Attendance.guests), 0),
            )
            .where(Attendance.meeting_id.in_(ids))
            .group_by(Attendance.meeting_id, Attendance.answer, Attendance.waitlisted)
        )
        for meeting_id, kind, waitlisted, number, guests in rows:
            tally = found[meeting_id]
            if kind == RsvpAnswer.YES and waitlisted:
                tally["waiting"] = tally.get("waiting", 0) + int(number)
            elif kind == RsvpAnswer.YES:
                tally["yes"] = tally.get("yes", 0) + int(number)
                tally["guests"] = tally.get("guests", 0) + int(guests)
            else:
                tally[str(kind.value)] = tally.get(str(kind.value), 0) + int(number)
    return {
        meeting.id: Counts(capacity=meeting.capacity, **found[meeting.id]) for meeting in meetings
    }


async def attendees(session: AsyncSession, meeting: Meeting) -> list[Attendee]:
    """Everyone who answered: confirmed first, then waiting (in order), maybe, no.

    `first_time`: the member never came (a confirmed yes) to an earlier meeting of the group.
    """
    earlier = aliased(Attendance)
    earlier_meeting = aliased(Meeting)
    been_before = (
        exists()
        .where(
            earlier.member_id == Attendance.member_id,
            earlier.answer == RsvpAnswer.YES,
            earlier.waitlisted.is_(False),
            earlier_meeting.id == earlier.meeting_id,
            earlier_meeting.group_id == meeting.group_id,
            earlier_meeting.status == MeetingStatus.SCHEDULED,
            earlier_meeting.starts_at < meeting.starts_at,
        )
        .correlate(Attendance)
    )
    rank = case(
        (and_(Attendance.answer == RsvpAnswer.YES, Attendance.waitlisted.is_(False)), 0),
        (Attendance.answer == RsvpAnswer.YES, 1),
        (Attendance.answer == RsvpAnswer.MAYBE, 2),
        else_=3,
    )
    rows = await session.execute(
        select(
            Attendance.member_id,
            Member.first_name,
            Attendance.answer,
            Attendance.guests,
            Attendance.waitlisted,
            been_before,
        )
        .join(Member, Member.id == Attendance.member_id)
        .where(Attendance.meeting_id == meeting.id)
        .order_by(rank, Attendance.queued_at, Attendance.answered_at, Attendance.member_id)
    )
    return [
        Attendee(
            member_id=member_id,
            first_name=first_name or "?",
            answer=kind,
            guests=guests,
            waitlisted=waitlisted,
            first_time=not before,
        )
        for member_id, first_name, kind, guests, waitlisted, before in rows
    ]


async def member_answers(
    session: AsyncSession, member_id: int, meeting_ids: Collection[int]
) -> dict[int, Attendance]:
    """The member's answers to these meetings, by meeting id."""
    if not meeting_ids:
        return {}
    rows = await session.scalars(
        select(Attendance).where(
            Attendance.member_id == member_id, Attendance.meeting_id.in_(list(meeting_ids))
        )
    )
    return {row.meeting_id: row for row in rows}


async def member_meetings(
    session: AsyncSession, member_id: int, *, now: datetime, include_no: bool = False
) -> list[tuple[Meeting, Attendance]]:
    """The member's upcoming meetings with an answer (yes, waiting, maybe; no if asked)."""
    query = (
        select(Meeting, Attendance)
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .join(Group, Group.id == Meeting.group_id)
        .where(
            Attendance.member_id == member_id,
            Meeting.starts_at > now,
            Group.active.is_(True),
        )
        .order_by(Meeting.starts_at, Meeting.id)
    )
    if not include_no:
        query = query.where(Attendance.answer != RsvpAnswer.NO)
    return [(meeting, row) for meeting, row in (await session.execute(query)).unique()]
