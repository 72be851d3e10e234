"""Provisional RRULE conversion and expansion (replaced by the rrule helper's module)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr

from bot.services.recurrence.rule import LAST, Rule, RuleError

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def to_rrule(rule: Rule) -> str:
    """RFC 5545 text with floating local times."""
    time = rule.time or dt.time(0, 0)
    at = f";BYHOUR={time.hour};BYMINUTE={time.minute};BYSECOND=0"
    day = _DAYS[rule.weekday] if rule.weekday is not None else ""
    ords = ",".join(f"{'-1' if o == LAST else o}{day}" for o in rule.ordinals)
    if rule.kind == "weekly":
        return f"RRULE:FREQ=WEEKLY;BYDAY={day}{at}"
    if rule.kind == "biweekly":
        assert rule.anchor is not None
        start = dt.datetime.combine(rule.anchor, time)
        return f"DTSTART:{start:%Y%m%dT%H%M%S}\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY={day}{at}"
    if rule.kind == "monthly":
        return f"RRULE:FREQ=MONTHLY;BYDAY={ords}{at}"
    if rule.kind == "yearly_date":
        return f"RRULE:FREQ=YEARLY;BYMONTH={rule.month};BYMONTHDAY={rule.day}{at}"
    return f"RRULE:FREQ=YEARLY;BYMONTH={rule.month};BYDAY={ords}{at}"


def expand(
    rrule_text: str,
    *,
    zone: ZoneInfo,
    start: dt.datetime,
    end: dt.datetime,
    exdates: Collection[dt.datetime] = (),
) -> list[dt.datetime]:
    """Occurrences with start < t <= end as aware UTC."""
    local_start = start.astimezone(zone).replace(tzinfo=None) - dt.timedelta(days=1)
    local_start = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        parsed = rrulestr(rrule_text, dtstart=local_start, forceset=True)
    except (ValueError, TypeError) as exc:
        raise RuleError(str(exc)) from exc
    assert isinstance(parsed, rruleset)
    for moment in exdates:
        parsed.exdate(moment.astimezone(zone).replace(tzinfo=None))
    local_end = end.astimezone(zone).replace(tzinfo=None) + dt.timedelta(days=1)
    found = []
    for local in parsed.between(local_start, local_end, inc=True):
        moment = local.replace(tzinfo=zone).astimezone(dt.UTC)
        if start < moment <= end:
            found.append(moment)
    return found
