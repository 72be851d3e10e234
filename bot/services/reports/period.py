"""Report periods: the last 30 days, a half-year, or one the organiser types.

A period is whole local days (the KV's zone), both ends included, never reaching past today:
a report counts what happened, not what is planned.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.services.errors import DomainError
from bot.services.reports.model import Period, PeriodKind

# The longest custom period: three years (a board's term, with room).
MAX_YEARS = 3
# "1.1.2026", "01.01.2026" or ISO "2026-01-01", twice, separated by a dash, "bis"/"to" or space.
_DE = r"(\d{1,2})\.(\d{1,2})\.(\d{4})"
_ISO = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_DAY = re.compile(rf"{_DE}|{_ISO}")
_SEPARATOR = re.compile(r"^\s*(?:[-–—]|bis|to|until)?\s*$", re.IGNORECASE)
# Enough for two dates and a separator; anything longer is no period.
MAX_INPUT = 60


class PeriodError(DomainError):
    """A typed period the bot can't use; `reason` says why (one of the constants below)."""


UNREADABLE = "unreadable"
END_BEFORE_START = "end_before_start"
IN_FUTURE = "in_future"
TOO_LONG = "too_long"


def last_30_days(today: date) -> Period:
    """The 30 days ending today, today included."""
    return Period(PeriodKind.LAST_30_DAYS, today - timedelta(days=29), today)


def _half_of(day: date) -> tuple[date, date]:
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30)
    return date(day.year, 7, 1), date(day.year, 12, 31)


def half_year(today: date) -> Period:
    """January to June or July to December, the half containing today, up to today."""
    first, _ = _half_of(today)
    return Period(PeriodKind.HALF_YEAR, first, today)


def previous_half_year(today: date) -> Period:
    """The whole half-year before the current one (for the members' assembly report)."""
    current_first, _ = _half_of(today)
    first, last = _half_of(current_first - timedelta(days=1))
    return Period(PeriodKind.HALF_YEAR, first, last)


def _day(match: re.Match[str]) -> date:
    de_day, de_month, de_year, iso_year, iso_month, iso_day = match.groups()
    try:
        if de_year is not None:
            return date(int(de_year), int(de_month), int(de_day))
        return date(int(iso_year), int(iso_month), int(iso_day))
    except ValueError as exc:  # 31.2.2026 and friends
        raise PeriodError(UNREADABLE) from exc


def parse_period(text: str, today: date) -> Period:
    """The period an organiser typed: two dates (German "1.1.2026" or ISO "2026-01-01")
    separated by a dash, "bis" or a space.

    Raises PeriodError: UNREADABLE (not two dates, or no such day), END_BEFORE_START,
    IN_FUTURE (ends after today) or TOO_LONG (more than MAX_YEARS years).
    """
    text = text.strip()
    if len(text) > MAX_INPUT:
        raise PeriodError(UNREADABLE)
    matches = list(_DAY.finditer(text))
    if len(matches) != 2:
        raise PeriodError(UNREADABLE)
    first, second = matches
    outside = text[: first.start()] + text[second.end() :]
    if outside.strip() or not _SEPARATOR.match(text[first.end() : second.start()]):
        raise PeriodError(UNREADABLE)
    start, end = _day(first), _day(second)
    if end < start:
        raise PeriodError(END_BEFORE_START)
    if end > today:
        raise PeriodError(IN_FUTURE)
    try:
        limit = start.replace(year=start.year + MAX_YEARS)
    except ValueError:  # 29 February
        limit = date(start.year + MAX_YEARS, 3, 1)
    if end >= limit:
        raise PeriodError(TOO_LONG)
    return Period(PeriodKind.CUSTOM, start, end)


def label(period: Period) -> str:
    """A short name for files: "2026-H1" for a whole half-year, else "2026-01-01_2026-03-31"."""
    first, last = _half_of(period.first_day)
    if period.first_day == first and period.last_day == last:
        return f"{first.year}-H{1 if first.month == 1 else 2}"
    return f"{period.first_day.isoformat()}_{period.last_day.isoformat()}"
