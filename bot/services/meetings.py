"""Meetings and attendance: members say they are coming to a group's next meetings.

A meeting is one occurrence of a group's schedule; its row is made when the first member says
they come, so only meetings someone cares about exist. Saying yes to a time the group does not
meet at is refused: every accepted time is one of the group's own next occurrences.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services import directory
from bot.services.errors import DomainError
from models import Attendance, Group, Meeting
from models.base import utcnow

# How many of a group's next meetings one can answer for (about two months of weekly ones).
ANSWERABLE = 8
# How many of each group's next meetings the list of upcoming dates looks at.
UPCOMING_PER_GROUP = 5


class MeetingError(DomainError, ValueError):
    """An attendance that can't be recorded; `reason` is "no_consent" or "unknown"."""


def meeting_start(timestamp: int) -> datetime:
    """A meeting's start from a Unix timestamp (as buttons carry it), in UTC.

    Raises MeetingError("unknown") for a number that is no time at all (a forged button).
    """
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MeetingError("unknown") from exc


async def upcoming(
    session: AsyncSession, *, now: datetime, zone: ZoneInfo, ahead: timedelta, limit: int
) -> list[tuple[datetime, Group]]:
    """The next meetings of all active groups until now+ahead: (start, group), soonest first.

    At most `limit`; meetings at the same time keep the groups' file order.
    """
    dates = [
        (moment, group)
        for group in await directory.active_groups(session)
        for moment in directory.next_meetings(group, now=now, zone=zone, count=UPCOMING_PER_GROUP)
        if moment <= now + ahead
    ]
    dates.sort(key=lambda item: (item[0], item[1].position, item[1].id))
    return dates[:limit]


async def _meeting(session: AsyncSession, group_id: int, starts_at: datetime) -> Meeting:
    insert = dialect_insert(session)(Meeting).values(
        group_id=group_id, starts_at=starts_at, created_at=utcnow()
    )
    # Two members answering at once must end up with one meeting row.
    await session.execute(insert.on_conflict_do_nothing())
    meeting = await session.scalar(
        select(Meeting).where(Meeting.group_id == group_id, Meeting.starts_at == starts_at)
    )
    assert meeting is not None
    return meeting


async def set_attending(
    session: AsyncSession,
    *,
    member_id: int,
    consented: bool,
    group_id: int,
    starts_at: datetime,
    attending: bool,
    zone: ZoneInfo,
    now: datetime,
) -> Meeting:
    """Record that a member comes (or no longer comes) to a group's meeting; the caller commits.

    Raises MeetingError("no_consent") without a profile and MeetingError("unknown") for an
    inactive group or a time that is not one of its next meetings.
    """
    if not consented:
        raise MeetingError("no_consent")
    group = await directory.active_group(session, group_id)
    if group is None:
        raise MeetingError("unknown")
    if starts_at not in directory.next_meetings(group, now=now, zone=zone, count=ANSWERABLE):
        raise MeetingError("unknown")
    meeting = await _meeting(session, group_id, starts_at)
    if attending:
        insert = dialect_insert(session)(Attendance).values(
            meeting_id=meeting.id, member_id=member_id, answered_at=now
        )
        await session.execute(insert.on_conflict_do_nothing())
    else:
        await session.execute(
            delete(Attendance).where(
                Attendance.meeting_id == meeting.id, Attendance.member_id == member_id
            )
        )
    return meeting


async def attending_keys(
    session: AsyncSession, member_id: int, since: datetime
) -> set[tuple[int, datetime]]:
    """(group id, start) of the meetings from `since` on that a member said they come to."""
    rows = await session.execute(
        select(Meeting.group_id, Meeting.starts_at)
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .where(Attendance.member_id == member_id, Meeting.starts_at >= since)
    )
    return {(group_id, starts_at) for group_id, starts_at in rows}


async def my_meetings(session: AsyncSession, member_id: int, since: datetime) -> list[Meeting]:
    """The meetings from `since` on that a member said they come to, soonest first."""
    rows = await session.scalars(
        select(Meeting)
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .where(Attendance.member_id == member_id, Meeting.starts_at >= since)
        .order_by(Meeting.starts_at)
    )
    return list(rows)


async def with_attendees(
    session: AsyncSession, *, now: datetime, back: timedelta, ahead: timedelta
) -> list[tuple[Meeting, int]]:
    """Meetings between now-back and now+ahead that someone comes to, with how many."""
    counts = (
        select(Attendance.meeting_id, func.count().label("n"))
        .group_by(Attendance.meeting_id)
        .subquery()
    )
    rows = await session.execute(
        select(Meeting, counts.c.n)
        .join(counts, counts.c.meeting_id == Meeting.id)
        .where(Meeting.starts_at >= now - back, Meeting.starts_at <= now + ahead)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return [(meeting, int(count)) for meeting, count in rows]


async def existing(session: AsyncSession, meeting_ids: Collection[int]) -> int:
    """How many of `meeting_ids` exist."""
    if not meeting_ids:
        return 0
    count = await session.scalar(
        select(func.count()).select_from(Meeting).where(Meeting.id.in_(list(meeting_ids)))
    )
    return int(count or 0)
