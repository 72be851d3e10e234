"""Calendars: a member's dates, .ics files (icalendar), and the secret feed URLs.

A member's dates are their groups' meetings and the meetings they answered yes, maybe or
waiting to (a "no" leaves the date out). Files list each meeting as its own event; the public
KV feed gives a group's series as one event with its RRULE, the cancelled dates as EXDATEs and
moved or changed dates as RECURRENCE-ID overrides, so a phone calendar shows the series as one.

Times carry the KV's zone (TZID plus a VTIMEZONE built from zoneinfo), so 19:00 stays 19:00
across the DST changes. A personal feed's URL holds a random token; only its SHA-256 is stored,
so the URL can be shown once and replaced ("revoked"), never shown again.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import schedule
from bot.services.directory import member_groups
from bot.services.recurrence import RuleError, expand
from bot.services.rsvp import member_meetings
from models import Attendance, CalendarFeed, Group, GroupPause, Meeting, Member, RsvpAnswer

# How long a meeting lasts in a calendar; meetings have no end time of their own.
MEETING_LENGTH = timedelta(hours=2)
# Feeds keep recent meetings a while, so a date doesn't vanish from the calendar as it starts.
FEED_PAST = timedelta(days=30)
# The token in a feed URL: 32 random bytes, URL-safe base64 (43 characters).
TOKEN_BYTES = 32
PRODID = "-//Mitmachbot//Calendar//DE"
PUBLIC_FEED_NAME = "kv"


@dataclass(frozen=True, slots=True)
class CalendarDate:
    """One of a member's dates: the meeting and their answer (None: a meeting of their group)."""

    meeting: Meeting
    answer: Attendance | None


# --- feed tokens ------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    """The stored fingerprint of a feed token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def new_feed_token(session: AsyncSession, member_id: int, *, now: datetime) -> str:
    """A new secret feed token for the member; any earlier one stops working at once.

    Returns the token itself (shown once; only its hash is kept). The caller commits.
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = await session.get(CalendarFeed, member_id)
    if feed is None:
        session.add(CalendarFeed(member_id=member_id, token_hash=token_hash(token), created_at=now))
    else:
        feed.token_hash = token_hash(token)
        feed.created_at = now
    await session.flush()
    return token


async def feed_of(session: AsyncSession, member_id: int) -> CalendarFeed | None:
    """The member's feed (when its link was made), None when they have none."""
    return await session.get(CalendarFeed, member_id)


async def revoke_feed(session: AsyncSession, member_id: int) -> bool:
    """Remove the member's feed; returns whether there was one. The caller commits."""
    result = await session.execute(delete(CalendarFeed).where(CalendarFeed.member_id == member_id))
    return bool(result.rowcount)


async def feed_member(session: AsyncSession, token: str) -> Member | None:
    """The member whose feed `token` opens: None for unknown or replaced tokens, and for members
    who withdrew their consent (nothing about them is served then)."""
    if not token or len(token) > 128:
        return None
    member_id = await session.scalar(
        select(CalendarFeed.member_id).where(CalendarFeed.token_hash == token_hash(token))
    )
    if member_id is None:
        return None
    member = await session.get(Member, member_id)
    if member is None or not member.consented:
        return None
    return member


# --- which dates ------------------------------------------------------------------------------


async def member_dates(
    session: AsyncSession, member_id: int, *, now: datetime, until: datetime
) -> list[CalendarDate]:
    """The member's meetings starting after `now` until `until`, soonest first: their groups'
    meetings (cancelled ones too, to show them as cancelled) and the ones they answered yes,
    maybe or waiting to. Meetings they said no to are left out."""
    groups = await member_groups(session, member_id)
    group_meetings = await schedule.upcoming(
        session, now=now, until=until, group_ids=[group.id for group in groups]
    )
    answered = await member_meetings(session, member_id, now=now, include_no=True)
    answers = {meeting.id: row for meeting, row in answered}
    found: dict[int, Meeting] = {meeting.id: meeting for meeting in group_meetings}
    for meeting, _row in answered:
        if meeting.starts_at <= until:
            found.setdefault(meeting.id, meeting)
    dates = [
        CalendarDate(meeting, answers.get(meeting.id))
        for meeting in found.values()
        if (row := answers.get(meeting.id)) is None or row.answer != RsvpAnswer.NO
    ]
    dates.sort(key=lambda item: (item.meeting.starts_at, item.meeting.id))
    return dates


