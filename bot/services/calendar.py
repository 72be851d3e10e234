"""Calendars: a member's dates, .ics files (icalendar), and the secret feed URLs.

A member's dates are their groups' meetings and the meetings they answered yes, maybe or
waiting to (a "no" leaves the date out), the shifts they hold (a called-off date stays, marked
cancelled), and the Gedenktage (left out for members who switched Gedenktage off, unless they
answered the KV's event). Files list each of them as its own event; the public KV feed gives a
group's series as one event with its RRULE, the cancelled dates as EXDATEs and moved or changed
dates as RECURRENCE-ID overrides, so a phone calendar shows the series as one, and every date of
an active field action (first shift's start to last shift's end) and every Gedenktag.

A Gedenktag with the KV's event is a timed event (MEMORIAL_LENGTH long, at the event's place);
one without, or one whose event the member said no to, is an all-day event on its day.

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
from types import ModuleType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import field_actions, schedule, shifts
from bot.services.directory import member_groups
from bot.services.preferences import opted_out_categories
from bot.services.recurrence import RuleError, expand
from bot.services.rsvp import member_meetings
from models import (
    ActionDate,
    Attendance,
    CalendarFeed,
    Category,
    Group,
    GroupPause,
    Meeting,
    Member,
    Memorial,
    MemorialAnswer,
    MemorialDate,
    RsvpAnswer,
    Shift,
    ShiftSignup,
)
from models.base import valid_id

if TYPE_CHECKING:
    from icalendar import Calendar, Event

# How long a meeting lasts in a calendar; meetings have no end time of their own.
MEETING_LENGTH = timedelta(hours=2)
# How long the KV's event on a Gedenktag lasts in a calendar (it has no end time either).
MEMORIAL_LENGTH = timedelta(minutes=90)
# Feeds keep recent meetings a while, so a date doesn't vanish from the calendar as it starts.
FEED_PAST = timedelta(days=30)
# The token in a feed URL: 32 random bytes, URL-safe base64 (43 characters).
TOKEN_BYTES = 32
PRODID = "-//Mitmachbot//Calendar//DE"


def _ical() -> ModuleType:
    # Imported when a calendar is made, not at start-up: icalendar costs every process 4 MB.
    import icalendar  # noqa: PLC0415

    return icalendar


PUBLIC_FEED_NAME = "kv"


@dataclass(frozen=True, slots=True)
class CalendarDate:
    """One of a member's dates: the meeting and their answer (None: a meeting of their group)."""

    meeting: Meeting
    answer: Attendance | None

    @property
    def starts_at(self) -> datetime:
        """When it starts (UTC), for sorting with the other kinds of dates."""
        return self.meeting.starts_at


@dataclass(frozen=True, slots=True)
class ShiftEntry:
    """A shift the member holds (its date may have been called off: shift.action_date)."""

    shift: Shift

    @property
    def starts_at(self) -> datetime:
        """When the shift starts (UTC)."""
        return self.shift.starts_at


@dataclass(frozen=True, slots=True)
class MemorialEntry:
    """A Gedenktag's date, the member's answer to the KV's event (None: none given or no
    member), and where it sorts: the event's start, or the start of its day in the KV's zone."""

    date: MemorialDate
    answer: RsvpAnswer | None
    starts_at: datetime

    @property
    def timed(self) -> bool:
        """Whether it is the KV's event at a time (else the day alone): there is an event and
        the member didn't say no to it."""
        return self.date.event_starts_at is not None and self.answer != RsvpAnswer.NO

    @property
    def place(self) -> str | None:
        """Where this year's event is (the memorial's usual place if the year names none)."""
        if self.date.event_starts_at is None:
            return None
        return self.date.event_place or self.date.memorial.event_place


CalendarItem = CalendarDate | ShiftEntry | MemorialEntry


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


def link_stamp(feed: CalendarFeed) -> int:
    """Which link a feed has (31 bits of its fingerprint, nothing secret): what a "new link"
    button carries, so that it replaces that link and no later one (a double tap renews once).
    31 bits keep it within the range every id in callback data is checked against."""
    return (int(feed.token_hash[:8], 16) >> 1) or 1


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


async def member_shift(session: AsyncSession, member_id: int, shift_id: int) -> Shift | None:
    """A shift of an active action that `member_id` holds; None for any other id (forged,
    gone, or someone else's), so nobody gets another member's shift."""
    if not valid_id(shift_id):
        return None
    held = await session.scalar(
        select(ShiftSignup.shift_id).where(
            ShiftSignup.shift_id == shift_id, ShiftSignup.member_id == member_id
        )
    )
    if held is None:
        return None
    return await field_actions.find_shift(session, shift_id)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)


