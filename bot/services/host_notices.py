"""How hosts hear of answers to their groups' meetings, queued through the outbox.

Each host chooses (HostPreference; no row: DAILY):
- EACH: every answer change, soon. A job every minute takes answers not yet handled
  (Attendance.host_notified False) to upcoming meetings, queues one notice per change and host
  and marks them handled (also for hosts who chose otherwise: the flag means "seen").
- DAILY: one summary an evening (HOST_EVENING, the KV's time) of the answers changed since the
  evening before, for the host's groups' upcoming meetings; nothing when nothing changed.
- DAY_BEFORE: the list of who comes, the evening before each meeting.
Keys name the occasion, so a rerun, a restart or a second instance queues each notice once. A
job that runs late (after downtime) still queues the last evening's summaries and lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, directory, notice_caps, rsvp, schedule
from bot.services.delivery import enqueue_once
from models import (
    Attendance,
    AuditAction,
    Group,
    HostNotice,
    HostPreference,
    Meeting,
    MeetingStatus,
    Member,
    RsvpAnswer,
)

HOST_ANSWER = "host_answer"
HOST_SUMMARY = "host_summary"
HOST_LIST = "host_list"
DEFAULT_NOTICE = HostNotice.DAILY
# When the daily summary and the day-before list go out, in the KV's zone.
HOST_EVENING = time(18, 0)


async def notice_for(session: AsyncSession, member_id: int) -> HostNotice:
    """How a host wants to hear of answers (DAILY when they never chose)."""
    return (await notices_for(session, [member_id]))[member_id]


async def notices_for(session: AsyncSession, member_ids: Collection[int]) -> dict[int, HostNotice]:
    """Each host's choice, DAILY for those who never chose."""
    ids = list(dict.fromkeys(member_ids))
    found: dict[int, HostNotice] = dict.fromkeys(ids, DEFAULT_NOTICE)
    if ids:
        rows = await session.execute(
            select(HostPreference.member_id, HostPreference.notice).where(
                HostPreference.member_id.in_(ids)
            )
        )
        for member_id, notice in rows:
            found[member_id] = HostNotice(notice)
    return found


async def _hosts(session: AsyncSession, groups: Collection[Group]) -> dict[int, list[int]]:
    """Each group's hosts who are members the bot knows."""
    hosts = {group.id: await directory.host_ids(session, group) for group in groups}
    known = set(
        await session.scalars(
            select(Member.id).where(Member.id.in_({h for ids in hosts.values() for h in ids}))
        )
    )
    return {group_id: [h for h in ids if h in known] for group_id, ids in hosts.items()}


async def is_host(session: AsyncSession, member_id: int, group: Group) -> bool:
    """Whether `member_id` hosts `group` (re-checked at sending time)."""
    return member_id in await directory.host_ids(session, group)


def _upcoming_meeting(now: datetime) -> Any:
    return and_(
        Meeting.status == MeetingStatus.SCHEDULED,
        Meeting.starts_at > now,
        Group.active.is_(True),
    )


# --- EACH ------------------------------------------------------------------------------------


def answer_payload(row: Attendance, zone: str) -> dict[str, Any]:
    """An answer as it was given: the host hears of this one even if another follows."""
    return {
        "meeting_id": row.meeting_id,
        "member_id": row.member_id,
        "answer": row.answer.value,
        "guests": row.guests,
        "waitlisted": row.waitlisted,
        "zone": zone,
    }


def _answer_key(row: Attendance, host_id: int) -> str:
    # The state is part of the key: a promotion keeps answered_at but is news all the same.
    stamp = int(row.answered_at.timestamp() * 1000)
    state = f"{row.answer.value[0]}{row.guests}{int(row.waitlisted)}"
    return f"hans:{row.meeting_id}:{row.member_id}:{stamp}:{state}:{host_id}"


async def _answer_capped(session: AsyncSession, row: Attendance, now: datetime) -> bool:
    """Whether this answer waits: the member already changed their answer to this meeting less
    than an hour after the hosts last heard of it (notice_caps). A member tapping yes, no, yes
    tells the hosts once an hour at most; a waiting-list promotion is not their doing (its
    answer time is from before that notice) and goes out at once."""
    if await notice_caps.claim(
        session, row.member_id, notice_caps.NoticeKind.ANSWER, row.meeting_id, now=now
    ):
        return False
    last = await notice_caps.last_claimed(
        session, row.member_id, notice_caps.NoticeKind.ANSWER, row.meeting_id
    )
    return last is not None and row.answered_at > last