async def open_groups(session: AsyncSession) -> list[Group]:
    """The groups in the public KV feed: active and open to non-members (the setup's
    `open_to_non_members`); newcomer-friendly alone is meant for new members, not the public."""
    rows = await session.scalars(
        select(Group)
        .where(Group.active.is_(True), Group.open_to_non_members.is_(True))
        .order_by(Group.position, Group.id)
    )
    return list(rows.unique())


# --- building .ics ----------------------------------------------------------------------------


def _uid(kind: str, number: int, domain: str) -> str:
    return f"{kind}-{number}@{domain}"


def uid_domain(bot_id: int) -> str:
    """What follows the @ of every UID: stable for the bot, whatever its public URL."""
    return f"mitmachbot-{bot_id}"


def _sequence(meeting: Meeting) -> int:
    # Seconds from creation to the last change: grows with every change, as RFC 5545 wants.
    if meeting.changed_at is None:
        return 0
    return max(0, int((meeting.changed_at - meeting.created_at).total_seconds()))


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _new_calendar(name: str, zone: ZoneInfo) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    return calendar


def _finish(calendar: Calendar, earliest: datetime) -> bytes:
    # The VTIMEZONE covers a year before the first date on; icalendar builds it from zoneinfo.
    calendar.add_missing_timezones(first_date=date(earliest.year - 1, 1, 1))
    return calendar.to_ical()


def _meeting_event(
    meeting: Meeting,
    *,
    zone: ZoneInfo,
    domain: str,
    now: datetime,
    cancelled_label: str | None = None,
    uid: str | None = None,
) -> Event:
    event = Event()
    event.add("uid", uid or _uid("meeting", meeting.id, domain))
    event.add("dtstamp", (meeting.changed_at or meeting.created_at or now).astimezone(UTC))
    event.add("dtstart", _local(meeting.starts_at, zone))
    event.add("dtend", _local(meeting.starts_at + MEETING_LENGTH, zone))
    summary = meeting.group.name
    if meeting.cancelled and cancelled_label:
        summary = f"{cancelled_label}: {summary}"
    event.add("summary", summary)
    if meeting.where:
        event.add("location", meeting.where)
    if meeting.note:
        event.add("description", meeting.note)
    event.add("sequence", _sequence(meeting))
    event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
    return event


def meetings_ics(
    meetings: Iterable[Meeting],
    *,
    name: str,
    zone: ZoneInfo,
    domain: str,
    now: datetime,
    cancelled_label: str | None = None,
) -> bytes:
    """An .ics with one event per meeting (cancelled ones with STATUS:CANCELLED and, when given,
    `cancelled_label` before the summary)."""
    calendar = _new_calendar(name, zone)
    earliest = now
    for meeting in meetings:
        calendar.add_component(
            _meeting_event(
                meeting, zone=zone, domain=domain, now=now, cancelled_label=cancelled_label
            )
        )
        earliest = min(earliest, meeting.starts_at)
    return _finish(calendar, earliest)


def _rule_value(rrule_text: str) -> str | None:
    """The RRULE value of the stored rule text (which may carry a DTSTART line as well)."""
    for line in rrule_text.replace("\r", "").split("\n"):
        name, _, value = line.strip().partition(":")
        if name.upper() == "RRULE" and value:
            return value.strip()
        if not value and name.upper().startswith("FREQ="):
            return name
    return None