def _memorial_entry(row: MemorialDate, answer: RsvpAnswer | None, zone: ZoneInfo) -> MemorialEntry:
    starts_at = (
        row.event_starts_at if row.event_starts_at is not None else _day_start(row.day, zone)
    )
    return MemorialEntry(row, answer, starts_at)


async def memorial_dates(
    session: AsyncSession, *, now: datetime, until: datetime, zone: ZoneInfo
) -> list[MemorialDate]:
    """Dates of active Gedenktage from `now`'s day (in the KV's zone) to `until`'s, soonest
    first."""
    rows = await session.scalars(
        select(MemorialDate)
        .join(Memorial, Memorial.id == MemorialDate.memorial_id)
        .where(
            Memorial.active.is_(True),
            MemorialDate.day >= now.astimezone(zone).date(),
            MemorialDate.day <= until.astimezone(zone).date(),
        )
        .order_by(MemorialDate.day, Memorial.position, MemorialDate.id)
    )
    return list(rows.unique())


async def find_memorial_date(session: AsyncSession, date_id: int) -> MemorialDate | None:
    """A date of an active Gedenktag; None otherwise (also for forged ids)."""
    row = await session.get(MemorialDate, date_id) if valid_id(date_id) else None
    return row if row is not None and row.memorial.active else None


def memorial_entry(row: MemorialDate, zone: ZoneInfo) -> MemorialEntry:
    """A Gedenktag's date as a calendar entry without anyone's answer."""
    return _memorial_entry(row, None, zone)


async def member_calendar(
    session: AsyncSession, member_id: int, *, now: datetime, until: datetime, zone: ZoneInfo
) -> list[CalendarItem]:
    """Everything in the member's calendar from `now` to `until`, in one list by time: their
    meetings (as member_dates), the shifts they hold that have not ended (called-off dates
    too), and the Gedenktage from today on with their answer (without the ones they switched
    off, unless they answered yes or maybe)."""
    items: list[CalendarItem] = list(await member_dates(session, member_id, now=now, until=until))
    held = await shifts.held_shifts(session, member_id, now=now)
    items += [ShiftEntry(row.shift) for row in held if row.shift.starts_at <= until]
    rows = await memorial_dates(session, now=now, until=until, zone=zone)
    answers: dict[int, RsvpAnswer] = {}
    if rows:
        found = await session.execute(
            select(MemorialAnswer.memorial_date_id, MemorialAnswer.answer).where(
                MemorialAnswer.member_id == member_id,
                MemorialAnswer.memorial_date_id.in_([row.id for row in rows]),
            )
        )
        answers = {date_id: RsvpAnswer(answer) for date_id, answer in found}
    switched_off = Category.MEMORIALS in await opted_out_categories(session, member_id)
    for row in rows:
        answer = answers.get(row.id)
        if switched_off and answer not in (RsvpAnswer.YES, RsvpAnswer.MAYBE):
            continue
        items.append(_memorial_entry(row, answer, zone))
    items.sort(key=_item_order)
    return items


def _item_order(item: CalendarItem) -> tuple[datetime, int, int]:
    if isinstance(item, CalendarDate):
        return item.starts_at, 0, item.meeting.id
    if isinstance(item, ShiftEntry):
        return item.starts_at, 1, item.shift.id
    return item.starts_at, 2, item.date.id


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
    calendar = _ical().Calendar()
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
    event = _ical().Event()
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


def _date_sequence(row: ActionDate) -> int:
    # As for meetings: seconds from creation to the last change (a new plan, a cancellation).
    if row.changed_at is None or row.created_at is None:
        return 0
    return max(0, int((row.changed_at - row.created_at).total_seconds()))


def _labelled(summary: str, cancelled: bool, cancelled_label: str | None) -> str:
    return f"{cancelled_label}: {summary}" if cancelled and cancelled_label else summary


def _shift_event(
    shift: Shift, *, zone: ZoneInfo, domain: str, now: datetime, cancelled_label: str | None
) -> Event:
    row = shift.action_date
    action = row.action
    event = _ical().Event()
    event.add("uid", _uid("shift", shift.id, domain))
    event.add("dtstamp", (row.changed_at or row.created_at or now).astimezone(UTC))
    event.add("dtstart", _local(shift.starts_at, zone))
    event.add("dtend", _local(shift.ends_at, zone))
    summary = f"{action.title} – {shift.label}" if shift.label else action.title
    event.add("summary", _labelled(summary, row.cancelled, cancelled_label))
    event.add("location", action.place)
    if action.material:
        event.add("description", action.material)
    event.add("sequence", _date_sequence(row))
    event.add("status", "CANCELLED" if row.cancelled else "CONFIRMED")
    return event


