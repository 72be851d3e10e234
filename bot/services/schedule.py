"""A group's meetings: its series on a rolling horizon, one-off dates, moving, cancelling, pauses.

The group's rule (RFC 5545, expanded with python-dateutil in the KV's zone) yields a meeting row
for each date up to HORIZON ahead; every row has its own answers. A cancelled date stays as a
cancelled row (the series' EXDATE); a moved one keeps its row and its `occurrence`, so the series
doesn't bring the old date back. Everyone who said yes or maybe hears of a move or cancellation.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services import meeting_notices
from bot.services.errors import DomainError
from bot.services.recurrence import RuleError, expand
from models import (
    Attendance,
    CancelReason,
    Group,
    GroupPause,
    Meeting,
    MeetingStatus,
    RsvpAnswer,
)
from models.base import valid_id
from models.meeting import NOTE_LENGTH, PLACE_LENGTH

HORIZON = timedelta(weeks=8)
# Rows per INSERT when making a horizon's dates (SQLite allows 32,766 parameters).
INSERT_CHUNK = 500
MAX_CAPACITY = 1000
# How far ahead a one-off meeting may be set.
MAX_AHEAD = timedelta(days=2 * 366)


class ScheduleError(DomainError, ValueError):
    """A change to a meeting that can't be made. `reason`: "unknown" (no such meeting, or its
    group is gone), "past" (it started or the new time is past), "cancelled", "exists" (the
    group already meets then), "capacity", "too_long", "period", "no_series"."""


@dataclass(frozen=True, slots=True)
class Horizon:
    """What extending the horizon did: meetings added, and dates withdrawn (rule changed)."""

    added: int
    withdrawn: int


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _paused(day: date, pauses: Sequence[GroupPause]) -> bool:
    return any(pause.starts_on <= day <= pause.ends_on for pause in pauses)


async def _pauses(session: AsyncSession, group_ids: Collection[int]) -> dict[int, list[GroupPause]]:
    found: dict[int, list[GroupPause]] = {}
    if not group_ids:
        return found
    for pause in await session.scalars(
        select(GroupPause).where(GroupPause.group_id.in_(list(group_ids)))
    ):
        found.setdefault(pause.group_id, []).append(pause)
    return found


def series_dates(
    group: Group,
    *,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    pauses: Sequence[GroupPause] = (),
) -> list[datetime]:
    """The dates the group's rule gives between start (exclusive) and end (inclusive), aware UTC,
    without paused dates and dates after the series ended. A rule that no longer reads gives none.
    """
    if not group.rrule:
        return []
    try:
        dates = expand(group.rrule, zone=zone, start=start, end=end)
    except RuleError:
        return []
    return [
        moment
        for moment in dates
        if not _paused(_local_day(moment, zone), pauses)
        and (group.series_ends_on is None or _local_day(moment, zone) < group.series_ends_on)
    ]


async def extend_horizon(
    session: AsyncSession,
    *,
    now: datetime,
    zone: ZoneInfo,
    group_ids: Collection[int] | None = None,
) -> Horizon:
    """Make a meeting row for every date of each active group's series up to HORIZON ahead.

    Idempotent (one row per group and date, also with two instances at once). Future series
    dates the rule no longer gives (the KV setup changed it) are withdrawn: deleted when nobody
    answered, else cancelled and the yes/maybe told. The caller commits.
    """
    query = select(Group).where(Group.active.is_(True))
    if group_ids is not None:
        query = query.where(Group.id.in_(list(group_ids)))
    groups = list((await session.scalars(query)).unique())
    if not groups:
        return Horizon(added=0, withdrawn=0)
    by_id = {group.id: group for group in groups}
    pauses = await _pauses(session, list(by_id))
    end = now + HORIZON
    # One read of the window's rows, one insert of what is missing, one delete of what is
    # stale: the hourly job holds the write lock briefly, however many groups there are.
    rows = (
        await session.execute(
            select(
                Meeting.id,
                Meeting.group_id,
                Meeting.occurrence,
                Meeting.starts_at,
                Meeting.one_off,
                Meeting.status,
            ).where(
                Meeting.group_id.in_(list(by_id)),
                Meeting.occurrence > now,
                Meeting.occurrence <= end,
            )
        )
    ).all()
    existing = {(row.group_id, row.occurrence) for row in rows}
    missing: list[dict[str, object]] = []
    ruled: dict[int, set[datetime]] = {}
    for group in groups:
        wanted = series_dates(group, zone=zone, start=now, end=end, pauses=pauses.get(group.id, ()))
        missing += [
            {
                "group_id": group.id,
                "occurrence": moment,
                "starts_at": moment,
                "one_off": False,
                "status": MeetingStatus.SCHEDULED,
                "created_at": now,
            }
            for moment in wanted
            if (group.id, moment) not in existing
        ]
        # Withdrawn are dates the rule no longer gives; a paused date the host took up again
        # (add_one_off) is the host's, not stale.
        ruled[group.id] = (
            set(series_dates(group, zone=zone, start=now, end=end))
            if pauses.get(group.id)
            else set(wanted)
        )
    added = 0
    for chunk in range(0, len(missing), INSERT_CHUNK):
        insert = dialect_insert(session)(Meeting).values(missing[chunk : chunk + INSERT_CHUNK])
        # Another instance may have made some of them meanwhile.
        result = await session.execute(
            insert.on_conflict_do_nothing(index_elements=["group_id", "occurrence"])
        )
        added += int(result.rowcount or 0)
    stale = [
        row.id
        for row in rows
        if not row.one_off
        and row.status == MeetingStatus.SCHEDULED
        and row.starts_at == row.occurrence
        and row.occurrence not in ruled[row.group_id]
        and not _ended(by_id[row.group_id], row.occurrence, zone)
    ]
    return Horizon(added=added, withdrawn=await _withdraw(session, stale, now=now))


def _ended(group: Group, occurrence: datetime, zone: ZoneInfo) -> bool:
    # Ended by the host: those dates were cancelled and told already.
    return group.series_ends_on is not None and _local_day(occurrence, zone) >= group.series_ends_on


async def _withdraw(session: AsyncSession, meeting_ids: list[int], *, now: datetime) -> int:
    """Delete dates nobody answered; cancel (and tell) the others."""
    if not meeting_ids:
        return 0
    answered = set(
        await session.scalars(
            select(Attendance.meeting_id).where(Attendance.meeting_id.in_(meeting_ids)).distinct()
        )
    )
    for meeting_id in sorted(answered):
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        await _cancel(session, meeting, CancelReason.SCHEDULE_CHANGED, now=now)
    unanswered = [meeting_id for meeting_id in meeting_ids if meeting_id not in answered]
    if unanswered:
        await session.execute(delete(Meeting).where(Meeting.id.in_(unanswered)))
    return len(meeting_ids)


async def find_meeting(session: AsyncSession, meeting_id: int) -> Meeting | None:
    """A meeting of an active group; None otherwise (also for forged ids)."""
    meeting = await session.get(Meeting, meeting_id) if valid_id(meeting_id) else None
    return meeting if meeting is not None and meeting.group.active else None


async def get_meeting(session: AsyncSession, meeting_id: int) -> Meeting:
    """A meeting of an active group; ScheduleError("unknown") otherwise (also for forged ids)."""
    return await _get_meeting(session, meeting_id, lock=False)


async def _get_meeting(session: AsyncSession, meeting_id: int, *, lock: bool) -> Meeting:
    if not (lock and valid_id(meeting_id) and session.get_bind().dialect.name == "postgresql"):
        meeting = await find_meeting(session, meeting_id)
        if meeting is None:
            raise ScheduleError("unknown")
        return meeting
    # The row lock answers take (bot.services.rsvp): counting places and changing them happen
    # one at a time.
    meeting = await session.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .with_for_update(of=Meeting)
        .execution_options(populate_existing=True)
    )
    if meeting is None or not meeting.group.active:
        raise ScheduleError("unknown")
    return meeting


def _changeable(meeting: Meeting, now: datetime) -> None:
    if meeting.cancelled:
        raise ScheduleError("cancelled")
    if meeting.starts_at <= now:
        raise ScheduleError("past")


def _check_start(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise ScheduleError("past")
    if starts_at > now + MAX_AHEAD:
        raise ScheduleError("too_far")


def _check_details(capacity: int | None, note: str | None, place: str | None) -> None:
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise ScheduleError("capacity")
    if note is not None and len(note) > NOTE_LENGTH:
        raise ScheduleError("too_long")
    if place is not None and len(place) > PLACE_LENGTH:
        raise ScheduleError("too_long")


async def _clash(session: AsyncSession, group_id: int, starts_at: datetime) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Meeting.group_id == group_id,
                    Meeting.status == MeetingStatus.SCHEDULED,
                    Meeting.starts_at == starts_at,
                )
            )
        )
    )


async def meeting_id_at(session: AsyncSession, group_id: int, starts_at: datetime) -> int | None:
    """The id of the group's scheduled meeting starting at `starts_at`, if there is one."""
    return await session.scalar(
        select(Meeting.id).where(
            Meeting.group_id == group_id,
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.starts_at == starts_at,
        )
    )


