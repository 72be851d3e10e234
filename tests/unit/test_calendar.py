"""Calendars parsed back with icalendar: events, TZID, RRULE/EXDATE/overrides, cancelled dates,
local times across both DST changes, shifts and Gedenktage (timed and all-day), the public
feed's action dates without anybody in them, and the secret feed tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar, Event

from bot.db.session import SessionPool
from bot.services import calendar, field_actions, rsvp, schedule, shifts
from bot.services.field_actions import PlannedShift
from bot.services.preferences import set_opted_out
from bot.services.profile import withdraw_consent
from bot.services.recurrence import parse_rule, to_rrule
from models import (
    ActionKind,
    CalendarFeed,
    Category,
    Group,
    GroupMembership,
    GroupType,
    Member,
    Memorial,
    MemorialAnswer,
    MemorialDate,
    Profile,
    RsvpAnswer,
)

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


# --- shifts and Gedenktage ----------------------------------------------------------------------

WINTER_SATURDAY = date(2026, 3, 28)  # the day before summer time starts
SUMMER_SATURDAY = date(2026, 4, 4)


async def _actions(pool: SessionPool) -> dict[str, int]:
    """Two Infostände (28 March, winter time; 4 April, summer time) with a setup shift and a
    main shift, and a door-to-door round whose action is no longer active. Anna holds both
    main shifts, Ben the setup shift on 28 March; the 4 April date is called off later."""
    plan = (
        PlannedShift(time(9, 30), time(10, 0), 2, "Aufbau"),
        PlannedShift(time(10, 0), time(12, 0), 3),
    )
    ids: dict[str, int] = {}
    async with pool() as session:
        for name, day in (("winter", WINTER_SATURDAY), ("summer", SUMMER_SATURDAY)):
            action = await field_actions.create(
                session,
                kind=ActionKind.INFOSTAND,
                title="Infostand Marktplatz",
                place="Marktplatz vor dem Rathaus",
                material="Pavillon und Flyer aus dem Büro",
                shifts=plan,
                on_day=day,
                now=NOW,
                zone=BERLIN,
            )
            [row] = await field_actions.upcoming_dates(
                session, now=NOW, until=NOW + timedelta(days=60), action_ids=[action.id]
            )
            ids[f"{name}_date"] = row.id
            ids[f"{name}_setup"], ids[f"{name}_main"] = (shift.id for shift in row.shifts)
        gone = await field_actions.create(
            session,
            kind=ActionKind.DOOR_TO_DOOR,
            title="Haustür-Runde Altstadt",
            place="Altstadt",
            shifts=plan,
            on_day=WINTER_SATURDAY,
            now=NOW,
            zone=BERLIN,
        )
        gone.active = False
        await shifts.sign_up(session, ids["winter_main"], 10, now=NOW)
        await shifts.sign_up(session, ids["summer_main"], 10, now=NOW)
        await shifts.sign_up(session, ids["winter_setup"], 11, now=NOW)
        await session.commit()
    return ids


async def _memorials(pool: SessionPool) -> dict[str, int]:
    """Tag der Befreiung (8 May) with the KV's event at 17:00 (summer time), and a Gedenktag
    without an event on 28 March; plus an inactive one."""
    async with pool() as session:
        liberation = Memorial(
            key="befreiung",
            name="Tag der Befreiung",
            rule="08.05.",
            rrule="FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=8",
            about="Ende des Zweiten Weltkriegs in Europa.",
            event_time=time(17, 0),
            event_place="Ehrenmal im Stadtpark",
            event_note="Blumen mitbringen",
        )
        quiet = Memorial(key="maerz", name="Gedenken im März", rule="28.03.", rrule="FREQ=YEARLY")
        dropped = Memorial(
            key="alt", name="Alter Gedenktag", rule="01.04.", rrule="FREQ=YEARLY", active=False
        )
        rows = {
            "liberation": MemorialDate(
                memorial=liberation,
                day=date(2026, 5, 8),
                event_starts_at=datetime(2026, 5, 8, 17, 0, tzinfo=BERLIN),
            ),
            "quiet": MemorialDate(memorial=quiet, day=WINTER_SATURDAY),
            "dropped": MemorialDate(memorial=dropped, day=date(2026, 4, 1)),
        }
        session.add_all(rows.values())
        await session.commit()
        return {name: row.id for name, row in rows.items()}


def _by_uid(events: list[Event]) -> dict[str, Event]:
    return {str(event["uid"]).split("@")[0]: event for event in events}


async def test_my_file_has_my_shifts_and_the_gedenktage_in_local_time(
    session_pool: SessionPool,
) -> None:
    await _setup(session_pool)
    ids = await _actions(session_pool)
    memorials = await _memorials(session_pool)
    later = NOW + timedelta(hours=2)
    async with session_pool() as session:
        await field_actions.cancel_date(session, ids["summer_date"], now=later)
        session.add(
            MemorialAnswer(
                memorial_date_id=memorials["liberation"], member_id=10, answer=RsvpAnswer.YES
            )
        )
        await session.commit()
        items = await calendar.member_calendar(
            session, 10, now=later, until=later + timedelta(days=60), zone=BERLIN
        )
        data = calendar.items_ics(
            items,
            name="KV Test",
            zone=BERLIN,
            domain=DOMAIN,
            now=later,
            cancelled_label="Abgesagt",
        )
    # One list by time; the Gedenktag without an event sorts at the start of its day.
    kinds = [type(item).__name__ for item in items]
    assert kinds.index("ShiftEntry") > kinds.index("MemorialEntry")
    assert [item.starts_at for item in items] == sorted(item.starts_at for item in items)
    quiet = next(item for item in items if isinstance(item, calendar.MemorialEntry))
    assert quiet.starts_at == datetime(2026, 3, 28, 0, 0, tzinfo=BERLIN)
    events = _by_uid(_events(data))
    # Anna's two shifts, not Ben's setup shift, nothing of the inactive round or memorial.
    shift_uids = sorted(uid for uid in events if uid.startswith("shift-"))
    assert shift_uids == sorted([f"shift-{ids['winter_main']}", f"shift-{ids['summer_main']}"])
    assert f"memorial-{memorials['dropped']}" not in events
    assert "Haustür-Runde Altstadt" not in data.decode()

    winter = events[f"shift-{ids['winter_main']}"]
    assert winter["dtstart"].params["TZID"] == "Europe/Berlin"
    assert _start(winter) == datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN)
    assert _start(winter).astimezone(UTC) == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    assert winter.decoded("dtend") == datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    assert str(winter["summary"]) == "Infostand Marktplatz"
    assert str(winter["location"]) == "Marktplatz vor dem Rathaus"
    assert str(winter["description"]) == "Pavillon und Flyer aus dem Büro"
    assert str(winter["status"]) == "CONFIRMED"
    assert winter.decoded("sequence") == 0
    # Summer time: 10:00 local is 08:00 UTC; the date was called off.
    summer = events[f"shift-{ids['summer_main']}"]
    assert _start(summer) == datetime(2026, 4, 4, 10, 0, tzinfo=BERLIN)
    assert _start(summer).astimezone(UTC) == datetime(2026, 4, 4, 8, 0, tzinfo=UTC)
    assert str(summer["status"]) == "CANCELLED"
    assert str(summer["summary"]) == "Abgesagt: Infostand Marktplatz"
    assert summer.decoded("sequence") == 2 * 3600

    # The KV's event: 17:00 local (15:00 UTC in summer), 90 minutes, at its place.
    liberation = events[f"memorial-{memorials['liberation']}"]
    assert liberation["dtstart"].params["TZID"] == "Europe/Berlin"
    assert _start(liberation).astimezone(UTC) == datetime(2026, 5, 8, 15, 0, tzinfo=UTC)
    assert liberation.decoded("dtend") - _start(liberation) == timedelta(minutes=90)
    assert str(liberation["summary"]) == "Tag der Befreiung"
    assert str(liberation["location"]) == "Ehrenmal im Stadtpark"
    assert "Blumen mitbringen" in str(liberation["description"])
    # Without an event: the day itself, all day.
    quiet_event = events[f"memorial-{memorials['quiet']}"]
    assert quiet_event["dtstart"].params["VALUE"] == "DATE"
    assert quiet_event.decoded("dtstart") == WINTER_SATURDAY
    assert quiet_event.decoded("dtend") == WINTER_SATURDAY + timedelta(days=1)
    assert "location" not in quiet_event
    assert "DTSTART;VALUE=DATE:20260328" in data.decode()


async def test_a_no_to_the_event_leaves_the_day_and_switched_off_gedenktage_stay_out(
    session_pool: SessionPool,
) -> None:
    await _setup(session_pool)
    memorials = await _memorials(session_pool)
    async with session_pool() as session:
        session.add(
            MemorialAnswer(
                memorial_date_id=memorials["liberation"], member_id=10, answer=RsvpAnswer.NO
            )
        )
        await set_opted_out(session, 11, Category.MEMORIALS, opted_out=True)
        await session.commit()
        anna = await calendar.member_calendar(
            session, 10, now=NOW, until=NOW + timedelta(days=60), zone=BERLIN
        )
        ben = await calendar.member_calendar(
            session, 11, now=NOW, until=NOW + timedelta(days=60), zone=BERLIN
        )
        data = calendar.items_ics(anna, name="KV", zone=BERLIN, domain=DOMAIN, now=NOW)
    said_no = next(
        item
        for item in anna
        if isinstance(item, calendar.MemorialEntry) and item.date.id == memorials["liberation"]
    )
    assert said_no.answer == RsvpAnswer.NO
    assert not said_no.timed
    event = _by_uid(_events(data))[f"memorial-{memorials['liberation']}"]
    assert event.decoded("dtstart") == date(2026, 5, 8)
    assert "location" not in event
    assert not any(isinstance(item, calendar.MemorialEntry) for item in ben)


async def test_public_feed_has_action_dates_and_gedenktage_but_nobody_in_them(
    session_pool: SessionPool,
) -> None:
    await _setup(session_pool)
    ids = await _actions(session_pool)
    memorials = await _memorials(session_pool)
    later = NOW + timedelta(hours=1)
    async with session_pool() as session:
        await field_actions.cancel_date(session, ids["summer_date"], now=later)
        await session.commit()
        data = await calendar.public_ics(
            session, name="KV Test", zone=BERLIN, domain=DOMAIN, now=later
        )
    text = data.decode()
    for private in ("Anna", "Ben", "Pavillon", "Aufbau", "Haustür-Runde", "Alter Gedenktag"):
        assert private not in text
    events = _by_uid(_events(data))
    assert not any(uid.startswith("shift-") for uid in events)
    winter = events[f"action-{ids['winter_date']}"]
    # From the first shift's start to the last one's end, in local time.
    assert winter["dtstart"].params["TZID"] == "Europe/Berlin"
    assert _start(winter) == datetime(2026, 3, 28, 9, 30, tzinfo=BERLIN)
    assert winter.decoded("dtend") == datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    assert str(winter["summary"]) == "Infostand Marktplatz"
    assert str(winter["location"]) == "Marktplatz vor dem Rathaus"
    assert str(winter["status"]) == "CONFIRMED"
    summer = events[f"action-{ids['summer_date']}"]
    assert _start(summer).astimezone(UTC) == datetime(2026, 4, 4, 7, 30, tzinfo=UTC)
    assert str(summer["status"]) == "CANCELLED"
    assert str(summer["summary"]) == "Infostand Marktplatz"
    assert summer.decoded("sequence") == 3600
    liberation = events[f"memorial-{memorials['liberation']}"]
    assert _start(liberation) == datetime(2026, 5, 8, 17, 0, tzinfo=BERLIN)
    assert str(liberation["location"]) == "Ehrenmal im Stadtpark"
    quiet = events[f"memorial-{memorials['quiet']}"]
    assert quiet.decoded("dtstart") == WINTER_SATURDAY
    assert f"memorial-{memorials['dropped']}" not in events


async def test_a_shift_is_found_only_for_who_holds_it(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    ids = await _actions(session_pool)
    async with session_pool() as session:
        mine = await calendar.member_shift(session, 10, ids["winter_main"])
        assert mine is not None
        assert mine.id == ids["winter_main"]
        assert await calendar.member_shift(session, 10, ids["winter_setup"]) is None  # Ben's
        assert await calendar.member_shift(session, 11, ids["winter_main"]) is None
        for forged in (0, -1, 999_999, 2**63):
            assert await calendar.member_shift(session, 10, forged) is None
        assert await calendar.find_memorial_date(session, 2**70) is None
