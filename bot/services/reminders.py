"""Meeting reminders: who is reminded of which meeting when, queued once through the outbox.

Everyone who said yes (confirmed or on the waiting list: they can still say no and so keep the
list honest) or maybe is reminded at the offsets they chose (Profile.reminder_offsets, minutes
before the start; default a day and two hours). A job runs every minute and queues, per member
and meeting, the latest offset that is due, under a key naming the meeting, its current start,
the offset and the member: a second run, a restart or a second instance adds nothing, and a
moved meeting gets new reminders. After downtime only the latest due offset goes out (not a
burst of every missed one), as long as the meeting has not started; once it has, the missed
reminder is recorded as dropped (a CANCELLED outbox row under the same key, so it is counted
once). A reminder is only for a moment after the member answered: who says yes an hour before
is not reminded of it at once.

Rows carry ids only; at sending time `still_due` re-checks the meeting (not cancelled, not
moved, not started) and the member's answer and offsets, and the renderer withdraws the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services import meeting_notices, schedule
from bot.services.delivery import KEY_LENGTH, enqueue_once, existing_keys
from bot.services.preferences import opted_out_among
from bot.services.profile import REMINDER_CHOICES
from models import (
    Attendance,
    Category,
    Delivery,
    DeliveryStatus,
    Group,
    Meeting,
    MeetingStatus,
    Member,
    Profile,
    RsvpAnswer,
)
from models.profile import DEFAULT_REMINDER_OFFSETS

KIND = meeting_notices.MEETING_REMINDER
# The farthest ahead any reminder can be due: meetings beyond it need no look.
MAX_OFFSET = timedelta(minutes=max((*REMINDER_CHOICES, *DEFAULT_REMINDER_OFFSETS)))
# Meetings that started this recently are checked for reminders downtime made miss (counted).
DROP_LOOKBACK = timedelta(days=1)
DROPPED = "meeting started before the reminder could go out"
_REMINDED = (RsvpAnswer.YES, RsvpAnswer.MAYBE)


@dataclass(frozen=True, slots=True)
class Queued:
    """What a run did: reminders queued, and missed ones dropped because the meeting started."""

    queued: int
    dropped: int


@dataclass(frozen=True, slots=True)
class Due:
    """One reminder to queue (or to record as dropped)."""

    meeting_id: int
    starts_at: datetime
    offset: int
    member_id: int

    @property
    def key(self) -> str:
        """The occasion: meeting, its current start, the offset, the member."""
        stamp = int(self.starts_at.timestamp())
        return f"rem:{self.meeting_id}:{stamp}:{self.offset}:{self.member_id}"[:KEY_LENGTH]

    @property
    def remind_at(self) -> datetime:
        """When the reminder is meant to go out."""
        return self.starts_at - timedelta(minutes=self.offset)


def valid_offsets(offsets: Iterable[Any] | None) -> list[int]:
    """The positive whole minutes among stored offsets, largest first (bad values ignored)."""
    found = {
        value
        for value in offsets or ()
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
    }
    return sorted(found, reverse=True)


def latest_due(
    starts_at: datetime, offsets: Iterable[Any] | None, *, answered_at: datetime, now: datetime
) -> int | None:
    """The offset whose reminder is due at `now` and closest to the start, or None.

    Only moments after the member answered count: an answer given after the reminder's moment
    needs no reminder of it.
    """
    due = [
        offset
        for offset in valid_offsets(offsets)
        if answered_at <= starts_at - timedelta(minutes=offset) <= now
    ]
    return min(due) if due else None


async def _candidates(
    session: AsyncSession, *, start_after: datetime, start_until: datetime
) -> list[tuple[int, datetime, int, datetime, list[int]]]:
    """(meeting, start, member, answered_at, offsets) for yes/maybe answers to scheduled
    meetings of active groups starting in (start_after, start_until], reachable members only."""
    rows = await session.execute(
        select(
            Meeting.id,
            Meeting.starts_at,
            Attendance.member_id,
            Attendance.answered_at,
            Profile.reminder_offsets,
        )
        .join(Group, Group.id == Meeting.group_id)
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .join(Profile, Profile.member_id == Attendance.member_id)
        .join(Member, Member.id == Attendance.member_id)
        .where(
            Group.active.is_(True),
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.starts_at > start_after,
            Meeting.starts_at <= start_until,
            Attendance.answer.in_(_REMINDED),
            Member.reachable.is_(True),
        )
        .order_by(Meeting.starts_at, Meeting.id, Attendance.member_id)
    )
    return [(m, start, member, answered, offsets) for m, start, member, answered, offsets in rows]


async def _new(session: AsyncSession, wanted: list[Due]) -> list[Due]:
    """Those of `wanted` whose key is not in the outbox yet, and whose member still wants
    reminders at all (the worker checks the opt-out again at sending time)."""
    if not wanted:
        return []
    existing = await existing_keys(session, [due.key for due in wanted])
    fresh = [due for due in wanted if due.key not in existing]
    opted_out = await opted_out_among(session, {due.member_id for due in fresh}, Category.REMINDERS)
    return [due for due in fresh if due.member_id not in opted_out]


def payload(due: Due, zone: str) -> dict[str, Any]:
    """What a reminder row carries: ids, the start it was for, the offset, the KV's zone."""
    return {
        "meeting_id": due.meeting_id,
        "start": int(due.starts_at.timestamp()),
        "offset": due.offset,
        "zone": zone,
    }