async def add_one_off(
    session: AsyncSession,
    *,
    group_id: int,
    starts_at: datetime,
    now: datetime,
    capacity: int | None = None,
    note: str | None = None,
    place: str | None = None,
) -> Meeting:
    """A meeting outside the series. Refused for a past time, a time the group already meets at,
    or details out of bounds; the caller commits."""
    group = await session.get(Group, group_id)
    if group is None or not group.active:
        raise ScheduleError("unknown")
    _check_start(starts_at, now)
    _check_details(capacity, note, place)
    if await _clash(session, group_id, starts_at):
        raise ScheduleError("exists")
    occurrence = starts_at
    occupied = await session.scalar(
        select(Meeting).where(Meeting.group_id == group_id, Meeting.occurrence == starts_at)
    )
    if occupied is not None and occupied.cancelled:
        # A cancelled date at that very time: take it up again. The answers it had belong to
        # the cancelled date (those who gave them were told it's off), so it starts afresh.
        await session.execute(delete(Attendance).where(Attendance.meeting_id == occupied.id))
        occupied.status = MeetingStatus.SCHEDULED
        occupied.cancel_reason = None
        occupied.starts_at = starts_at
        occupied.capacity, occupied.note, occupied.place = capacity, note, place
        occupied.changed_at = now
        await session.flush()
        await meeting_notices.touch_posts(session, occupied.id)
        return occupied
    if occupied is not None:
        # A series date moved away from this time keeps it as its identity (RECURRENCE-ID);
        # the one-off, which has no series behind it, takes the second before as its own.
        occurrence = starts_at - timedelta(seconds=1)
    meeting = Meeting(
        group_id=group_id,
        occurrence=occurrence,
        starts_at=starts_at,
        one_off=True,
        status=MeetingStatus.SCHEDULED,
        capacity=capacity,
        note=note,
        place=place,
        created_at=now,
    )
    session.add(meeting)
    await session.flush()
    return meeting