def _paused_dates(
    group: Group, pauses: Sequence[GroupPause], *, zone: ZoneInfo, after: datetime
) -> list[datetime]:
    # Paused dates beyond the horizon have no meeting rows yet; the rule alone would show them.
    dates: list[datetime] = []
    for pause in pauses:
        start = datetime.combine(pause.starts_on, datetime.min.time(), tzinfo=zone)
        stop = datetime.combine(pause.ends_on + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        start = max(start - timedelta(seconds=1), after)
        if stop <= start:
            continue
        try:
            dates += expand(group.rrule or "", zone=zone, start=start, end=stop)
        except RuleError:
            return []
    return dates


def _series_start(group: Group, *, zone: ZoneInfo, since: datetime) -> tuple[str, datetime] | None:
    """The rule's RRULE value and its first date after `since`; None when there is no series."""
    rule = _rule_value(group.rrule or "")
    if rule is None:
        return None
    try:
        first = expand(group.rrule or "", zone=zone, start=since, end=since + timedelta(days=800))
    except RuleError:
        return None
    if not first:
        return None
    if (
        group.series_ends_on is not None
        and first[0].astimezone(zone).date() >= group.series_ends_on
    ):
        return None
    return rule, first[0]


def _series_events(
    group: Group,
    meetings: Sequence[Meeting],
    exdates: Sequence[datetime],
    pauses: Sequence[GroupPause],
    *,
    zone: ZoneInfo,
    domain: str,
    now: datetime,
    since: datetime,
) -> list[Event]:
    """The group's series as one event with RRULE and EXDATEs (cancelled and paused dates), plus
    one RECURRENCE-ID override per moved or changed date; empty when there is no readable rule.

    A moved date is an override only, not an EXDATE as well: clients drop overrides of
    excluded instances.
    """
    found = _series_start(group, zone=zone, since=since)
    if found is None:
        return []
    rule, start = found
    recur = vRecur.from_ical(rule)
    if group.series_ends_on is not None:
        # UNTIL in UTC: the last instant before the day the series ended.
        end = datetime.combine(group.series_ends_on, datetime.min.time(), tzinfo=zone)
        recur["UNTIL"] = [(end - timedelta(seconds=1)).astimezone(UTC)]
        recur.pop("COUNT", None)
    uid = _uid("group", group.id, domain)
    master = Event()
    master.add("uid", uid)
    master.add("dtstamp", now.astimezone(UTC))
    master.add("dtstart", _local(start, zone))
    master.add("dtend", _local(start + MEETING_LENGTH, zone))
    master.add("summary", group.name)
    if group.place:
        master.add("location", group.place)
    if group.description:
        master.add("description", group.description)
    master.add("rrule", recur)
    overrides = [
        meeting
        for meeting in meetings
        if not meeting.cancelled
        and meeting.occurrence >= start
        and (meeting.starts_at != meeting.occurrence or meeting.place or meeting.note)
    ]
    moved = {meeting.occurrence for meeting in overrides}
    excluded = {moment for moment in exdates if moment >= start and moment not in moved}
    excluded |= set(_paused_dates(group, pauses, zone=zone, after=max(now, start)))
    for moment in sorted(excluded):
        master.add("exdate", _local(moment, zone))
    events = [master]
    for meeting in overrides:
        override = _meeting_event(meeting, zone=zone, domain=domain, now=now, uid=uid)
        override.add("recurrence-id", _local(meeting.occurrence, zone))
        events.append(override)
    return events


async def public_ics(
    session: AsyncSession, *, name: str, zone: ZoneInfo, domain: str, now: datetime
) -> bytes:
    """The public KV feed: the open groups' series (RRULE, EXDATE, overrides) and one-off
    meetings (cancelled ones as STATUS:CANCELLED). No member data: no names, no answers."""
    since = now - FEED_PAST
    calendar = _new_calendar(name, zone)
    groups = await open_groups(session)
    group_ids = [group.id for group in groups]
    meetings = await schedule.upcoming(
        session, now=since, until=now + schedule.MAX_AHEAD, group_ids=group_ids
    )
    pauses: dict[int, list[GroupPause]] = {}
    if group_ids:
        for pause in await session.scalars(
            select(GroupPause).where(
                GroupPause.group_id.in_(group_ids),
                GroupPause.ends_on >= now.astimezone(zone).date(),
            )
        ):
            pauses.setdefault(pause.group_id, []).append(pause)
    for group in groups:
        mine = [meeting for meeting in meetings if meeting.group_id == group.id]
        series = [meeting for meeting in mine if not meeting.one_off]
        events = _series_events(
            group,
            series,
            await schedule.exdates(session, group.id),
            pauses.get(group.id, []),
            zone=zone,
            domain=domain,
            now=now,
            since=since,
        )
        for event in events:
            calendar.add_component(event)
        singles = [meeting for meeting in mine if meeting.one_off or not events]
        for meeting in singles:
            calendar.add_component(
                _meeting_event(meeting, zone=zone, domain=domain, now=now, cancelled_label=None)
            )
    return _finish(calendar, since)


def feed_url(base_url: str, token: str) -> str:
    """The personal feed's address under the bot's public URL."""
    return f"{base_url.rstrip('/')}/calendar/{token}.ics"


def public_feed_url(base_url: str) -> str:
    """The public KV feed's address under the bot's public URL."""
    return f"{base_url.rstrip('/')}/calendar/{PUBLIC_FEED_NAME}.ics"
