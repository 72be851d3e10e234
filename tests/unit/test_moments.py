"""Single dates and times as hosts type them: parse_moment, parse_day, parse_period.

The clock is fixed: Tuesday 1 December 2026, 12:00 in Berlin. The 2027 DST switches in Berlin
are on 28 March (02:00 -> 03:00) and 31 October (03:00 -> 02:00).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import create_i18n
from bot.services.recurrence import (
    MAX_MOMENT_LENGTH,
    MomentError,
    RuleError,
    format_day_example,
    format_moment_example,
    format_period_example,
    parse_day,
    parse_moment,
    parse_period,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN)  # a Tuesday
TODAY = NOW.date()


def _berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


THU_19 = _berlin(2026, 12, 3, 19, 0)
MAR_12 = _berlin(2027, 3, 12, 18, 30)
TOMORROW_19 = _berlin(2026, 12, 2, 19, 0)
TODAY_20 = _berlin(2026, 12, 1, 20, 0)

MOMENTS = [
    # the next such weekday
    ("Do 19:00", THU_19),
    ("Donnerstag 19 Uhr", THU_19),
    ("do 19h", THU_19),
    ("Thu 7pm", THU_19),
    ("Thursday 19:00", THU_19),
    ("Do. 19:00 Uhr", THU_19),
    ("DONNERSTAG 19.00", THU_19),
    ("nächsten Donnerstag um 19 Uhr", THU_19),
    ("next Thursday at 7 pm", THU_19),
    ("Donnerstag Abend 19 Uhr", THU_19),
    ("19:00 Do", THU_19),
    # today's weekday: today while the time is ahead, else next week
    ("Di 13:00", _berlin(2026, 12, 1, 13, 0)),
    ("Di 11:00", _berlin(2026, 12, 8, 11, 0)),
    ("Tuesday 12:00", _berlin(2026, 12, 8, 12, 0)),  # strictly after now
    # dates
    ("12.3. 18:30", MAR_12),
    ("12.03. 18:30", MAR_12),
    ("12.3.2027 18:30", MAR_12),
    ("12.3.27 18:30", MAR_12),
    ("2027-03-12 18:30", MAR_12),
    ("12. März 18:30", MAR_12),
    ("12. Maerz 2027, 18:30 Uhr", MAR_12),
    ("12 March 18:30", MAR_12),
    ("March 12 6:30pm", MAR_12),
    ("March 12th, 2027 6:30 p.m.", MAR_12),
    ("12th of March 18:30", MAR_12),
    ("am 12.3. um 18:30", MAR_12),
    ("Fr, 12.3., 18:30", MAR_12),
    ("18:30 12.3.", MAR_12),
    # a date without a year: this year from today on, else next year
    ("1.12. 13:00", _berlin(2026, 12, 1, 13, 0)),
    ("24.12. 18:00", _berlin(2026, 12, 24, 18, 0)),
    ("5.1. 19:00", _berlin(2027, 1, 5, 19, 0)),
    ("30.11. 19:00", _berlin(2027, 11, 30, 19, 0)),
    ("29.2. 19:00", _berlin(2028, 2, 29, 19, 0)),
    # days relative to today
    ("morgen 19 Uhr", TOMORROW_19),
    ("Morgen Abend 19 Uhr", TOMORROW_19),
    ("tomorrow 19:00", TOMORROW_19),
    ("19:00 morgen", TOMORROW_19),
    ("morgen, Mittwoch, 19 Uhr", TOMORROW_19),
    ("heute 20:00", TODAY_20),
    ("today 8pm", TODAY_20),
    ("tonight 8 pm", TODAY_20),
    ("heute 12:01", _berlin(2026, 12, 1, 12, 1)),
    ("übermorgen 18 Uhr", _berlin(2026, 12, 3, 18, 0)),
    ("Übermorgen 18 Uhr", _berlin(2026, 12, 3, 18, 0)),
    ("the day after tomorrow 6pm", _berlin(2026, 12, 3, 18, 0)),
    # the limit: two years from today
    ("1.12.2028 19:00", _berlin(2028, 12, 1, 19, 0)),
]


@pytest.mark.parametrize(("text", "expected"), MOMENTS)
def test_parse_moment_reads_german_and_english(text: str, expected: datetime) -> None:
    moment = parse_moment(text, now=NOW, zone=BERLIN)
    assert moment.tzinfo is UTC
    assert moment == expected


def test_parse_moment_is_the_same_from_any_zone_of_now() -> None:
    now_utc = NOW.astimezone(UTC)
    assert parse_moment("Do 19:00", now=now_utc, zone=BERLIN) == datetime(
        2026, 12, 3, 18, 0, tzinfo=UTC
    )


def test_parse_moment_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_moment("Do 19:00", now=NOW.replace(tzinfo=None), zone=BERLIN)


def test_year_rollover() -> None:
    """Typed on 1 December, "5.1." is next January, and a period spans the new year."""
    assert parse_moment("5.1. 19:00", now=NOW, zone=BERLIN) == _berlin(2027, 1, 5, 19)
    assert parse_day("5.1.", today=TODAY) == date(2027, 1, 5)
    assert parse_period("1.12.-15.1.", today=TODAY) == (date(2026, 12, 1), date(2027, 1, 15))
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=BERLIN)
    assert parse_moment("morgen 0:30", now=new_year, zone=BERLIN) == _berlin(2027, 1, 1, 0, 30)


def test_weekday_today_with_the_time_past_is_next_week() -> None:
    assert parse_moment("Di 11:59", now=NOW, zone=BERLIN) == _berlin(2026, 12, 8, 11, 59)
    assert parse_moment("Di 12:01", now=NOW, zone=BERLIN) == _berlin(2026, 12, 1, 12, 1)


# ---------------------------------------------------------------------------------------------
# Daylight saving time


SPRING_2027 = datetime(2027, 3, 22, 12, 0, tzinfo=BERLIN)  # the Monday before 28 March
AUTUMN_2027 = datetime(2027, 10, 25, 12, 0, tzinfo=BERLIN)  # the Monday before 31 October


@pytest.mark.parametrize("text", ["28.3.2027 02:30", "28.3. 02:00", "So 02:59", "Sunday 2:30am"])
def test_a_time_the_clocks_skip_is_refused(text: str) -> None:
    with pytest.raises(MomentError) as caught:
        parse_moment(text, now=SPRING_2027, zone=BERLIN)
    assert caught.value.reason == "nonexistent"
    assert "Europe/Berlin" in str(caught.value)
    assert "02:00 to 03:00" in str(caught.value)


def test_times_around_the_spring_gap_are_read() -> None:
    before = parse_moment("28.3. 01:59", now=SPRING_2027, zone=BERLIN)
    after = parse_moment("28.3. 03:00", now=SPRING_2027, zone=BERLIN)
    assert before == datetime(2027, 3, 28, 0, 59, tzinfo=UTC)  # CET, +1
    assert after == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # CEST, +2


@pytest.mark.parametrize("text", ["31.10.2027 02:30", "So 02:30", "Sunday 2:30am"])
def test_an_ambiguous_time_is_its_first_occurrence(text: str) -> None:
    moment = parse_moment(text, now=AUTUMN_2027, zone=BERLIN)
    assert moment == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # still CEST, +2
    assert moment.astimezone(BERLIN).fold == 0


def test_the_gap_is_named_for_the_zone() -> None:
    """Lord Howe Island moves its clocks by half an hour."""
    with pytest.raises(MomentError) as caught:
        parse_moment(
            "3.10.2027 02:15",
            now=datetime(2027, 9, 1, tzinfo=UTC),
            zone=ZoneInfo("Australia/Lord_Howe"),
        )
    assert str(caught.value) == (
        "03.10.2027 02:15 doesn't exist in Australia/Lord_Howe: "
        "the clocks jump from 02:00 to 02:30 that night"
    )


# ---------------------------------------------------------------------------------------------
# parse_day and parse_period

DAYS = [
    ("12.3.", date(2027, 3, 12)),
    ("12.03.2027", date(2027, 3, 12)),
    ("2027-03-12", date(2027, 3, 12)),
    ("March 12", date(2027, 3, 12)),
    ("12. März", date(2027, 3, 12)),
    ("Fr 12.3.", date(2027, 3, 12)),
    ("morgen", date(2026, 12, 2)),
    ("heute", TODAY),
    ("übermorgen", date(2026, 12, 3)),
    ("tomorrow", date(2026, 12, 2)),
    ("Mo", date(2026, 12, 7)),
    ("Di", TODAY),  # today is a Tuesday: no time to have passed
    ("Sunday", date(2026, 12, 6)),
    ("1.12.", TODAY),
    ("30.11.", date(2027, 11, 30)),
    ("5.1.", date(2027, 1, 5)),
    ("1.12.2028", date(2028, 12, 1)),
]


@pytest.mark.parametrize(("text", "expected"), DAYS)
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text, today=TODAY) == expected


PERIODS = [
    ("1.7.-31.8.", (date(2027, 7, 1), date(2027, 8, 31))),
    ("1.7. - 31.8.2027", (date(2027, 7, 1), date(2027, 8, 31))),
    ("1.7.–31.8.", (date(2027, 7, 1), date(2027, 8, 31))),
    ("vom 1.7. bis 31.8.", (date(2027, 7, 1), date(2027, 8, 31))),
    ("from July 1 to August 31", (date(2027, 7, 1), date(2027, 8, 31))),
    ("July 1 until August 31, 2027", (date(2027, 7, 1), date(2027, 8, 31))),
    ("2027-07-01 to 2027-08-31", (date(2027, 7, 1), date(2027, 8, 31))),
    ("2027-07-01 - 2027-08-31", (date(2027, 7, 1), date(2027, 8, 31))),
    ("1.7.2027 bis 31.8.", (date(2027, 7, 1), date(2027, 8, 31))),
    ("1.12.-15.1.", (date(2026, 12, 1), date(2027, 1, 15))),
    ("1.12.2026 - 15.1.", (date(2026, 12, 1), date(2027, 1, 15))),
    ("20.12.-6.1.2027", (date(2026, 12, 20), date(2027, 1, 6))),
    ("heute bis Freitag", (TODAY, date(2026, 12, 4))),
    ("morgen - 3.12.", (date(2026, 12, 2), date(2026, 12, 3))),
    ("bis 31.12.", (TODAY, date(2026, 12, 31))),
    ("24.12.", (date(2026, 12, 24), date(2026, 12, 24))),
    ("24.12.-24.12.", (date(2026, 12, 24), date(2026, 12, 24))),
]


@pytest.mark.parametrize(("text", "expected"), PERIODS)
def test_parse_period(text: str, expected: tuple[date, date]) -> None:
    assert parse_period(text, today=TODAY) == expected


def test_a_pause_under_way_keeps_its_start() -> None:
    """Typed in mid-July, "1.7.-31.8." is this summer, not next."""
    summer = date(2027, 7, 15)
    assert parse_period("1.7.-31.8.", today=summer) == (date(2027, 7, 1), date(2027, 8, 31))
    assert parse_period("1.7.-31.8.", today=date(2027, 9, 1)) == (
        date(2028, 7, 1),
        date(2028, 8, 31),
    )


# ---------------------------------------------------------------------------------------------
# Refusals: every reason, in English and German

M = "moment"
D = "day"
P = "period"
EXAMPLES_EN = "Thu 19:00 · 12.3. 18:30 · tomorrow 7pm"
EXAMPLES_DE = "Do 19:00 · 12.3. 18:30 · morgen 19 Uhr"
PERIOD_EN = "1.7.-31.8. · from July 1 to August 31"
PERIOD_DE = "1.7.-31.8. · vom 1.7. bis 31.8."

REFUSALS = [
    (
        M,
        "",
        "empty",
        f"Nothing given. Write e.g. {EXAMPLES_EN}",
        f"Nichts angegeben. Schreibe z. B. {EXAMPLES_DE}",
    ),
    (
        D,
        "   ",
        "empty",
        "Nothing given. Write e.g. 12.3. · Mon · tomorrow",
        "Nichts angegeben. Schreibe z. B. 12.3. · Mo · morgen",
    ),
    (
        P,
        "",
        "empty",
        f"Nothing given. Write e.g. {PERIOD_EN}",
        f"Nichts angegeben. Schreibe z. B. {PERIOD_DE}",
    ),
    (
        M,
        "x" * (MAX_MOMENT_LENGTH + 1),
        "too_long",
        "Too long: 101 characters (at most 100)",
        "Zu lang: 101 Zeichen (höchstens 100)",
    ),
    (
        M,
        "Donnerstg 19:00",
        "unreadable",
        "Can't read that: unknown weekday 'Donnerstg' (did you mean 'Donnerstag'?)."
        f" Write e.g. {EXAMPLES_EN}",
        "Das kann ich nicht lesen: unbekannter Wochentag 'Donnerstg' (vielleicht 'Donnerstag'?)."
        f" Schreibe z. B. {EXAMPLES_DE}",
    ),
    (
        M,
        "morgn 19 Uhr",
        "unreadable",
        "Can't read that: unrecognised word 'morgn' (did you mean 'morgen'?)."
        f" Write e.g. {EXAMPLES_EN}",
        "Das kann ich nicht lesen: unbekanntes Wort 'morgn' (vielleicht 'morgen'?)."
        f" Schreibe z. B. {EXAMPLES_DE}",
    ),
    (
        M,
        "25:00 morgen",
        "unreadable",
        f"Can't read that: time out of range '25:00'. Write e.g. {EXAMPLES_EN}",
        f"Das kann ich nicht lesen: ungültige Uhrzeit '25:00'. Schreibe z. B. {EXAMPLES_DE}",
    ),
    (
        M,
        "Do 19",
        "unreadable",
        "Can't read that: unexpected number '19': write times as '19:00' or '19 Uhr' and dates "
        "as '27.01.'",
        "Das kann ich nicht lesen: unerwartete Zahl '19': Uhrzeiten als '19:00' oder '19 Uhr' "
        "schreiben, ein Datum als '27.01.'",
    ),
    (
        M,
        "März 19:00",
        "unreadable",
        "Can't read that: 'März' needs a day, e.g. '12 March'",
        "Das kann ich nicht lesen: 'März' braucht einen Tag, z. B. '12. März'",
    ),
    (
        M,
        "every 2nd Thursday 19:00",
        "unreadable",
        "Can't read that: '2nd' needs a month, e.g. '12 March' or '12.3.'",
        "Das kann ich nicht lesen: '2nd' braucht einen Monat, z. B. '12. März' oder '12.3.'",
    ),
    (
        M,
        "jeden zweiten Donnerstag 19:00",
        "unreadable",
        "Can't read that: 'zweiten' needs a month, e.g. '12 March' or '12.3.'",
        "Das kann ich nicht lesen: 'zweiten' braucht einen Monat, z. B. '12. März' oder '12.3.'",
    ),
    (
        M,
        "every other Thursday 19:00",
        "unreadable",
        f"Can't read that: 'other' doesn't fit here. Write e.g. {EXAMPLES_EN}",
        f"Das kann ich nicht lesen: 'other' passt hier nicht. Schreibe z. B. {EXAMPLES_DE}",
    ),
    (
        M,
        "13.03 19:00",
        "unreadable",
        "Can't read that: more than one time: '13.03' and '19:00' (write dates with a final dot,"
        " e.g. '13.03.')",
        "Das kann ich nicht lesen: mehr als eine Uhrzeit: '13.03' und '19:00' (ein Datum endet"
        " mit einem Punkt, z. B. '13.03.')",
    ),
    (
        M,
        "morgen 19:00 20:00",
        "unreadable",
        "Can't read that: more than one time: '19:00' and '20:00'",
        "Das kann ich nicht lesen: mehr als eine Uhrzeit: '19:00' und '20:00'",
    ),
    (
        M,
        "Mo Di 19:00",
        "unreadable",
        "Can't read that: more than one weekday: 'Mo' and 'Di'",
        "Das kann ich nicht lesen: mehr als ein Wochentag: 'Mo' und 'Di'",
    ),
    (
        M,
        "12.3. 14.3. 19:00",
        "unreadable",
        "Can't read that: more than one date: '12.3.' and '14.3.'",
        "Das kann ich nicht lesen: mehr als ein Datum: '12.3.' und '14.3.'",
    ),
    (
        M,
        "@ 19:00",
        "unreadable",
        f"Can't read that: unexpected character '@' in '@ 19:00'. Write e.g. {EXAMPLES_EN}",
        "Das kann ich nicht lesen: unerwartetes Zeichen '@' in '@ 19:00'."
        f" Schreibe z. B. {EXAMPLES_DE}",
    ),
    (
        M,
        "am",
        "unreadable",
        f"Can't read that: no date and no time found. Write e.g. {EXAMPLES_EN}",
        "Das kann ich nicht lesen: kein Datum und keine Uhrzeit gefunden."
        f" Schreibe z. B. {EXAMPLES_DE}",
    ),
    (
        D,
        "12.3. 19:00",
        "unreadable",
        "Can't read that: '19:00' is a time; only a date fits here."
        " Write e.g. 12.3. · Mon · tomorrow",
        "Das kann ich nicht lesen: '19:00' ist eine Uhrzeit; hier passt nur ein Datum."
        " Schreibe z. B. 12.3. · Mo · morgen",
    ),
    (
        D,
        "vom",
        "unreadable",
        "Can't read that: no date found. Write e.g. 12.3. · Mon · tomorrow",
        "Das kann ich nicht lesen: kein Datum gefunden. Schreibe z. B. 12.3. · Mo · morgen",
    ),
    (
        P,
        "ab 1.7.",
        "unreadable",
        f"Can't read that: a period needs a start and an end. Write e.g. {PERIOD_EN}",
        "Das kann ich nicht lesen: ein Zeitraum braucht einen Anfang und ein Ende."
        f" Schreibe z. B. {PERIOD_DE}",
    ),
    (
        P,
        "1.7.-",
        "unreadable",
        f"Can't read that: a period needs a start and an end. Write e.g. {PERIOD_EN}",
        "Das kann ich nicht lesen: ein Zeitraum braucht einen Anfang und ein Ende."
        f" Schreibe z. B. {PERIOD_DE}",
    ),
    (
        P,
        "1.7.-2.7.-3.7.",
        "unreadable",
        f"Can't read that: a period needs a start and an end. Write e.g. {PERIOD_EN}",
        "Das kann ich nicht lesen: ein Zeitraum braucht einen Anfang und ein Ende."
        f" Schreibe z. B. {PERIOD_DE}",
    ),
    (
        P,
        "1.7. 19:00 - 31.8.",
        "unreadable",
        f"Can't read that: '19:00' is a time; only a date fits here. Write e.g. {PERIOD_EN}",
        "Das kann ich nicht lesen: '19:00' ist eine Uhrzeit; hier passt nur ein Datum."
        f" Schreibe z. B. {PERIOD_DE}",
    ),
    (
        M,
        "12.3.",
        "no_time",
        "No time given. Add one, e.g. '12.3. 19:00'",
        "Keine Uhrzeit angegeben. Schreibe eine dazu, z. B. '12.3. 19:00'",
    ),
    (
        M,
        "19:00",
        "no_date",
        "No day given. Add one, e.g. 'tomorrow 19:00' or 'Thu 19:00'",
        "Kein Tag angegeben. Schreibe einen dazu, z. B. 'morgen 19:00' oder 'Do 19:00'",
    ),
    (
        M,
        "31.2. 19:00",
        "impossible_date",
        "'31.2.' doesn't exist: February has at most 29 days",
        "'31.2.' gibt es nicht: der Februar hat höchstens 29 Tage",
    ),
    (
        M,
        "30.02.2027 19:00",
        "impossible_date",
        "'30.02.2027' doesn't exist: February 2027 has 28 days",
        "'30.02.2027' gibt es nicht: der Februar 2027 hat 28 Tage",
    ),
    (
        M,
        "2027-04-31 19:00",
        "impossible_date",
        "'2027-04-31' doesn't exist: April 2027 has 30 days",
        "'2027-04-31' gibt es nicht: der April 2027 hat 30 Tage",
    ),
    (
        M,
        "31 June 19:00",
        "impossible_date",
        "'31 June' doesn't exist: June has at most 30 days",
        "'31 June' gibt es nicht: der Juni hat höchstens 30 Tage",
    ),
    (
        M,
        "12.13. 19:00",
        "impossible_date",
        "'12.13.' doesn't exist: there is no month 13",
        "'12.13.' gibt es nicht: es gibt keinen Monat 13",
    ),
    (
        M,
        "Do 12.3.2027 19:00",
        "impossible_date",
        "'12.3.2027' is a Friday, not a Thursday",
        "'12.3.2027' ist ein Freitag, kein Donnerstag",
    ),
    (
        M,
        "morgen, Donnerstag, 19:00",
        "impossible_date",
        "'morgen' is a Wednesday, not a Thursday",
        "'morgen' ist ein Mittwoch, kein Donnerstag",
    ),
    (
        D,
        "Fr 5.12.",
        "impossible_date",
        "'5.12.' is a Saturday, not a Friday",
        "'5.12.' ist ein Samstag, kein Freitag",
    ),
    (
        P,
        "1.7.-31.9.",
        "impossible_date",
        "'31.9.' doesn't exist: September has at most 30 days",
        "'31.9.' gibt es nicht: der September hat höchstens 30 Tage",
    ),
    (
        M,
        "heute 10:00",
        "past",
        "01.12.2026 10:00 is in the past",
        "01.12.2026 10:00 liegt in der Vergangenheit",
    ),
    (
        M,
        "1.12. 11:00",
        "past",
        "01.12.2026 11:00 is in the past",
        "01.12.2026 11:00 liegt in der Vergangenheit",
    ),
    (
        M,
        "12.3.2026 18:00",
        "past",
        "12.03.2026 18:00 is in the past",
        "12.03.2026 18:00 liegt in der Vergangenheit",
    ),
    (
        M,
        "heute 12:00",  # strictly after now
        "past",
        "01.12.2026 12:00 is in the past",
        "01.12.2026 12:00 liegt in der Vergangenheit",
    ),
    (
        D,
        "1.1.2026",
        "past",
        "01.01.2026 is in the past",
        "01.01.2026 liegt in der Vergangenheit",
    ),
    (
        P,
        "1.1.2026-30.6.2026",
        "past",
        "The period ends in the past (30.06.2026)",
        "Der Zeitraum endet in der Vergangenheit (30.06.2026)",
    ),
    (
        M,
        "28.3.2027 02:30",
        "nonexistent",
        "28.03.2027 02:30 doesn't exist in Europe/Berlin: the clocks jump from 02:00 to 03:00"
        " that night",
        "28.03.2027 02:30 gibt es in Europe/Berlin nicht: in dieser Nacht springt die Uhr von"
        " 02:00 auf 03:00",
    ),
    (
        M,
        "12.3.2029 19:00",
        "too_far",
        "12.03.2029 19:00 is too far ahead: at most 2 years from today",
        "12.03.2029 19:00 liegt zu weit in der Zukunft: höchstens 2 Jahre ab heute",
    ),
    (
        D,
        "2.12.2028",
        "too_far",
        "02.12.2028 is too far ahead: at most 2 years from today",
        "02.12.2028 liegt zu weit in der Zukunft: höchstens 2 Jahre ab heute",
    ),
    (
        P,
        "1.1.2027-5.1.2029",
        "too_far",
        "05.01.2029 is too far ahead: at most 2 years from today",
        "05.01.2029 liegt zu weit in der Zukunft: höchstens 2 Jahre ab heute",
    ),
    (
        P,
        "31.8.2027-1.7.2027",
        "reversed",
        "The period ends before it starts: 01.07.2027 is before 31.08.2027",
        "Der Zeitraum endet, bevor er beginnt: 01.07.2027 liegt vor 31.08.2027",
    ),
]

_PARSERS: dict[str, Callable[[str], object]] = {
    M: lambda text: parse_moment(text, now=NOW, zone=BERLIN),
    D: lambda text: parse_day(text, today=TODAY),
    P: lambda text: parse_period(text, today=TODAY),
}


@pytest.mark.parametrize(("parser", "text", "reason", "english", "german"), REFUSALS)
def test_refusals_name_the_problem_in_the_members_language(
    parser: str, text: str, reason: str, english: str, german: str
) -> None:
    parse = _PARSERS[parser]
    with pytest.raises(MomentError) as caught:
        parse(text)
    assert caught.value.reason == reason
    assert str(caught.value) == english  # no i18n context: the English source
    i18n = create_i18n("en")
    for locale, expected in (("en", english), ("de", german)):
        with i18n.context(), i18n.use_locale(locale), pytest.raises(MomentError) as caught:
            parse(text)
        assert str(caught.value) == expected
        assert caught.value.reason == reason


def test_every_reason_is_covered() -> None:
    reasons = {reason for _parser, _text, reason, _en, _de in REFUSALS}
    assert reasons == {
        "empty",
        "unreadable",
        "no_time",
        "no_date",
        "impossible_date",
        "past",
        "nonexistent",
        "too_far",
        "too_long",
        "reversed",
    }


def test_moment_error_is_a_rule_error_and_a_value_error() -> None:
    with pytest.raises(RuleError):
        parse_moment("", now=NOW, zone=BERLIN)
    with pytest.raises(ValueError, match="Nothing given"):
        parse_day("", today=TODAY)


def test_examples_are_translated_and_readable() -> None:
    i18n = create_i18n("en")
    for locale in ("de", "en"):
        with i18n.context(), i18n.use_locale(locale):
            moments = format_moment_example().split(" · ")
            days = format_day_example().split(" · ")
            periods = format_period_example().split(" · ")
        assert all(parse_moment(text, now=NOW, zone=BERLIN) > NOW for text in moments)
        assert all(parse_day(text, today=TODAY) >= TODAY for text in days)
        assert all(parse_period(text, today=TODAY)[1] >= TODAY for text in periods)
    with i18n.context(), i18n.use_locale("de"):
        assert format_moment_example() == EXAMPLES_DE