async def move(
    session: AsyncSession, meeting_id: int, *, starts_at: datetime, now: datetime
) -> Meeting:
    """Move one date; everyone who said yes or maybe is told (and gets new reminders)."""
    meeting = await get_meeting(session, meeting_id)
    _changeable(meeting, now)
    _check_start(starts_at, now)
    if starts_at == meeting.starts_at:
        return meeting
    if await _clash(session, meeting.group_id, starts_at):
        raise ScheduleError("exists")
    previous = meeting.starts_at
    meeting.starts_at = starts_at
    meeting.changed_at = now
    await session.flush()
    await meeting_notices.queue_change(
        session, meeting, meeting_notices.MOVED, now=now, previous_start=previous
    )
    await meeting_notices.touch_posts(session, meeting.id)
    return meeting


async def _cancel(
    session: AsyncSession, meeting: Meeting, reason: CancelReason, *, now: datetime
) -> int:
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancel_reason = reason
    meeting.changed_at = now
    await session.flush()
    told = await meeting_notices.queue_change(session, meeting, meeting_notices.CANCELLED, now=now)
    await meeting_notices.touch_posts(session, meeting.id)
    return told


async def cancel(session: AsyncSession, meeting_id: int, *, now: datetime) -> Meeting:
    """Cancel one date; it stays listed as cancelled and the yes/maybe are told."""
    meeting = await get_meeting(session, meeting_id)
    _changeable(meeting, now)
    await _cancel(session, meeting, CancelReason.CANCELLED, now=now)
    return meeting


async def set_capacity(
    session: AsyncSession, meeting_id: int, capacity: int | None, *, now: datetime
) -> list[int]:
    """Set how many may come (None: no limit; guests count).

    A larger capacity (or none) lets waiting members in at once: returns who moved up (they are
    told). A smaller one never takes a confirmed place away. The caller commits.
    """
    from bot.services import rsvp  # noqa: PLC0415  (rsvp builds on this module)

    meeting = await _get_meeting(session, meeting_id, lock=True)
    _changeable(meeting, now)
    _check_details(capacity, None, None)
    meeting.capacity = capacity
    meeting.changed_at = now
    promoted = await rsvp.promote(session, meeting, now=now)
    await meeting_notices.touch_posts(session, meeting.id)
    return promoted


async def set_note(
    session: AsyncSession, meeting_id: int, note: str | None, *, now: datetime
) -> Meeting:
    """Set or clear the note members see with the meeting (agenda, "bring a friend")."""
    meeting = await get_meeting(session, meeting_id)
    _changeable(meeting, now)
    note = note.strip() if note else None
    _check_details(None, note, None)
    meeting.note = note or None
    meeting.changed_at = now
    await meeting_notices.touch_posts(session, meeting.id)
    return meeting


async def set_place(
    session: AsyncSession, meeting_id: int, place: str | None, *, now: datetime
) -> Meeting:
    """Set this date's own place, or None for the group's usual one."""
    meeting = await get_meeting(session, meeting_id)
    _changeable(meeting, now)
    place = place.strip() if place else None
    _check_details(None, None, place)
    meeting.place = place or None
    meeting.changed_at = now
    await meeting_notices.touch_posts(session, meeting.id)
    return meeting