async def queue_answer_notices(session: AsyncSession, *, now: datetime, zone: str) -> int:
    """Queue a notice of each new answer for hosts who chose EACH, and mark answers handled.

    Returns how many notices were queued; the caller commits. A host's own answer is not
    reported to them.
    """
    rows = list(
        await session.scalars(
            select(Attendance)
            .join(Meeting, Meeting.id == Attendance.meeting_id)
            .join(Group, Group.id == Meeting.group_id)
            .where(Attendance.host_notified.is_(False), _upcoming_meeting(now))
            .order_by(Attendance.answered_at, Attendance.meeting_id, Attendance.member_id)
        )
    )
    if not rows:
        return 0
    meetings = {
        meeting.id: meeting
        for meeting in await session.scalars(
            select(Meeting).where(Meeting.id.in_({row.meeting_id for row in rows}))
        )
    }
    groups = {meeting.group.id: meeting.group for meeting in meetings.values()}
    hosts = await _hosts(session, groups.values())
    choices = await notices_for(session, {h for ids in hosts.values() for h in ids})
    queued = 0
    for row in rows:
        group_id = meetings[row.meeting_id].group_id
        told = [
            host_id
            for host_id in hosts.get(group_id, [])
            if choices[host_id] == HostNotice.EACH and host_id != row.member_id
        ]
        if told and await _answer_capped(session, row, now):
            continue  # stays unhandled: reported, in its state then, once the hour is over
        for host_id in told:
            queued += await enqueue_once(
                session,
                host_id,
                key=_answer_key(row, host_id),
                kind=HOST_ANSWER,
                payload=answer_payload(row, zone),
                due_at=now,
            )
        # Only the state seen: an answer changed again meanwhile stays to be reported.
        await session.execute(
            update(Attendance)
            .where(
                Attendance.meeting_id == row.meeting_id,
                Attendance.member_id == row.member_id,
                Attendance.answered_at == row.answered_at,
                Attendance.answer == row.answer,
                Attendance.guests == row.guests,
                Attendance.waitlisted == row.waitlisted,
            )
            .values(host_notified=True)
            .execution_options(synchronize_session=False)
        )
    return queued


@dataclass(frozen=True, slots=True)
class AnswerNotice:
    """One answer for a host: the meeting, who, what they said then, and the counts now."""

    meeting: Meeting
    attendee: rsvp.Attendee
    counts: rsvp.Counts


async def answer_notice(
    session: AsyncSession, row_payload: dict[str, Any], host_id: int, *, now: datetime
) -> AnswerNotice | None:
    """The notice at sending time; None when the meeting is off or past, or the recipient no
    longer hosts its group."""
    meeting = await _meeting_for(session, row_payload, now=now)
    if meeting is None or not await is_host(session, host_id, meeting.group):
        return None
    try:
        member_id = int(row_payload["member_id"])
        answer = RsvpAnswer(row_payload["answer"])
        guests = int(row_payload.get("guests", 0))
        waitlisted = bool(row_payload.get("waitlisted", False))
    except (KeyError, TypeError, ValueError):
        return None
    found = {a.member_id: a for a in await rsvp.attendees(session, meeting)}
    now_known = found.get(member_id)
    if now_known is None:
        # The member withdrew consent meanwhile: their answer is gone, so is the notice.
        return None
    attendee = rsvp.Attendee(
        member_id=member_id,
        first_name=now_known.first_name,
        answer=answer,
        guests=guests,
        waitlisted=waitlisted,
        first_time=now_known.first_time,
    )
    counts = (await rsvp.counts(session, [meeting]))[meeting.id]
    return AnswerNotice(meeting, attendee, counts)


async def _meeting_for(
    session: AsyncSession, row_payload: dict[str, Any], *, now: datetime
) -> Meeting | None:
    try:
        meeting_id = int(row_payload["meeting_id"])
    except (KeyError, TypeError, ValueError):
        return None
    meeting = await schedule.find_meeting(session, meeting_id)
    if meeting is None or meeting.cancelled or meeting.starts_at <= now:
        return None
    if "start" in row_payload and int(meeting.starts_at.timestamp()) != row_payload["start"]:
        return None  # moved: the list for the new date comes on its own evening
    return meeting


