"""Calendars parsed back with icalendar: events, TZID, RRULE/EXDATE/overrides, cancelled dates,
local times across both DST changes, and the secret feed tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar, Event

from bot.db.session import SessionPool
from bot.services import calendar, rsvp, schedule
from bot.services.profile import withdraw_consent
from bot.services.recurrence import parse_rule, to_rrule
from models import CalendarFeed, Group, GroupMembership, GroupType, Member, Profile, RsvpAnswer

BERLIN = ZoneInfo("Europe/Berlin")
# A Friday, nine days before summer time starts (29 March 2026).
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
DOMAIN = "mitmachbot-1"


async def _setup(pool: SessionPool, *, now: datetime = NOW) -> None:
    """Stammtisch Mitte (open, Thursdays 19:00), AG Umwelt (closed, Tuesdays 18:30), Anna in the
    Stammtisch, Ben in no group."""
    async with pool() as session:
        session.add_all(
            [
                Group(
                    id=1,
                    key="mitte",
                    name="Stammtisch Mitte",
                    type=GroupType.STAMMTISCH,
                    rule="jeden Donnerstag 19 Uhr",
                    rrule=to_rrule(parse_rule("jeden Donnerstag 19 Uhr")),
                    place="Café Rosa",
                    open_to_non_members=True,
                ),
                Group(
                    id=2,
                    key="umwelt",
                    name="AG Umwelt",
                    type=GroupType.AG,
                    rule="jeden Dienstag 18:30",
                    rrule=to_rrule(parse_rule("jeden Dienstag 18:30")),
                    place="Büro",
                ),
            ]
        )
        for member_id, name in ((10, "Anna"), (11, "Ben")):
            member = Member(id=member_id, first_name=name)
            member.profile = Profile(member_id=member_id)
            session.add(member)
        await session.flush()
        session.add(GroupMembership(group_id=1, member_id=10))
        await schedule.extend_horizon(session, now=now, zone=BERLIN)
        await session.commit()


def _wall(*parts: int) -> datetime:
    """A local wall-clock time in Berlin, without zone (as `_instances` gives them)."""
    return datetime(*parts, tzinfo=BERLIN).replace(tzinfo=None)  # type: ignore[misc]


def _events(data: bytes) -> list[Event]:
    parsed = Calendar.from_ical(data)
    assert parsed.timezones[0].tz_name == "Europe/Berlin"
    assert not parsed.get_missing_tzids()
    return list(parsed.events)


def _start(event: Event) -> datetime:
    start = event.decoded("dtstart")
    assert isinstance(start, datetime)
    return start


async def test_my_dates_file_lists_group_and_answered_meetings_in_local_time(
    session_pool: SessionPool,
) -> None:
    await _setup(session_pool)
    async with session_pool() as session:
        umwelt = await schedule.upcoming(
            session, now=NOW, until=NOW + timedelta(days=14), group_ids=[2]
        )
        # Anna comes to one AG meeting (not her group) and says no to another.
        await rsvp.answer(
            session,
            meeting_id=umwelt[0].id,
            member_id=10,
            consented=True,
            answer=RsvpAnswer.YES,
            now=NOW,
        )
        await rsvp.answer(
            session,
            meeting_id=umwelt[1].id,
            member_id=10,
            consented=True,
            answer=RsvpAnswer.NO,
            now=NOW,
        )
        thursdays = await schedule.upcoming(
            session, now=NOW, until=NOW + timedelta(days=14), group_ids=[1]
        )
        later = NOW + timedelta(hours=3)
        await schedule.cancel(session, thursdays[1].id, now=later)
        await session.commit()
        dates = await calendar.member_dates(session, 10, now=NOW, until=NOW + timedelta(days=14))
        data = calendar.meetings_ics(
            [item.meeting for item in dates],
            name="KV Test",
            zone=BERLIN,
            domain=DOMAIN,
            now=NOW,
            cancelled_label="Abgesagt",
        )
    assert [item.meeting.group_id for item in dates] == [2, 1, 1]
    assert dates[0].answer is not None
    assert dates[1].answer is None
    events = _events(data)
    assert len(events) == 3
    tuesday, first, second = events
    # Thursday 26 March: winter time, 19:00 local is 18:00 UTC.
    assert first["dtstart"].params["TZID"] == "Europe/Berlin"
    assert _start(first) == datetime(2026, 3, 26, 19, 0, tzinfo=BERLIN)
    assert _start(first).astimezone(UTC) == datetime(2026, 3, 26, 18, 0, tzinfo=UTC)
    assert first.decoded("dtend") - _start(first) == timedelta(hours=2)
    assert str(first["summary"]) == "Stammtisch Mitte"
    assert str(first["location"]) == "Café Rosa"
    assert str(first["status"]) == "CONFIRMED"
    assert str(first["uid"]) == f"meeting-{thursdays[0].id}@{DOMAIN}"
    assert first.decoded("sequence") == 0
    assert str(tuesday["summary"]) == "AG Umwelt"
    assert _start(tuesday) == datetime(2026, 3, 24, 18, 30, tzinfo=BERLIN)
    # Thursday 2 April: summer time, 19:00 local is 17:00 UTC; cancelled and marked.
    assert _start(second) == datetime(2026, 4, 2, 19, 0, tzinfo=BERLIN)
    assert _start(second).astimezone(UTC) == datetime(2026, 4, 2, 17, 0, tzinfo=UTC)
    assert str(second["status"]) == "CANCELLED"
    assert str(second["summary"]) == "Abgesagt: Stammtisch Mitte"
    assert second.decoded("sequence") == 3 * 3600


async def test_local_times_stay_right_across_the_autumn_change(session_pool: SessionPool) -> None:
    autumn = datetime(2026, 10, 16, 12, 0, tzinfo=UTC)
    await _setup(session_pool, now=autumn)
    async with session_pool() as session:
        dates = await calendar.member_dates(
            session, 10, now=autumn, until=autumn + timedelta(days=14)
        )
        data = calendar.meetings_ics(
            [item.meeting for item in dates], name="KV", zone=BERLIN, domain=DOMAIN, now=autumn
        )
    starts = [_start(event) for event in _events(data)]
    assert starts == [
        datetime(2026, 10, 22, 19, 0, tzinfo=BERLIN),
        datetime(2026, 10, 29, 19, 0, tzinfo=BERLIN),
    ]
    assert [start.astimezone(UTC).hour for start in starts] == [17, 18]


def _instances(master: Event, overrides: list[Event], until: datetime) -> list[datetime]:
    """Expand the feed's series the way a calendar app would; local wall-clock times."""
    lines = master.to_ical().decode().replace("\r\n ", "").splitlines()
    rule = next(line for line in lines if line.startswith("RRULE:"))
    start = _start(master)
    rules = rrulestr(rule, dtstart=start, forceset=True)
    assert isinstance(rules, rruleset)
    exdates = master.get("exdate")
    for exdate in exdates if isinstance(exdates, list) else [exdates] if exdates else []:
        for moment in exdate.dts:
            rules.exdate(moment.dt)
    moved = {_recurrence(event): _start(event).replace(tzinfo=None) for event in overrides}
    found = []
    for moment in rules.between(start - timedelta(seconds=1), until):
        local = moment.replace(tzinfo=None)
        found.append(moved.pop(local, local))
    assert moved == {}, "an override for a date the series doesn't have"
    return sorted(found)


