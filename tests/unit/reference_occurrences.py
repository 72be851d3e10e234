"""The recurrence engine as it was before python-dateutil: a test-only reference.

Until the RRULE move, bot/services/recurrence/occurrences.py computed dates with its own
arithmetic (below, verbatim). It was simple enough to check by hand and had its own tests, so it
stays here as an independent oracle: tests/unit/test_rrule.py asserts that expanding our RRULE
text with dateutil gives exactly the dates this engine gives, for every kind of rule, over twenty
years and in more than one zone. Nothing in the bot imports it; don't fix bugs here without
deciding which engine is right.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from bot.services.recurrence import LAST, Rule


def occurrences(
    rule: Rule, *, after: dt.datetime, zone: ZoneInfo, count: int = 1
) -> list[dt.datetime]:
    """The next count occurrences strictly after `after` (aware, any zone), as aware UTC.

    Wall-clock times are taken in zone: a time that doesn't exist on a spring-forward day moves
    forward by the gap (02:30 -> 03:30), an ambiguous one on a fall-back day is its first
    occurrence. All-day rules occur at local midnight. A 5th weekday a month lacks is skipped, as
    is 29.02. outside leap years. Biweekly rules start at their anchor date. Fewer than count
    dates come back only at the end of the calendar (year 9999).
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be a timezone-aware datetime")
    if count < 0:
        raise ValueError(f"count must not be negative, not {count}")
    found: list[dt.datetime] = []
    if count == 0:
        return found
    # A day early, so a time shifted forward across midnight by a gap is still seen.
    local_day = after.astimezone(zone).date()
    start = local_day - dt.timedelta(days=1) if local_day > dt.date.min else local_day
    for day in _days(rule, start):
        moment = _at(day, rule.time, zone)
        if moment > after:
            found.append(moment)
            if len(found) == count:
                break
    return found


def _at(day: dt.date, time: dt.time | None, zone: ZoneInfo) -> dt.datetime:
    # fold=0 is exactly the behaviour wanted: zoneinfo reads a nonexistent time with the offset
    # before the gap (so it lands the gap's length later) and an ambiguous one as the first.
    local = dt.datetime.combine(day, time or dt.time(0, 0), tzinfo=zone)
    return local.astimezone(dt.UTC)


def _days(rule: Rule, start: dt.date) -> Iterator[dt.date]:
    """The local dates of rule from start on, ascending."""
    if rule.kind in ("weekly", "biweekly"):
        return _weekly_days(rule, start)
    if rule.kind == "monthly":
        return _monthly_days(rule, start)
    return _yearly_days(rule, start)


def _weekly_days(rule: Rule, start: dt.date) -> Iterator[dt.date]:
    assert rule.weekday is not None
    if rule.kind == "biweekly":
        assert rule.anchor is not None
        step = 14
        start = max(start, rule.anchor)
        day = start + dt.timedelta(days=-(start - rule.anchor).days % step)
    else:
        step = 7
        day = start + dt.timedelta(days=(rule.weekday - start.weekday()) % step)
    try:
        while True:
            yield day
            day += dt.timedelta(days=step)
    except OverflowError:
        return


def _monthly_days(rule: Rule, start: dt.date) -> Iterator[dt.date]:
    assert rule.weekday is not None
    year, month = start.year, start.month
    while year <= dt.MAXYEAR:
        for ordinal_day in _ordinal_days(year, month, rule.weekday, rule.ordinals):
            if ordinal_day >= start:
                yield ordinal_day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _yearly_days(rule: Rule, start: dt.date) -> Iterator[dt.date]:
    assert rule.month is not None
    for year in range(start.year, dt.MAXYEAR + 1):
        if rule.kind == "yearly_date":
            assert rule.day is not None
            if rule.day > calendar.monthrange(year, rule.month)[1]:
                continue  # 29.02. outside a leap year
            candidates = [dt.date(year, rule.month, rule.day)]
        else:
            assert rule.weekday is not None
            candidates = _ordinal_days(year, rule.month, rule.weekday, rule.ordinals)
        yield from (day for day in candidates if day >= start)


def _ordinal_days(year: int, month: int, weekday: int, ordinals: tuple[int, ...]) -> list[dt.date]:
    """The dates of the given ordinal weekdays in one month, ascending; missing 5ths left out."""
    first_weekday, length = calendar.monthrange(year, month)
    first = 1 + (weekday - first_weekday) % 7
    all_days = list(range(first, length + 1, 7))
    chosen = {all_days[o if o == LAST else o - 1] for o in ordinals if o <= len(all_days)}
    return [dt.date(year, month, day) for day in sorted(chosen)]
