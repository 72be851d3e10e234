"""The dates of a recurrence rule: occurrences in the KV's zone, and the free-time slot.

Rules hold local wall-clock times; occurrences are computed in the KV's zone and returned as aware
UTC datetimes, so 19:00 stays 19:00 in Berlin across the DST switches. The dates themselves come
from the rule's RFC 5545 text expanded by python-dateutil (bot/services/recurrence/rrule.py).
"""

from __future__ import annotations

import datetime as dt
from itertools import islice
from typing import Literal
from zoneinfo import ZoneInfo

from bot.services.recurrence.rrule import instants_after, to_rrule
from bot.services.recurrence.rule import Rule, format_rule

Slot = Literal["weekday_evening", "weekday_daytime", "weekend"]

EVENING_STARTS = dt.time(17, 0)


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
    if count == 0:
        return []
    return list(islice(instants_after(to_rrule(rule), zone=zone, after=after), count))


def next_occurrence(rule: Rule, *, after: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first occurrence strictly after `after`, as aware UTC; see occurrences()."""
    found = occurrences(rule, after=after, zone=zone, count=1)
    if not found:
        raise ValueError(f"{format_rule(rule)!r} has no occurrence after {after.isoformat()}")
    return found[0]


def local_slot(moment: dt.datetime, zone: ZoneInfo) -> Slot:
    """The free-time slot an aware moment falls in, in zone.

    Members say when they are free as weekday evenings (Mon-Fri from 17:00), weekday daytime
    (Mon-Fri before 17:00) or weekends (Sat, Sun); this maps a meeting onto those.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be a timezone-aware datetime")
    local = moment.astimezone(zone)
    if local.weekday() >= 5:
        return "weekend"
    if local.time() >= EVENING_STARTS:
        return "weekday_evening"
    return "weekday_daytime"