async def pause(
    session: AsyncSession,
    group_id: int,
    *,
    starts_on: date,
    ends_on: date,
    label: str | None,
    now: datetime,
    zone: ZoneInfo,
) -> list[Meeting]:
    """Pause the series on these local dates (inclusive): its meetings then are cancelled (the
    yes/maybe told), and the series makes none. One-offs in the period stay. The caller commits.
    """
    group = await session.get(Group, group_id)
    if group is None or not group.active:
        raise ScheduleError("unknown")
    if not group.rrule:
        raise ScheduleError("no_series")
    if ends_on < starts_on or ends_on < _local_day(now, zone):
        raise ScheduleError("period")
    if label is not None and len(label) > 100:
        raise ScheduleError("too_long")
    session.add(
        GroupPause(
            group_id=group_id, starts_on=starts_on, ends_on=ends_on, label=label, created_at=now
        )
    )
    begin = max(now, datetime.combine(starts_on, time(0), tzinfo=zone))
    stop = datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=zone)
    return await _cancel_series_between(session, group, begin, stop, CancelReason.PAUSE, now=now)


async def _cancel_series_between(
    session: AsyncSession,
    group: Group,
    begin: datetime,
    stop: datetime | None,
    reason: CancelReason,
    *,
    now: datetime,
) -> list[Meeting]:
    query = select(Meeting).where(
        Meeting.group_id == group.id,
        Meeting.one_off.is_(False),
        Meeting.status == MeetingStatus.SCHEDULED,
        Meeting.starts_at > max(begin, now),
    )
    if stop is not None:
        query = query.where(Meeting.starts_at < stop)
    meetings = list(await session.scalars(query.order_by(Meeting.starts_at)))
    for meeting in meetings:
        await _cancel(session, meeting, reason, now=now)
    return meetings


async def pauses(session: AsyncSession, group_id: int, *, today: date) -> list[GroupPause]:
    """The group's pauses that haven't ended, soonest first."""
    rows = await session.scalars(
        select(GroupPause)
        .where(GroupPause.group_id == group_id, GroupPause.ends_on >= today)
        .order_by(GroupPause.starts_on, GroupPause.id)
    )
    return list(rows)


async def end_series(
    session: AsyncSession, group_id: int, *, now: datetime, zone: ZoneInfo
) -> list[Meeting]:
    """End the group's series from today: its future dates are cancelled (the yes/maybe told).
    One-off meetings stay. A new rule in the KV setup starts a series again. The caller commits.
    """
    group = await session.get(Group, group_id)
    if group is None or not group.active:
        raise ScheduleError("unknown")
    if not group.rrule or group.series_ends_on is not None:
        raise ScheduleError("no_series")
    group.series_ends_on = _local_day(now, zone)
    return await _cancel_series_between(
        session, group, now, None, CancelReason.SERIES_ENDED, now=now
    )


async def upcoming(
    session: AsyncSession,
    *,
    now: datetime,
    until: datetime,
    group_ids: Collection[int] | None = None,
    include_cancelled: bool = True,
    limit: int | None = None,
) -> list[Meeting]:
    """Meetings of active groups starting after now until `until`, soonest first."""
    query = (
        select(Meeting)
        .join(Group, Group.id == Meeting.group_id)
        .where(Group.active.is_(True), Meeting.starts_at > now, Meeting.starts_at <= until)
        .order_by(Meeting.starts_at, Group.position, Group.id)
    )
    if group_ids is not None:
        query = query.where(Meeting.group_id.in_(list(group_ids)))
    if not include_cancelled:
        query = query.where(Meeting.status == MeetingStatus.SCHEDULED)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).unique())


async def next_meeting(session: AsyncSession, group_id: int, *, now: datetime) -> Meeting | None:
    """The group's next meeting that takes place."""
    found = await upcoming(
        session,
        now=now,
        until=now + MAX_AHEAD,
        group_ids=[group_id],
        include_cancelled=False,
        limit=1,
    )
    return found[0] if found else None


async def exdates(session: AsyncSession, group_id: int) -> list[datetime]:
    """The series' cancelled or moved dates (RFC 5545 EXDATEs), ascending."""
    rows = await session.scalars(
        select(Meeting.occurrence)
        .where(
            Meeting.group_id == group_id,
            Meeting.one_off.is_(False),
            (Meeting.status == MeetingStatus.CANCELLED) | (Meeting.starts_at != Meeting.occurrence),
        )
        .order_by(Meeting.occurrence)
    )
    return list(rows)


async def answered_count(session: AsyncSession, meeting_id: int) -> int:
    """How many said yes or maybe."""
    count = await session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(
            Attendance.meeting_id == meeting_id,
            Attendance.answer.in_((RsvpAnswer.YES, RsvpAnswer.MAYBE)),
        )
    )
    return int(count or 0)
