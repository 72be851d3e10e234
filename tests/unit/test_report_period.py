"""Report periods: the fixed choices and what an organiser may type."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.reports import period as periods
from bot.services.reports.model import Period, PeriodKind
from bot.services.reports.period import PeriodError, parse_period

TODAY = date(2026, 8, 15)


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (date(2026, 8, 15), date(2026, 7, 17), date(2026, 8, 15)),
        (date(2026, 3, 1), date(2026, 1, 31), date(2026, 3, 1)),
        (date(2026, 1, 1), date(2025, 12, 3), date(2026, 1, 1)),
    ],
)
def test_last_30_days(today: date, first: date, last: date) -> None:
    assert periods.last_30_days(today) == Period(PeriodKind.LAST_30_DAYS, first, last)


@pytest.mark.parametrize(
    ("today", "current", "previous"),
    [
        (
            date(2026, 8, 15),
            (date(2026, 7, 1), date(2026, 8, 15)),
            (date(2026, 1, 1), date(2026, 6, 30)),
        ),
        (
            date(2026, 6, 30),
            (date(2026, 1, 1), date(2026, 6, 30)),
            (date(2025, 7, 1), date(2025, 12, 31)),
        ),
        (
            date(2026, 1, 1),
            (date(2026, 1, 1), date(2026, 1, 1)),
            (date(2025, 7, 1), date(2025, 12, 31)),
        ),
        (
            date(2026, 7, 1),
            (date(2026, 7, 1), date(2026, 7, 1)),
            (date(2026, 1, 1), date(2026, 6, 30)),
        ),
        (
            date(2026, 12, 31),
            (date(2026, 7, 1), date(2026, 12, 31)),
            (date(2026, 1, 1), date(2026, 6, 30)),
        ),
    ],
)
def test_half_years(today: date, current: tuple[date, date], previous: tuple[date, date]) -> None:
    assert periods.half_year(today) == Period(PeriodKind.HALF_YEAR, *current)
    assert periods.previous_half_year(today) == Period(PeriodKind.HALF_YEAR, *previous)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("1.1.2026-30.6.2026", date(2026, 1, 1), date(2026, 6, 30)),
        ("01.01.2026 – 30.06.2026", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026-01-01 2026-06-30", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026-01-01 - 2026-06-30", date(2026, 1, 1), date(2026, 6, 30)),
        ("1.3.2026 bis 31.3.2026", date(2026, 3, 1), date(2026, 3, 31)),
        ("  15.8.2026 — 15.8.2026 ", date(2026, 8, 15), date(2026, 8, 15)),
        ("1.1.2024-15.8.2026", date(2024, 1, 1), date(2026, 8, 15)),
        ("16.8.2023-15.8.2026", date(2023, 8, 16), date(2026, 8, 15)),
    ],
)
def test_typed_periods(text: str, first: date, last: date) -> None:
    assert parse_period(text, TODAY) == Period(PeriodKind.CUSTOM, first, last)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", periods.UNREADABLE),
        ("letztes Jahr", periods.UNREADABLE),
        ("1.1.2026", periods.UNREADABLE),
        ("1.1.2026-2.1.2026-3.1.2026", periods.UNREADABLE),
        ("vom 1.1.2026 bis 2.1.2026", periods.UNREADABLE),
        ("1.1.2026 und 2.1.2026", periods.UNREADABLE),
        ("31.2.2026-1.3.2026", periods.UNREADABLE),
        ("2026-13-01 2026-14-01", periods.UNREADABLE),
        ("1.1.2026-" + "x" * 80, periods.UNREADABLE),
        ("30.6.2026-1.1.2026", periods.END_BEFORE_START),
        ("1.8.2026-16.8.2026", periods.IN_FUTURE),
        ("1.1.2027-2.1.2027", periods.IN_FUTURE),
        ("15.8.2023-15.8.2026", periods.TOO_LONG),
        ("1.1.2020-1.1.2026", periods.TOO_LONG),
    ],
)
def test_refused_periods(text: str, reason: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, TODAY)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (Period(PeriodKind.HALF_YEAR, date(2026, 1, 1), date(2026, 6, 30)), "2026-H1"),
        (Period(PeriodKind.HALF_YEAR, date(2025, 7, 1), date(2025, 12, 31)), "2025-H2"),
        (
            Period(PeriodKind.HALF_YEAR, date(2026, 7, 1), date(2026, 8, 15)),
            "2026-07-01_2026-08-15",
        ),
    ],
)
def test_file_labels(period: Period, expected: str) -> None:
    assert periods.label(period) == expected