def _recurrence(event: Event) -> datetime:
    moment = event.decoded("recurrence-id")
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=None)


async def test_public_feed_gives_the_series_with_exdates_and_overrides(
    session_pool: SessionPool,
) -> None:
    await _setup(session_pool)
    later = NOW + timedelta(hours=1)
    async with session_pool() as session:
        thursdays = await schedule.upcoming(
            session, now=NOW, until=NOW + schedule.HORIZON, group_ids=[1]
        )
        await schedule.cancel(session, thursdays[0].id, now=later)
        await schedule.move(
            session,
            thursdays[1].id,
            starts_at=thursdays[1].starts_at + timedelta(hours=1),
            now=later,
        )
        await schedule.set_note(session, thursdays[2].id, "Gast: Bürgermeisterin", now=later)
        await schedule.pause(
            session,
            1,
            starts_on=date(2026, 7, 1),
            ends_on=date(2026, 7, 31),
            label="Sommerpause",
            now=later,
            zone=BERLIN,
        )
        one_off = await schedule.add_one_off(
            session,
            group_id=1,
            starts_at=datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN),
            now=later,
            place="Marktplatz",
        )
        await rsvp.answer(
            session,
            meeting_id=thursdays[3].id,
            member_id=10,
            consented=True,
            answer=RsvpAnswer.YES,
            now=later,
        )
        await session.commit()
        data = await calendar.public_ics(
            session, name="KV Test", zone=BERLIN, domain=DOMAIN, now=later
        )
        expected = [
            meeting.starts_at.astimezone(BERLIN).replace(tzinfo=None)
            for meeting in await schedule.upcoming(
                session,
                now=later,
                until=later + schedule.HORIZON,
                group_ids=[1],
                include_cancelled=False,
            )
            if not meeting.one_off
        ]
    text = data.decode()
    assert "Anna" not in text
    assert "AG Umwelt" not in text  # not open to non-members
    assert "text/calendar" not in text
    events = _events(data)
    series = [event for event in events if str(event["uid"]) == f"group-1@{DOMAIN}"]
    master = next(event for event in series if "recurrence-id" not in event)
    overrides = [event for event in series if "recurrence-id" in event]
    assert master["dtstart"].params["TZID"] == "Europe/Berlin"
    assert "FREQ=WEEKLY" in master.to_ical().decode()
    assert str(master["location"]) == "Café Rosa"
    # The moved date and the one with a note are overrides; the cancelled one is an EXDATE.
    assert sorted(_recurrence(event) for event in overrides) == [
        thursdays[1].occurrence.astimezone(BERLIN).replace(tzinfo=None),
        thursdays[2].occurrence.astimezone(BERLIN).replace(tzinfo=None),
    ]
    noted = next(event for event in overrides if "description" in event)
    assert str(noted["description"]) == "Gast: Bürgermeisterin"
    moved = next(event for event in overrides if "description" not in event)
    assert _start(moved) == datetime(2026, 4, 2, 20, 0, tzinfo=BERLIN)
    # Within the horizon the feed's series gives exactly the meetings that take place.
    horizon_end = (later + schedule.HORIZON).astimezone(BERLIN)
    instances = [
        moment
        for moment in _instances(master, overrides, horizon_end)
        if moment > later.astimezone(BERLIN).replace(tzinfo=None)
    ]
    assert instances == expected
    # The Sommerpause is beyond the horizon: its Thursdays are EXDATEs all the same.
    july = [
        moment
        for moment in _instances(master, overrides, datetime(2026, 8, 31, tzinfo=BERLIN))
        if moment.month == 7
    ]
    assert july == []
    assert any(
        moment.month == 8
        for moment in _instances(master, overrides, datetime(2026, 8, 31, tzinfo=BERLIN))
    )
    # The one-off is its own event.
    single = next(
        event for event in events if str(event["uid"]) == f"meeting-{one_off.id}@{DOMAIN}"
    )
    assert _start(single) == datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN)
    assert str(single["location"]) == "Marktplatz"