# --- the evening: DAILY and DAY_BEFORE -------------------------------------------------------


def last_evening(now: datetime, zone: ZoneInfo) -> datetime:
    """The latest HOST_EVENING in the KV's zone at or before `now` (aware)."""
    local = now.astimezone(zone)
    evening = datetime.combine(local.date(), HOST_EVENING, tzinfo=zone)
    if evening > local:
        evening = datetime.combine(local.date() - timedelta(days=1), HOST_EVENING, tzinfo=zone)
    return evening


def _window(evening: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The day a summary covers: since the evening before (local, so DST-correct)."""
    local = evening.astimezone(zone)
    before = datetime.combine(local.date() - timedelta(days=1), HOST_EVENING, tzinfo=zone)
    return before, evening


@dataclass(frozen=True, slots=True)
class Evening:
    """What an evening run queued: daily summaries and day-before lists."""

    summaries: int
    lists: int


async def queue_evening(session: AsyncSession, *, now: datetime, zone: ZoneInfo) -> Evening:
    """Queue the last evening's summaries (DAILY hosts) and lists (DAY_BEFORE hosts).

    Run it often (every few minutes): until the evening it finds the previous one's, already
    queued; keys make each once. The caller commits.
    """
    evening = last_evening(now, zone)
    return Evening(
        summaries=await _queue_summaries(session, evening, now=now, zone=zone),
        lists=await _queue_lists(session, evening, now=now, zone=zone),
    )


async def _changed_meetings(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    group_ids: Collection[int] | None = None,
) -> dict[int, list[int]]:
    """Upcoming meetings with answers changed in (since, until]: meeting id -> member ids."""
    query = (
        select(Attendance.meeting_id, Attendance.member_id)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(Group, Group.id == Meeting.group_id)
        .where(
            Attendance.answered_at > since,
            Attendance.answered_at <= until,
            _upcoming_meeting(now),
        )
        .order_by(Meeting.starts_at, Meeting.id, Attendance.answered_at)
    )
    if group_ids is not None:
        query = query.where(Meeting.group_id.in_(list(group_ids)))
    found: dict[int, list[int]] = defaultdict(list)
    for meeting_id, member_id in await session.execute(query):
        found[meeting_id].append(member_id)
    return found


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


async def _queue_summaries(
    session: AsyncSession, evening: datetime, *, now: datetime, zone: ZoneInfo
) -> int:
    since, until = _window(evening, zone)
    changed = await _changed_meetings(session, since=since, until=until, now=now)
    if not changed:
        return 0
    meetings = list(await session.scalars(select(Meeting).where(Meeting.id.in_(list(changed)))))
    groups = {meeting.group.id: meeting.group for meeting in meetings}
    hosts = await _hosts(session, groups.values())
    by_host: dict[int, set[int]] = defaultdict(set)
    for meeting in meetings:
        for host_id in hosts.get(meeting.group_id, []):
            # A host's own answer alone is no news to them.
            if set(changed[meeting.id]) - {host_id}:
                by_host[host_id].add(meeting.group_id)
    choices = await notices_for(session, by_host)
    day = evening.astimezone(zone).date().isoformat()
    queued = 0
    for host_id, group_ids in sorted(by_host.items()):
        if choices[host_id] != HostNotice.DAILY:
            continue
        added = await enqueue_once(
            session,
            host_id,
            key=f"hsum:{day}:{host_id}",
            kind=HOST_SUMMARY,
            payload={
                "since": _stamp(since),
                "until": _stamp(until),
                "group_ids": sorted(group_ids),
                "zone": zone.key,
            },
            due_at=now,
        )
        if added:
            # Whose answers changed, sent to a host on the KV's behalf: the bot is the actor.
            listed = {
                member_id
                for meeting in meetings
                if meeting.group_id in group_ids
                for member_id in changed[meeting.id]
            }
            await audit.record(
                session,
                None,
                AuditAction.HOST_SUMMARY,
                count=len(listed - {host_id}),
                subject=", ".join(sorted(groups[group_id].name for group_id in group_ids)),
                at=now,
            )
        queued += added
    return queued


async def _queue_lists(
    session: AsyncSession, evening: datetime, *, now: datetime, zone: ZoneInfo
) -> int:
    day = evening.astimezone(zone).date() + timedelta(days=1)
    begin = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    meetings = list(
        (
            await session.scalars(
                select(Meeting)
                .join(Group, Group.id == Meeting.group_id)
                .where(
                    _upcoming_meeting(now),
                    Meeting.starts_at >= begin,
                    Meeting.starts_at < end,
                )
                .order_by(Meeting.starts_at, Meeting.id)
            )
        ).unique()
    )
    if not meetings:
        return 0
    hosts = await _hosts(session, {m.group.id: m.group for m in meetings}.values())
    choices = await notices_for(session, {h for ids in hosts.values() for h in ids})
    queued = 0
    for meeting in meetings:
        for host_id in hosts.get(meeting.group_id, []):
            if choices[host_id] != HostNotice.DAY_BEFORE:
                continue
            start = _stamp(meeting.starts_at)
            added = await enqueue_once(
                session,
                host_id,
                key=f"hlist:{meeting.id}:{start}:{host_id}",
                kind=HOST_LIST,
                payload={"meeting_id": meeting.id, "start": start, "zone": zone.key},
                due_at=now,
            )
            if added:
                # Who comes tomorrow, sent to a host on the KV's behalf: the bot is the actor.
                await audit.record(
                    session,
                    None,
                    AuditAction.HOST_LIST,
                    # The list names who comes or may come; a "no" is in its counts only.
                    count=sum(
                        1
                        for attendee in await rsvp.attendees(session, meeting)
                        if attendee.answer is not RsvpAnswer.NO
                    ),
                    subject=f"{meeting.group.name} #{meeting.id}",
                    at=now,
                )
            queued += added
    return queued


@dataclass(frozen=True, slots=True)
class MeetingAnswers:
    """A meeting with answers for a host: the attendees shown and the counts."""

    meeting: Meeting
    attendees: list[rsvp.Attendee]
    counts: rsvp.Counts


async def summary(
    session: AsyncSession, row_payload: dict[str, Any], host_id: int, *, now: datetime
) -> list[MeetingAnswers]:
    """The daily summary at sending time: per upcoming meeting of the host's groups (still
    hosted), whoever changed their answer in the window, as they answered now. Empty: withdraw."""
    try:
        since = datetime.fromtimestamp(int(row_payload["since"]), tz=now.tzinfo)
        until = datetime.fromtimestamp(int(row_payload["until"]), tz=now.tzinfo)
        group_ids = [int(value) for value in row_payload["group_ids"]]
    except (KeyError, TypeError, ValueError):
        return []
    groups = [
        group
        for group in await session.scalars(
            select(Group).where(Group.id.in_(group_ids), Group.active.is_(True))
        )
        if await is_host(session, host_id, group)
    ]
    if not groups:
        return []
    changed = await _changed_meetings(
        session, since=since, until=until, now=now, group_ids=[group.id for group in groups]
    )
    return await _with_answers(session, changed, exclude=host_id)


async def _with_answers(
    session: AsyncSession, changed: dict[int, list[int]], *, exclude: int | None = None
) -> list[MeetingAnswers]:
    if not changed:
        return []
    meetings = list(
        await session.scalars(
            select(Meeting)
            .where(Meeting.id.in_(list(changed)))
            .order_by(Meeting.starts_at, Meeting.id)
        )
    )
    counts = await rsvp.counts(session, meetings)
    found: list[MeetingAnswers] = []
    for meeting in meetings:
        wanted = set(changed[meeting.id]) - {exclude}
        shown = [a for a in await rsvp.attendees(session, meeting) if a.member_id in wanted]
        if shown:
            found.append(MeetingAnswers(meeting, shown, counts[meeting.id]))
    return found


async def day_list(
    session: AsyncSession, row_payload: dict[str, Any], host_id: int, *, now: datetime
) -> MeetingAnswers | None:
    """The list for the day before at sending time: everyone who answered, and the counts.
    None when the meeting is off, moved or past, or the recipient no longer hosts it."""
    meeting = await _meeting_for(session, row_payload, now=now)
    if meeting is None or not await is_host(session, host_id, meeting.group):
        return None
    counts = (await rsvp.counts(session, [meeting]))[meeting.id]
    return MeetingAnswers(meeting, await rsvp.attendees(session, meeting), counts)
