"""Recurrence rules: parsing German and English, canonical text, next dates across DST, slots."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import create_i18n
from bot.services.recurrence import (
    BIWEEKLY_NEEDS_START,
    LAST,
    Rule,
    RuleError,
    format_rule,
    local_slot,
    next_occurrence,
    occurrences,
    parse_rule,
)

BERLIN = ZoneInfo("Europe/Berlin")
NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM

THU_19 = Rule("weekly", time(19, 0), weekday=3)
EVERY_OTHER_THU = Rule("biweekly", time(19, 0), weekday=3, anchor=date(2026, 1, 8))
SECOND_THU = Rule("monthly", time(19, 0), weekday=3, ordinals=(2,))
FIRST_MON = Rule("monthly", time(18, 30), weekday=0, ordinals=(1,))
LAST_FRI = Rule("monthly", time(19, 0), weekday=4, ordinals=(LAST,))
FIRST_THIRD_TUE = Rule("monthly", time(19, 0), weekday=1, ordinals=(1, 3))
JAN_27 = Rule("yearly_date", None, month=1, day=27)
JAN_27_18 = Rule("yearly_date", time(18, 0), month=1, day=27)
SECOND_SUN_SEP = Rule("yearly_weekday", None, weekday=6, ordinals=(2,), month=9)

PARSE_CASES = [
    # weekly
    ("every Thursday 19:00", THU_19),
    ("Thursdays 19:00", THU_19),
    ("jeden Donnerstag 19:00", THU_19),
    ("donnerstags 19 Uhr", THU_19),
    ("wöchentlich donnerstags 19:00", THU_19),
    ("  EVERY   thursday    19:00  ", THU_19),
    ("jeden Donnerstag, 19:00", THU_19),
    ("19:00 every Thursday", THU_19),
    ("Do. 19 h", THU_19),
    ("every Saturday", Rule("weekly", None, weekday=5)),
    ("Sa 10:00", Rule("weekly", time(10, 0), weekday=5)),
    ("So 11 Uhr", Rule("weekly", time(11, 0), weekday=6)),
    ("Wed 18:00", Rule("weekly", time(18, 0), weekday=2)),
    ("Mi 18:00", Rule("weekly", time(18, 0), weekday=2)),
    ("Tue 18:00", Rule("weekly", time(18, 0), weekday=1)),
    ("Di 18:00", Rule("weekly", time(18, 0), weekday=1)),
    ("Fri 18:00", Rule("weekly", time(18, 0), weekday=4)),
    ("Mon 18:00", Rule("weekly", time(18, 0), weekday=0)),
    # biweekly
    ("every other Thursday 19:00 from 2026-01-08", EVERY_OTHER_THU),
    ("alle zwei Wochen donnerstags 19:00 ab 08.01.2026", EVERY_OTHER_THU),
    ("every 2 weeks on Thursday 19:00 starting 2026-01-08", EVERY_OTHER_THU),
    ("14-tägig donnerstags 19 Uhr ab 8.1.2026", EVERY_OTHER_THU),
    ("every other week from 2026-01-08 19:00", EVERY_OTHER_THU),
    # monthly nth weekday
    ("every 2nd Thursday 19:00", SECOND_THU),
    ("2nd Thursday of the month 19:00", SECOND_THU),
    ("jeden 2. Donnerstag 19 Uhr", SECOND_THU),
    ("jeden zweiten Donnerstag im Monat um 19 Uhr", SECOND_THU),
    ("first Monday of the month 18:30", FIRST_MON),
    ("jeden ersten Montag im Monat 18:30", FIRST_MON),
    ("18:30 am ersten Montag im Monat", FIRST_MON),  # German "am", not a.m.
    ("last Friday of the month 19:00", LAST_FRI),
    ("letzter Freitag im Monat 19:00", LAST_FRI),
    ("1st and 3rd Tuesday 19:00", FIRST_THIRD_TUE),
    ("jeden 1. und 3. Dienstag 19:00", FIRST_THIRD_TUE),
    ("3rd & 1st Tuesday 7pm", FIRST_THIRD_TUE),
    ("5th Monday 19:00", Rule("monthly", time(19, 0), weekday=0, ordinals=(5,))),
    (
        "1., 3. und letzter Freitag 19:00",
        Rule("monthly", time(19, 0), weekday=4, ordinals=(1, 3, LAST)),
    ),
    # yearly fixed date
    ("27.01.", JAN_27),
    ("27.1.", JAN_27),
    ("January 27", JAN_27),
    ("27 January", JAN_27),
    ("27. Januar", JAN_27),
    ("jährlich am 27. Januar", JAN_27),
    ("every year on Jan 27th", JAN_27),
    ("27.01. 18:00", JAN_27_18),
    ("08.05.", Rule("yearly_date", None, month=5, day=8)),
    ("10.11.", Rule("yearly_date", None, month=11, day=10)),
    ("29.02.", Rule("yearly_date", None, month=2, day=29)),
    ("1. März", Rule("yearly_date", None, month=3, day=1)),
    ("1. Maerz", Rule("yearly_date", None, month=3, day=1)),
    ("13. Sept.", Rule("yearly_date", None, month=9, day=13)),
    # yearly nth weekday
    ("2nd Sunday of September", SECOND_SUN_SEP),
    ("second Sunday in September", SECOND_SUN_SEP),
    ("2. Sonntag im September", SECOND_SUN_SEP),
    ("zweiter Sonntag im September", SECOND_SUN_SEP),
    ("2nd Sunday of Sep", SECOND_SUN_SEP),
    (
        "letzter Sonntag im November 15:00",
        Rule("yearly_weekday", time(15, 0), weekday=6, ordinals=(LAST,), month=11),
    ),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse(text: str, expected: Rule) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Do 19:00", time(19, 0)),
        ("Do 19.00", time(19, 0)),
        ("Do 19 Uhr", time(19, 0)),
        ("Do 19:00 Uhr", time(19, 0)),
        ("Do 19h", time(19, 0)),
        ("Do 9.30", time(9, 30)),
        ("Do 7pm", time(19, 0)),
        ("Do 7:30 pm", time(19, 30)),
        ("Do 7 p.m.", time(19, 0)),
        ("Do 10 am", time(10, 0)),
        ("Do 12am", time(0, 0)),
        ("Do 12 pm", time(12, 0)),
        ("Do 00:00", time(0, 0)),
    ],
)
def test_time_formats(text: str, expected: time) -> None:
    assert parse_rule(text).time == expected


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (THU_19, "every Thursday 19:00"),
        (EVERY_OTHER_THU, "every other Thursday 19:00 from 2026-01-08"),
        (SECOND_THU, "every 2nd Thursday of the month 19:00"),
        (FIRST_MON, "every 1st Monday of the month 18:30"),
        (LAST_FRI, "every last Friday of the month 19:00"),
        (FIRST_THIRD_TUE, "every 1st and 3rd Tuesday of the month 19:00"),
        (JAN_27, "27 January"),
        (JAN_27_18, "27 January 18:00"),
        (SECOND_SUN_SEP, "2nd Sunday of September"),
        (
            Rule("monthly", time(9, 5), weekday=4, ordinals=(LAST, 3, 1)),
            "every 1st, 3rd and last Friday of the month 09:05",
        ),
    ],
)
def test_format_rule_is_canonical_english(rule: Rule, text: str) -> None:
    assert format_rule(rule) == text


ROUND_TRIP_RULES = [
    *(rule for _, rule in PARSE_CASES),
    Rule("weekly", time(0, 0), weekday=6),
    Rule("biweekly", None, weekday=0, anchor=date(2025, 12, 29)),
    Rule("monthly", None, weekday=2, ordinals=(2, 4)),
    Rule("yearly_date", time(23, 59), month=12, day=31),
    Rule("yearly_weekday", time(11, 0), weekday=0, ordinals=(1, LAST), month=2),
]


@pytest.mark.parametrize("rule", ROUND_TRIP_RULES, ids=format_rule)
def test_round_trip(rule: Rule) -> None:
    assert parse_rule(format_rule(rule)) == rule


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty rule"),
        ("   ", "empty rule"),
        ("every Thurday 19:00", "unknown weekday 'Thurday' (did you mean 'Thursday'?)"),
        ("Donerstag 19 Uhr", "unknown weekday 'Donerstag'"),
        ("every Funday 19:00", "unknown weekday 'Funday'"),
        ("13 Septmber", "unknown month 'Septmber'"),
        ("31.02.", "impossible date '31.02.'"),
        ("27.13.", "impossible date '27.13.'"),
        ("30 February", "impossible date '30 February'"),
        ("every other Thursday 19:00 from 2026-02-30", "impossible date '2026-02-30'"),
        ("every Thursday 25:00", "time out of range '25:00'"),
        ("Do 19:60", "time out of range '19:60'"),
        ("Thursday 13pm", "time out of range '13pm'"),
        ("27.01", "write dates with a final dot"),
        ("10.11", "dates need a final dot"),
        ("6th Monday", "ordinal out of range '6th'"),
        ("sechster Montag im Monat", "ordinal out of range 'sechster'"),
        ("0. Montag", "ordinal out of range '0.'"),
        ("every other Thursday 19:00", BIWEEKLY_NEEDS_START),
        ("alle zwei Wochen donnerstags 19 Uhr", BIWEEKLY_NEEDS_START),
        ("every other Thursday from 2026-01-09", "2026-01-09' is a Friday, not a Thursday"),
        ("every 3 weeks on Thursday from 2026-01-08", "unsupported interval '3 weeks'"),
        ("2nd every other Thursday from 2026-01-08", "'2nd' must be followed by a weekday"),
        ("jeden Donnerstag ab 08.01.2026", "start date '08.01.2026' only applies to biweekly"),
        ("Thursday and Friday 19:00", "more than one weekday"),
        ("Thursday 19:00 21:00", "more than one time: '19:00' and '21:00'"),
        ("Thursday 27.01.", "'Thursday' doesn't fit a yearly date rule"),
        ("jeden Donnerstag im Monat", "'Monat' needs an ordinal"),
        ("September", "'September' needs a day or a weekday"),
        ("Sundays in September", "needs an ordinal"),
        ("jährlich donnerstags", "'jährlich' doesn't fit a weekly rule"),
        ("19:00", "no weekday or date found"),
        ("Stammtisch", "unrecognised word 'Stammtisch'"),
        ("every Thursday (pub)", "unexpected character '('"),
        ("Thursday 7", "unexpected number '7'"),
        ("last", "'last' must be followed by a weekday"),
        ("every Thursday " + "at 19:00 " * 30, "too long"),
    ],
)
def test_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text)
    assert fragment in str(caught.value)


def test_rule_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown weekday"):
        parse_rule("Thurday")


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Rule("weekly", None), "needs a weekday"),
        (lambda: Rule("weekly", time(19, 0), weekday=3, month=1), "has no month"),
        (lambda: Rule("monthly", None, weekday=3, ordinals=[]), "needs ordinals"),
        (lambda: Rule("weekly", time(19, 0), weekday=7), "weekday must be"),
        (lambda: Rule("weekly", time(19, 0, 30), weekday=3), "whole minutes"),
        (lambda: Rule("weekly", time(19, 0, tzinfo=UTC), weekday=3), "wall-clock"),
        (lambda: Rule("biweekly", None, weekday=3), "needs a start date"),
        (
            lambda: Rule("biweekly", None, weekday=3, anchor=date(2026, 1, 9)),
            "is a Friday, not a Thursday",
        ),
        (lambda: Rule("monthly", None, weekday=3, ordinals=(6,)), "ordinal out of range"),
        (lambda: Rule("yearly_date", None, month=2, day=30), "impossible date"),
        (lambda: Rule("yearly_date", None, month=13, day=1), "month must be"),
        (lambda: Rule("daily", None), "unknown rule kind"),  # type: ignore[arg-type]
    ],
)
def test_inconsistent_rules_are_refused(build: Callable[[], Rule], fragment: str) -> None:
    with pytest.raises(RuleError) as caught:
        build()
    assert fragment in str(caught.value)


def test_rules_are_immutable_and_hash_by_meaning() -> None:
    one = Rule("monthly", time(19, 0), weekday=1, ordinals=(3, LAST, 1, 3))
    other = Rule("monthly", time(19, 0), weekday=1, ordinals=(1, 3, LAST))
    assert one == other
    assert one.ordinals == (1, 3, LAST)
    assert len({one, other, parse_rule("1st, 3rd and last Tuesday 19:00")}) == 1
    assert Rule("weekly", time(2, 30, fold=1), weekday=6).time.fold == 0  # type: ignore[union-attr]
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.weekday = 2  # type: ignore[misc]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        # 19:00 in Berlin is 18:00 UTC in winter and 17:00 UTC in summer (switch 2026-03-29).
        (
            "every Thursday 19:00",
            "2026-03-20T00:00",
            ["2026-03-26T18:00", "2026-04-02T17:00", "2026-04-09T17:00"],
        ),
        # ... and back on 2026-10-25.
        (
            "donnerstags 19 Uhr",
            "2026-10-16T00:00",
            ["2026-10-22T17:00", "2026-10-29T18:00", "2026-11-05T18:00"],
        ),
        # Strictly after: an occurrence equal to `after` is not returned.
        ("every Thursday 19:00", "2026-01-08T18:00", ["2026-01-15T18:00"]),
        ("every Thursday 19:00", "2026-01-08T17:59:59", ["2026-01-08T18:00"]),
        # 2nd Thursday over the year boundary.
        (
            "jeden 2. Donnerstag 19 Uhr",
            "2025-12-01T00:00",
            ["2025-12-11T18:00", "2026-01-08T18:00", "2026-02-12T18:00"],
        ),
        (
            "last Friday of the month 19:00",
            "2026-01-01T00:00",
            ["2026-01-30T18:00", "2026-02-27T18:00", "2026-03-27T18:00", "2026-04-24T17:00"],
        ),
        # Months without a 5th Monday are skipped.
        (
            "5th Monday 19:00",
            "2026-01-01T00:00",
            ["2026-03-30T17:00", "2026-06-29T17:00", "2026-08-31T17:00"],
        ),
        (
            "1st and 3rd Tuesday 19:00",
            "2026-01-01T00:00",
            ["2026-01-06T18:00", "2026-01-20T18:00", "2026-02-03T18:00"],
        ),
        # Biweekly: from the anchor on, every 14 days, never before the anchor.
        (
            "every other Thursday 19:00 from 2026-01-08",
            "2025-12-01T00:00",
            ["2026-01-08T18:00", "2026-01-22T18:00", "2026-02-05T18:00"],
        ),
        (
            "every other Thursday 19:00 from 2026-01-08",
            "2026-01-08T18:00",
            ["2026-01-22T18:00", "2026-02-05T18:00"],
        ),
        (
            "every other Thursday 19:00 from 2026-01-08",
            "2026-03-20T00:00",
            ["2026-04-02T17:00", "2026-04-16T17:00"],
        ),
        # All-day Gedenktage occur at local midnight.
        ("27.01.", "2026-01-01T00:00", ["2026-01-26T23:00", "2027-01-26T23:00"]),
        ("27.01.", "2026-01-26T23:00", ["2027-01-26T23:00"]),
        ("27.01. 18:00", "2026-01-27T12:00", ["2026-01-27T17:00"]),
        ("08.05.", "2026-01-01T00:00", ["2026-05-07T22:00"]),
        # 29.02. only in leap years.
        ("29.02.", "2026-01-01T00:00", ["2028-02-28T23:00", "2032-02-28T23:00"]),
        ("2nd Sunday of September", "2026-01-01T00:00", ["2026-09-12T22:00", "2027-09-11T22:00"]),
        ("2. Sonntag im September 11:00", "2026-09-13T09:00", ["2027-09-12T09:00"]),
        # 02:30 doesn't exist on 2026-03-29: it moves forward by the gap to 03:30 CEST.
        ("every Sunday 02:30", "2026-03-28T00:00", ["2026-03-29T01:30", "2026-04-05T00:30"]),
        # 02:30 happens twice on 2026-10-25: the first one (CEST) counts.
        ("every Sunday 02:30", "2026-10-24T00:00", ["2026-10-25T00:30", "2026-11-01T01:30"]),
    ],
)
def test_occurrences_in_berlin(text: str, after: str, expected: list[str]) -> None:
    found = occurrences(parse_rule(text), after=_utc(after), zone=BERLIN, count=len(expected))
    assert found == [_utc(moment) for moment in expected]
    assert all(moment.tzinfo is UTC for moment in found)


def test_after_may_be_in_any_zone() -> None:
    after = datetime(2026, 1, 8, 19, 0, tzinfo=BERLIN)
    assert next_occurrence(THU_19, after=after, zone=BERLIN) == _utc("2026-01-15T18:00")


def test_other_zone() -> None:
    found = occurrences(
        THU_19, after=_utc("2026-01-01T00:00"), zone=ZoneInfo("America/New_York"), count=2
    )
    assert found == [_utc("2026-01-02T00:00"), _utc("2026-01-09T00:00")]


def test_next_occurrence_is_the_first_of_occurrences() -> None:
    after = _utc("2026-05-01T00:00")
    assert next_occurrence(SECOND_THU, after=after, zone=BERLIN) == _utc("2026-05-14T17:00")


def test_occurrences_argument_checks() -> None:
    assert occurrences(THU_19, after=_utc("2026-01-01T00:00"), zone=BERLIN, count=0) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences(THU_19, after=datetime(2026, 1, 1), zone=BERLIN)  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        occurrences(THU_19, after=_utc("2026-01-01T00:00"), zone=BERLIN, count=-1)


@pytest.mark.parametrize(
    ("moment", "slot"),
    [
        (datetime(2026, 1, 5, 18, 0, tzinfo=BERLIN), "weekday_evening"),  # Monday
        (datetime(2026, 1, 6, 10, 0, tzinfo=BERLIN), "weekday_daytime"),  # Tuesday
        (datetime(2026, 1, 10, 10, 0, tzinfo=BERLIN), "weekend"),  # Saturday
        (datetime(2026, 1, 11, 19, 0, tzinfo=BERLIN), "weekend"),  # Sunday
        (datetime(2026, 1, 5, 17, 0, tzinfo=BERLIN), "weekday_evening"),
        (datetime(2026, 1, 5, 16, 59, tzinfo=BERLIN), "weekday_daytime"),
        # 16:30 UTC is 18:30 in Berlin in summer: the zone decides, not UTC.
        (datetime(2026, 6, 1, 16, 30, tzinfo=UTC), "weekday_evening"),
        # Friday 23:30 UTC is already Saturday in Berlin.
        (datetime(2026, 1, 9, 23, 30, tzinfo=UTC), "weekend"),
    ],
)
def test_local_slot(moment: datetime, slot: str) -> None:
    assert local_slot(moment, BERLIN) == slot


def test_local_slot_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_slot(datetime(2026, 1, 5, 18, 0), BERLIN)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("text", "german"),
    [
        ("every Thurday 19:00", "unbekannter Wochentag 'Thurday' (vielleicht 'Thursday'?)"),
        (
            "every other Thursday from 2026-01-09",
            "Startdatum '2026-01-09' ist ein Freitag, kein Donnerstag",
        ),
        ("Thursday 27.01.", "'Thursday' passt nicht zu einer jährlichen Regel mit festem Datum"),
        ("Thursday 19:00 21:00", "mehr als eine Uhrzeit: '19:00' und '21:00'"),
        ("every Thursday " + "at 19:00 " * 30, "Regel ist zu lang (284 Zeichen, höchstens 200)"),
    ],
)
def test_parse_errors_speak_the_active_locale(text: str, german: str) -> None:
    """Under a German i18n context (the bot's, or the CLI's) the reason is German; under an
    English one it is what it is without any context."""
    with pytest.raises(RuleError) as caught:
        parse_rule(text)
    english = str(caught.value)
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("de"), pytest.raises(RuleError) as caught:
        parse_rule(text)
    assert str(caught.value) == german
    with i18n.context(), i18n.use_locale("en"), pytest.raises(RuleError) as caught:
        parse_rule(text)
    assert str(caught.value) == english != german


def test_rule_checks_speak_the_active_locale() -> None:
    i18n = create_i18n("de")
    with i18n.context(), pytest.raises(RuleError) as caught:
        Rule("biweekly", None, weekday=3, anchor=date(2026, 1, 9))
    assert str(caught.value) == "Startdatum 2026-01-09 ist ein Freitag, kein Donnerstag"