async def test_an_ended_series_stops_with_until(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    async with session_pool() as session:
        await schedule.end_series(
            session, 1, now=datetime(2026, 4, 10, 12, tzinfo=UTC), zone=BERLIN
        )
        await session.commit()
        data = await calendar.public_ics(session, name="KV", zone=BERLIN, domain=DOMAIN, now=NOW)
    [master] = [event for event in _events(data) if "rrule" in event]
    until = master["rrule"]["UNTIL"][0]
    assert until == datetime(2026, 4, 9, 21, 59, 59, tzinfo=UTC)
    instances = _instances(master, [], datetime(2026, 6, 1, tzinfo=BERLIN))
    assert instances[-1] == _wall(2026, 4, 9, 19, 0)


async def test_feed_tokens_are_stored_as_hashes_and_replaced(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    async with session_pool() as session:
        first = await calendar.new_feed_token(session, 10, now=NOW)
        await session.commit()
        assert len(first) >= 43
        stored = await session.get(CalendarFeed, 10)
        assert stored is not None
        assert stored.token_hash == calendar.token_hash(first) != first
        found = await calendar.feed_member(session, first)
        assert found is not None
        assert found.id == 10
        second = await calendar.new_feed_token(session, 10, now=NOW)
        await session.commit()
        assert second != first
        assert await calendar.feed_member(session, first) is None
        assert await calendar.feed_member(session, "unknown") is None
        assert await calendar.feed_member(session, "") is None
        found = await calendar.feed_member(session, second)
        assert found is not None
        # Withdrawing consent removes the feed.
        await withdraw_consent(session, found)
        await session.commit()
        assert await calendar.feed_member(session, second) is None
        assert await session.get(CalendarFeed, 10) is None


async def test_a_biweekly_series_keeps_its_weeks(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        session.add(
            Group(
                id=3,
                key="zwei",
                name="Basisgruppe Nord",
                type=GroupType.BASISGRUPPE,
                rrule=to_rrule(parse_rule("alle zwei Wochen mittwochs 19:30 ab 07.01.2026")),
                open_to_non_members=True,
            )
        )
        await schedule.extend_horizon(session, now=NOW, zone=BERLIN)
        await session.commit()
        data = await calendar.public_ics(session, name="KV", zone=BERLIN, domain=DOMAIN, now=NOW)
        expected = [
            meeting.starts_at.astimezone(BERLIN).replace(tzinfo=None)
            for meeting in await schedule.upcoming(session, now=NOW, until=NOW + schedule.HORIZON)
        ]
    [master] = _events(data)
    assert "INTERVAL=2" in master.to_ical().decode()
    horizon_end = (NOW + schedule.HORIZON).astimezone(BERLIN)
    instances = [
        moment
        for moment in _instances(master, [], horizon_end)
        if moment > NOW.astimezone(BERLIN).replace(tzinfo=None)
    ]
    assert instances == expected
    assert expected[0] == _wall(2026, 4, 1, 19, 30)  # the anchor's weeks: 7 Jan + 6 x 14 days