async def _record_dropped(session: AsyncSession, due: Due, *, now: datetime, zone: str) -> bool:
    """Note a reminder downtime made miss: a CANCELLED row under its key, so it counts once
    (also with two instances) and no later run queues it."""
    insert = dialect_insert(session)(Delivery).values(
        recipient_id=due.member_id,
        kind=KIND,
        payload=payload(due, zone),
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


async def queue_due(session: AsyncSession, *, now: datetime, zone: str) -> Queued:
    """Queue every reminder due at `now` that is not queued yet; the caller commits.

    Per member and meeting only the latest due offset. Reminders missed while the bot was down
    for meetings that started meanwhile (up to DROP_LOOKBACK ago) are recorded as dropped.
    `zone` (the KV's, an IANA name) travels with the row for rendering the times.
    """
    wanted: list[Due] = []
    missed: list[Due] = []
    for meeting_id, starts_at, member_id, answered_at, offsets in await _candidates(
        session, start_after=now - DROP_LOOKBACK, start_until=now + MAX_OFFSET
    ):
        started = starts_at <= now
        # Before the start anything due until now counts; after it, what was due before it.
        offset = latest_due(
            starts_at, offsets, answered_at=answered_at, now=starts_at if started else now
        )
        if offset is None:
            continue
        due = Due(meeting_id, starts_at, offset, member_id)
        (missed if started else wanted).append(due)
    queued = 0
    for due in await _new(session, wanted):
        queued += await enqueue_once(
            session,
            due.member_id,
            key=due.key,
            kind=KIND,
            payload=payload(due, zone),
            # When it was meant; a late one (after downtime) is thus due at once.
            due_at=due.remind_at,
            category=Category.REMINDERS.value,
        )
    dropped = 0
    for due in await _new(session, missed):
        dropped += await _record_dropped(session, due, now=now, zone=zone)
    return Queued(queued=queued, dropped=dropped)


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder still worth sending: the meeting and the member's answer to it."""

    meeting: Meeting
    attendance: Attendance
    offset: int


async def still_due(
    session: AsyncSession, row_payload: dict[str, Any], member: Member | None, *, now: datetime
) -> Reminder | None:
    """The reminder as it stands at sending time, or None when it is no longer wanted.

    None when the meeting is gone, cancelled, moved (its start is no longer the row's) or has
    started; when the member withdrew consent, said no meanwhile, or no longer wants this offset.
    """
    if member is None or member.profile is None:
        return None
    try:
        meeting_id = int(row_payload["meeting_id"])
        start = int(row_payload["start"])
        offset = int(row_payload["offset"])
    except (KeyError, TypeError, ValueError):
        return None
    meeting = await schedule.find_meeting(session, meeting_id)
    if meeting is None or meeting.cancelled:
        return None
    if int(meeting.starts_at.timestamp()) != start or meeting.starts_at <= now:
        return None
    if offset not in valid_offsets(member.profile.reminder_offsets):
        return None
    attendance = await session.get(Attendance, (meeting.id, member.id))
    if attendance is None or attendance.answer not in _REMINDED:
        return None
    return Reminder(meeting, attendance, offset)
