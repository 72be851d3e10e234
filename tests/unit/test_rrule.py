"""Rules as RFC 5545 text expanded by python-dateutil: to_rrule, check_rrule, expand.

The strongest check is the comparison with the engine this replaced (reference_occurrences):
the same dates for every kind of rule, over twenty years, in two zones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from bot.i18n import create_i18n
from bot.services.recurrence import (
    LAST,
    Rule,
    RuleError,
    check_rrule,
    expand,
    next_occurrence,
    occurrences,
    occurrences_between,
    parse_rule,
    to_rrule,
)
from tests.unit import reference_occurrences as reference

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


# ---------------------------------------------------------------------------------------------
# to_rrule


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (
            Rule("weekly", time(19, 0), weekday=3),
            "RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=19;BYMINUTE=0;BYSECOND=0",
        ),
        (
            Rule("weekly", None, weekday=6),
            "RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
        ),
        (
            Rule("biweekly", time(19, 0), weekday=3, anchor=date(2026, 1, 8)),
            "DTSTART:20260108T190000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
        ),
        (
            Rule("biweekly", None, weekday=0, anchor=date(2026, 1, 5)),
            "DTSTART:20260105T000000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        ),
        (
            Rule("monthly", time(19, 0), weekday=3, ordinals=(2,)),
            "RRULE:FREQ=MONTHLY;BYDAY=2TH;BYHOUR=19;BYMINUTE=0;BYSECOND=0",
        ),
        (
            Rule("monthly", time(19, 30), weekday=4, ordinals=(LAST,)),
            "RRULE:FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=19;BYMINUTE=30;BYSECOND=0",
        ),
        (
            Rule("monthly", time(19, 0), weekday=1, ordinals=(3, 1)),
            "RRULE:FREQ=MONTHLY;BYDAY=1TU,3TU;BYHOUR=19;BYMINUTE=0;BYSECOND=0",
        ),
        (
            Rule("monthly", time(0, 30), weekday=2, ordinals=(LAST, 5, 1)),
            "RRULE:FREQ=MONTHLY;BYDAY=1WE,5WE,-1WE;BYHOUR=0;BYMINUTE=30;BYSECOND=0",
        ),
        (
            Rule("yearly_date", None, month=2, day=29),
            "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
        ),
        (
            Rule("yearly_date", time(18, 0), month=5, day=8),
            "RRULE:FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=8;BYHOUR=18;BYMINUTE=0;BYSECOND=0",
        ),
        (
            Rule("yearly_weekday", None, weekday=6, ordinals=(2,), month=9),
            "RRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=2SU;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
        ),
        (
            Rule("yearly_weekday", time(23, 30), weekday=0, ordinals=(1, LAST), month=1),
            "RRULE:FREQ=YEARLY;BYMONTH=1;BYDAY=1MO,-1MO;BYHOUR=23;BYMINUTE=30;BYSECOND=0",
        ),
    ],
)
def test_to_rrule(rule: Rule, text: str) -> None:
    assert to_rrule(rule) == text
    check_rrule(text)


# A table of rules covering every kind: ordinals including 5th and last, several ordinals,
# 29.02., all-day, biweekly anchors before, inside and after the compared years, and times at
# 00:30, 02:30 (in the spring gap and the autumn overlap) and 23:30; several fall exactly on
# the days Berlin or New York switch.
TABLE = [
    "every Thursday 19:00",
    "every Sunday 02:30",
    "every Monday 00:30",
    "every Saturday 23:30",
    "every Wednesday",
    "every other Thursday 19:00 from 2026-01-08",
    "every other Sunday 02:30 from 2019-03-31",
    "every other Monday from 2035-06-04",
    "every other Saturday 23:30 from 2015-10-24",
    "every other Sunday 01:30 from 2021-11-07",
    "2nd Thursday 19:00",
    "last Friday 19:00",
    "5th Monday 19:00",
    "1st and 3rd Tuesday 19:00",
    "5th and last Sunday 02:30",
    "1st, 2nd, 3rd, 4th, 5th and last Wednesday 00:30",
    "last Sunday of the month 02:30",
    "27.01.",
    "29.02.",
    "29.02. 23:30",
    "31.03. 02:30",
    "08.05. 18:00",
    "25.10. 02:30",
    "2nd Sunday of September",
    "last Sunday of March 02:30",
    "last Sunday of October 02:30",
    "1st Sunday of November 01:30",
    "2nd Sunday of March 02:30",
    "5th Friday of December 19:00",
    "1st and last Monday of January 00:30",
]
START = _utc("2020-01-01T00:00")
END = _utc("2040-01-01T00:00")


def _reference_between(
    rule: Rule, zone: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    found = reference.occurrences(rule, after=start, zone=zone, count=2000)
    assert found[-1] > end  # enough asked for
    return [moment for moment in found if moment <= end]


def _switches(zone: ZoneInfo) -> list[datetime]:
    """The instants zone changes its offset between START and END (found hour by hour)."""
    found = []
    moment = START
    while moment < END:
        following = moment + timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            found.append(following)
        moment = following
    return found


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK], ids=["Berlin", "New_York"])
@pytest.mark.parametrize("text", TABLE)
def test_expansion_equals_the_old_engine(text: str, zone: ZoneInfo) -> None:
    rule = parse_rule(text)
    expected = _reference_between(rule, zone, START, END)
    assert expand(to_rrule(rule), zone=zone, start=START, end=END) == expected
    assert occurrences(rule, after=START, zone=zone, count=len(expected)) == expected


# Every 53 days and around every switch: `after` lands on all weekdays and times of day, and
# exactly on, just before and just after the instants the offset changes.
@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK], ids=["Berlin", "New_York"])
def test_occurrences_after_any_moment_equal_the_old_engine(zone: ZoneInfo) -> None:
    moments = [START + timedelta(days=53 * n, hours=7 * n) for n in range(138)]
    for switch in _switches(zone)[::3]:
        moments += [switch + timedelta(minutes=m) for m in (-61, -30, 0, 30, 60)]
    for text in TABLE:
        rule = parse_rule(text)
        for after in moments:
            expected = reference.occurrences(rule, after=after, zone=zone, count=3)
            assert occurrences(rule, after=after, zone=zone, count=3) == expected, (text, after)


@pytest.mark.parametrize("text", ["every other Thursday 19:00 from 1990-01-04", "27.01. 18:00"])
def test_far_from_the_anchor_and_at_the_end_of_the_calendar(text: str) -> None:
    rule = parse_rule(text)
    for after in (_utc("2040-06-01T00:00"), _utc("9999-12-01T00:00")):
        expected = reference.occurrences(rule, after=after, zone=BERLIN, count=5)
        assert occurrences(rule, after=after, zone=BERLIN, count=5) == expected
    # The calendar ends: fewer than asked for.
    assert len(occurrences(rule, after=_utc("9999-12-01T00:00"), zone=BERLIN, count=5)) < 5


def test_a_day_the_zone_skips() -> None:
    """Samoa skipped Friday 2011-12-30 (UTC-10 to UTC+14): that Friday's 19:00 comes out on
    Saturday, a whole day later, and is still found from Saturday morning."""
    apia = ZoneInfo("Pacific/Apia")
    rule = parse_rule("every Friday 19:00")
    after = datetime(2011, 12, 31, 10, 0, tzinfo=apia)
    expected = reference.occurrences(rule, after=after, zone=apia, count=2)
    assert expected[0] == _utc("2011-12-31T05:00")  # Saturday 19:00 in Apia
    assert occurrences(rule, after=after, zone=apia, count=2) == expected


def test_moving_an_old_dtstart_forward_keeps_every_date() -> None:
    """Anchored weekly rules are expanded from a DTSTART moved near the window; with two days
    a fortnight, both must survive the move."""
    text = "DTSTART:20000103T190000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"
    start, end = _utc("2026-01-01T00:00"), _utc("2027-01-01T00:00")
    floating = rrulestr(text).between(
        datetime(2025, 12, 1),  # noqa: DTZ001
        datetime(2027, 2, 1),  # noqa: DTZ001
    )
    expected = [
        moment.replace(tzinfo=BERLIN).astimezone(UTC)
        for moment in floating
        if start < moment.replace(tzinfo=BERLIN) <= end
    ]
    assert len(expected) == 53
    assert expand(text, zone=BERLIN, start=start, end=end) == expected
    for n in range(0, 365, 5):
        after = start + timedelta(days=n, hours=n % 24)
        following = [moment for moment in expected if moment > after][:2]
        assert expand(text, zone=BERLIN, start=after, end=end)[:2] == following


# ---------------------------------------------------------------------------------------------
# Daylight saving time


WEEKDAYS_19 = [Rule("weekly", time(19, 0), weekday=day) for day in range(7)]
DAILY_19 = "RRULE:FREQ=DAILY;BYHOUR=19;BYMINUTE=0;BYSECOND=0"


def _week(rules: list[str], start: str, end: str) -> list[datetime]:
    found = [
        moment
        for text in rules
        for moment in expand(text, zone=BERLIN, start=_berlin(start), end=_berlin(end))
    ]
    return sorted(found)


def test_a_week_of_meetings_across_the_spring_switch() -> None:
    """Berlin moves from UTC+1 to UTC+2 at 02:00 on Sunday 2026-03-29."""
    week = _week([to_rrule(rule) for rule in WEEKDAYS_19], "2026-03-25T00:00", "2026-04-01T00:00")
    assert [moment.astimezone(BERLIN).time() for moment in week] == [time(19, 0)] * 7
    assert [moment.astimezone(BERLIN).date() for moment in week] == [
        date(2026, 3, 25) + timedelta(days=n) for n in range(7)
    ]
    assert week == [
        _utc("2026-03-25T18:00"),
        _utc("2026-03-26T18:00"),
        _utc("2026-03-27T18:00"),
        _utc("2026-03-28T18:00"),
        _utc("2026-03-29T17:00"),
        _utc("2026-03-30T17:00"),
        _utc("2026-03-31T17:00"),
    ]
    # One daily rule says the same as the seven weekly ones.
    assert _week([DAILY_19], "2026-03-25T00:00", "2026-04-01T00:00") == week
    # 02:30 doesn't exist on the switch day: the meeting moves forward by the gap, to 03:30.
    nights = _week(
        ["RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0"],
        "2026-03-27T00:00",
        "2026-03-31T00:00",
    )
    assert [moment.astimezone(BERLIN).isoformat() for moment in nights] == [
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    sunday = expand(
        to_rrule(parse_rule("every Sunday 02:30")),
        zone=BERLIN,
        start=_berlin("2026-03-28T00:00"),
        end=_berlin("2026-03-30T00:00"),
    )
    assert sunday == [_utc("2026-03-29T01:30")]


def test_a_week_of_meetings_across_the_autumn_switch() -> None:
    """Berlin moves from UTC+2 back to UTC+1 at 03:00 on Sunday 2026-10-25."""
    week = _week([to_rrule(rule) for rule in WEEKDAYS_19], "2026-10-21T00:00", "2026-10-28T00:00")
    assert [moment.astimezone(BERLIN).time() for moment in week] == [time(19, 0)] * 7
    assert week == [
        _utc("2026-10-21T17:00"),
        _utc("2026-10-22T17:00"),
        _utc("2026-10-23T17:00"),
        _utc("2026-10-24T17:00"),
        _utc("2026-10-25T18:00"),
        _utc("2026-10-26T18:00"),
        _utc("2026-10-27T18:00"),
    ]
    assert _week([DAILY_19], "2026-10-21T00:00", "2026-10-28T00:00") == week
    # 02:30 happens twice on the switch day: the meeting is the first one, in summer time.
    nights = _week(
        ["RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0"],
        "2026-10-24T00:00",
        "2026-10-27T00:00",
    )
    assert [moment.astimezone(BERLIN).isoformat() for moment in nights] == [
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]
    # All-day dates are local midnight, before and after the switch.
    days = _week(["RRULE:FREQ=DAILY"], "2026-10-24T00:00", "2026-10-27T00:00")
    assert days == [_utc("2026-10-24T22:00"), _utc("2026-10-25T23:00"), _utc("2026-10-26T23:00")]


# ---------------------------------------------------------------------------------------------
# Round trip through dateutil, bounds, EXDATE


def _parts(rrule_line: str) -> dict[str, set[str]]:
    """RRULE:A=1;B=x,y -> {"A": {"1"}, "B": {"x", "y"}}, ordinals unsigned (+2TH is 2TH)."""
    pairs = (part.split("=") for part in rrule_line.removeprefix("RRULE:").split(";"))
    return {name: set(value.replace("+", "").split(",")) for name, value in pairs}


@pytest.mark.parametrize("text", TABLE)
def test_round_trip_through_rrulestr(text: str) -> None:
    ours = to_rrule(parse_rule(text))
    parsed = rrulestr(ours, dtstart=datetime(2026, 1, 1))  # noqa: DTZ001 - floating
    # dateutil writes the same RRULE back, in its own order and with signed ordinals.
    written = str(parsed)
    assert _parts(written.splitlines()[-1]) == _parts(ours.splitlines()[-1])
    if ours.startswith("DTSTART"):
        assert written == ours
    again = rrulestr(written)
    assert list(again[:50]) == list(parsed[:50])  # type: ignore[index]


THU = to_rrule(Rule("weekly", time(19, 0), weekday=3))


def test_expand_is_open_at_start_and_closed_at_end() -> None:
    first, second, third = (
        _utc("2026-01-08T18:00"),
        _utc("2026-01-15T18:00"),
        _utc("2026-01-22T18:00"),
    )
    assert expand(THU, zone=BERLIN, start=first, end=third) == [second, third]
    assert expand(THU, zone=BERLIN, start=first - timedelta(seconds=1), end=second) == [
        first,
        second,
    ]
    assert expand(THU, zone=BERLIN, start=first, end=third - timedelta(seconds=1)) == [second]
    # Consecutive windows count every date once.
    bounds = [_utc("2026-01-01T00:00"), second, _utc("2026-02-01T00:00")]
    halves = [expand(THU, zone=BERLIN, start=a, end=b) for a, b in pairwise(bounds)]
    assert halves[0] + halves[1] == expand(THU, zone=BERLIN, start=bounds[0], end=bounds[2])
    assert expand(THU, zone=BERLIN, start=third, end=first) == []
    assert expand(THU, zone=BERLIN, start=first, end=first) == []
    # Bounds in any zone.
    assert expand(
        THU, zone=BERLIN, start=_berlin("2026-01-08T19:00"), end=_berlin("2026-01-15T19:00")
    ) == [second]
    assert all(moment.tzinfo is UTC for moment in expand(THU, zone=BERLIN, start=first, end=third))


def test_expand_needs_aware_bounds() -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        expand(THU, zone=BERLIN, start=naive, end=_utc("2026-02-01T00:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        expand(THU, zone=BERLIN, start=_utc("2026-01-01T00:00"), end=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        expand(THU, zone=BERLIN, start=START, end=END, exdates=[naive])


def test_exdate_removes_one_occurrence() -> None:
    start, end = _utc("2026-01-01T00:00"), _utc("2026-01-31T00:00")
    all_dates = expand(THU, zone=BERLIN, start=start, end=end)
    assert len(all_dates) == 5
    cancelled = all_dates[2]
    assert expand(THU, zone=BERLIN, start=start, end=end, exdates=[cancelled]) == [
        moment for moment in all_dates if moment != cancelled
    ]
    # The same instant in the KV's zone, or in any other.
    for same in (cancelled.astimezone(BERLIN), cancelled.astimezone(NEW_YORK)):
        assert cancelled not in expand(THU, zone=BERLIN, start=start, end=end, exdates=[same])
    # An instant that is no occurrence removes nothing.
    not_one = cancelled + timedelta(minutes=1)
    assert expand(THU, zone=BERLIN, start=start, end=end, exdates=[not_one]) == all_dates


def test_exdate_in_the_text_removes_one_occurrence() -> None:
    text = "DTSTART:20260108T190000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH\nEXDATE:20260122T190000"
    found = expand(text, zone=BERLIN, start=_utc("2026-01-01T00:00"), end=_utc("2026-02-28T00:00"))
    assert found == [_utc("2026-01-08T18:00"), _utc("2026-02-05T18:00"), _utc("2026-02-19T18:00")]


def test_exdate_on_the_switch_days() -> None:
    sunday = to_rrule(parse_rule("every Sunday 02:30"))
    # Spring: the 02:30 meeting happens at 03:30 CEST (01:30 UTC); cancelling that instant
    # cancels it, though its floating value is 02:30.
    spring = {"start": _utc("2026-03-28T00:00"), "end": _utc("2026-04-06T00:00")}
    assert expand(sunday, zone=BERLIN, **spring) == [
        _utc("2026-03-29T01:30"),
        _utc("2026-04-05T00:30"),
    ]
    assert expand(sunday, zone=BERLIN, exdates=[_utc("2026-03-29T01:30")], **spring) == [
        _utc("2026-04-05T00:30")
    ]
    # Autumn: the meeting is the first 02:30 (00:30 UTC); the second 02:30 is no meeting.
    autumn = {"start": _utc("2026-10-24T00:00"), "end": _utc("2026-10-26T00:00")}
    assert expand(sunday, zone=BERLIN, exdates=[_utc("2026-10-25T01:30")], **autumn) == [
        _utc("2026-10-25T00:30")
    ]
    assert expand(sunday, zone=BERLIN, exdates=[_utc("2026-10-25T00:30")], **autumn) == []


def test_occurrences_between_takes_a_rule_or_its_text() -> None:
    rule = parse_rule("jeden 2. Donnerstag 19 Uhr")
    window = {"zone": BERLIN, "start": START, "end": _utc("2021-01-01T00:00")}
    by_rule = occurrences_between(rule, **window)
    assert len(by_rule) == 12
    assert by_rule == occurrences_between(to_rrule(rule), **window)
    assert by_rule[1:] == occurrences_between(rule, exdates=[by_rule[0]], **window)


def test_next_occurrence_still_reads_the_rule() -> None:
    rule = parse_rule("every other Thursday 19:00 from 2026-01-08")
    after = _utc("2026-01-08T18:00")
    assert next_occurrence(rule, after=after, zone=BERLIN) == _utc("2026-01-22T18:00")


# ---------------------------------------------------------------------------------------------
# check_rrule


@pytest.mark.parametrize(
    "text",
    [
        "RRULE:FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=19;BYMINUTE=0",  # a bare RRULE value
        "rrule:freq=monthly;byday=-1fr",
        "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",  # only every 28 years
        "DTSTART:20260108T190000\nRRULE:FREQ=WEEKLY;COUNT=3",
        "DTSTART;VALUE=DATE:20260108\nRRULE:FREQ=MONTHLY;INTERVAL=3",
        "RRULE:FREQ=WEEKLY;BYDAY=TH\nRRULE:FREQ=MONTHLY;BYDAY=1MO\nEXDATE:20260105T000000",
        "RDATE:20260108T190000",
    ],
)
def test_check_rrule_accepts(text: str) -> None:
    check_rrule(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty recurrence rule"),
        ("   ", "empty recurrence rule"),
        ("every Thursday", "unreadable recurrence rule"),
        ("RRULE:FREQ=WEEKLY;BYDAY=XX", "invalid 'BYDAY'"),
        ("RRULE:BYDAY=TH", "unreadable recurrence rule"),
        ("RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=25", "hour must be in 0..23"),
        ("RRULE:FREQ=DAILY;INTERVAL=0", "INTERVAL must be at least 1"),
        ("RRULE:FREQ=DAILY\nEXRULE:FREQ=WEEKLY;BYDAY=MO", "EXRULE is not supported"),
        ("RRULE:FREQ=HOURLY", "more often than daily"),
        ("RRULE:FREQ=SECONDLY;BYDAY=MO", "more often than daily"),
        ("DTSTART;TZID=Europe/Berlin:20260108T190000\nRRULE:FREQ=WEEKLY", "floating"),
        ("DTSTART:20260108T180000Z\nRRULE:FREQ=WEEKLY", "floating"),
        ("RRULE:FREQ=DAILY\nEXDATE:20260108T180000Z", "floating"),
        ("DTSTART:2026-01-08T19:00\nRRULE:FREQ=WEEKLY", "floating"),
        ("RRULE:FREQ=DAILY;UNTIL=20270101T000000Z", "UNTIL"),
        ("RRULE:FREQ=WEEKLY", "no DTSTART"),
        ("RRULE:FREQ=MONTHLY;BYHOUR=19", "no DTSTART"),
        ("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "no DTSTART"),
        ("RRULE:FREQ=DAILY;COUNT=10", "no DTSTART"),
        ("RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never occurs"),
        ("RRULE:FREQ=YEARLY;BYMONTH=13;BYMONTHDAY=1", "never occurs"),
        ("DTSTART:20260108T190000\nRRULE:FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "never occurs"),
        ("RRULE:FREQ=DAILY;" + "BYHOUR=1;" * 200, "too long"),
    ],
)
def test_check_rrule_refuses(text: str, fragment: str) -> None:
    with pytest.raises(RuleError, match=r"recurrence rule|too long") as caught:
        check_rrule(text)
    assert fragment in str(caught.value)
    # expand() checks too, before it expands anything.
    with pytest.raises(RuleError):
        expand(text, zone=BERLIN, start=START, end=END)


def test_check_rrule_speaks_the_active_locale() -> None:
    i18n = create_i18n("de")
    with i18n.context(), pytest.raises(RuleError) as caught:
        check_rrule("RRULE:FREQ=HOURLY")
    assert (
        str(caught.value)
        == "Wiederholungsregel 'RRULE:FREQ=HOURLY' wiederholt sich öfter als täglich"
    )