def _action_date_event(row: ActionDate, *, zone: ZoneInfo, domain: str, now: datetime) -> Event:
    """One date of an action for everyone: from the first shift's start to the last one's end,
    the title and the place; nothing about who comes or how many."""
    action = row.action
    event = _ical().Event()
    event.add("uid", _uid("action", row.id, domain))
    event.add("dtstamp", (row.changed_at or row.created_at or now).astimezone(UTC))
    event.add("dtstart", _local(min(shift.starts_at for shift in row.shifts), zone))
    event.add("dtend", _local(max(shift.ends_at for shift in row.shifts), zone))
    event.add("summary", action.title)
    event.add("location", action.place)
    event.add("sequence", _date_sequence(row))
    event.add("status", "CANCELLED" if row.cancelled else "CONFIRMED")
    return event


def _memorial_event(entry: MemorialEntry, *, zone: ZoneInfo, domain: str, now: datetime) -> Event:
    row = entry.date
    memorial = row.memorial
    event = _ical().Event()
    event.add("uid", _uid("memorial", row.id, domain))
    event.add("dtstamp", (row.created_at or now).astimezone(UTC))
    notes = [memorial.about or ""]
    if entry.timed and row.event_starts_at is not None:
        event.add("dtstart", _local(row.event_starts_at, zone))
        event.add("dtend", _local(row.event_starts_at + MEMORIAL_LENGTH, zone))
        if entry.place:
            event.add("location", entry.place)
        notes.append(memorial.event_note or "")
    else:
        # An all-day event (VALUE=DATE): the day itself, in every zone.
        event.add("dtstart", row.day)
        event.add("dtend", row.day + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    event.add("summary", memorial.name)
    description = "\n\n".join(note.strip() for note in notes if note and note.strip())
    if description:
        event.add("description", description)
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    return event


def item_event(
    item: CalendarItem,
    *,
    zone: ZoneInfo,
    domain: str,
    now: datetime,
    cancelled_label: str | None = None,
) -> Event:
    """The calendar event of one of a member's dates (meeting, shift or Gedenktag)."""
    if isinstance(item, CalendarDate):
        return _meeting_event(
            item.meeting, zone=zone, domain=domain, now=now, cancelled_label=cancelled_label
        )
    if isinstance(item, ShiftEntry):
        return _shift_event(
            item.shift, zone=zone, domain=domain, now=now, cancelled_label=cancelled_label
        )
    return _memorial_event(item, zone=zone, domain=domain, now=now)


def items_ics(
    items: Iterable[CalendarItem],
    *,
    name: str,
    zone: ZoneInfo,
    domain: str,
    now: datetime,
    cancelled_label: str | None = None,
) -> bytes:
    """An .ics with one event per meeting, shift and Gedenktag (cancelled ones with
    STATUS:CANCELLED and, when given, `cancelled_label` before the summary)."""
    calendar = _new_calendar(name, zone)
    earliest = now
    for item in items:
        calendar.add_component(
            item_event(item, zone=zone, domain=domain, now=now, cancelled_label=cancelled_label)
        )
        earliest = min(earliest, item.starts_at)
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
    recur = _ical().vRecur.from_ical(rule)
    if group.series_ends_on is not None:
        # UNTIL in UTC: the last instant before the day the series ended.
        end = datetime.combine(group.series_ends_on, datetime.min.time(), tzinfo=zone)
        recur["UNTIL"] = [(end - timedelta(seconds=1)).astimezone(UTC)]
        recur.pop("COUNT", None)
    uid = _uid("group", group.id, domain)
    master = _ical().Event()
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
    meetings (cancelled ones as STATUS:CANCELLED), the dates of active field actions
    (scheduled and cancelled) and the Gedenktage. No member data: no names, no answers, no
    counts of people."""
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
    for row in await field_actions.upcoming_dates(
        session, now=since, until=now + schedule.MAX_AHEAD
    ):
        if row.shifts:
            calendar.add_component(_action_date_event(row, zone=zone, domain=domain, now=now))
    for memorial_date in await memorial_dates(
        session, now=since, until=now + schedule.MAX_AHEAD, zone=zone
    ):
        entry = memorial_entry(memorial_date, zone)
        calendar.add_component(_memorial_event(entry, zone=zone, domain=domain, now=now))
    return _finish(calendar, since)


def feed_url(base_url: str, token: str) -> str:
    """The personal feed's address under the bot's public URL."""
    return f"{base_url.rstrip('/')}/calendar/{token}.ics"


def public_feed_url(base_url: str) -> str:
    """The public KV feed's address under the bot's public URL."""
    return f"{base_url.rstrip('/')}/calendar/{PUBLIC_FEED_NAME}.ics"
