"""Rules as RFC 5545 text, and their dates: to_rrule, check_rrule, expand.

A Rule is stored as RFC 5545 text (an RRULE line, with a DTSTART line for rules anchored to a
date) and expanded by python-dateutil. The text holds FLOATING local times, no TZID and no UTC
"Z": a rule means a wall-clock time in the KV's zone, and the zone is a setting applied when the
dates are computed, not something frozen into every stored rule.

Rules that need no start date (weekly, monthly, yearly) have no DTSTART: expansion passes one
itself, local midnight a day before the window, so it never iterates from a rule's distant past.
Their time is spelled out as BYHOUR/BYMINUTE/BYSECOND; an all-day rule gets 00:00:00, local
midnight, as the engine has always used for all-day dates. Biweekly rules carry their anchor
(the first meeting, date and time) as DTSTART, which is what fixes their weeks.

Wall-clock times become instants with zoneinfo's fold=0 reading: a time that doesn't exist on a
spring-forward day moves forward by the gap (02:30 -> 03:30 in Berlin on 2026-03-29), an
ambiguous one on a fall-back day is its first occurrence (02:30 CEST on 2026-10-25). Instants
come back as aware UTC datetimes, ascending.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import takewhile
from typing import TypeVar
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from bot.services.recurrence.rule import Rule, RuleError
from bot.services.translation import gettext as _

MAX_RRULE_LENGTH = 1000
"""Longest RFC 5545 text check_rrule accepts; ours are under 100 characters."""

_WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ALL_DAY = dt.time(0, 0)
# Finer frequencies would turn one stored rule into thousands of dates a day.
_TOO_FREQUENT = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
# Without one of these, dateutil takes the day of a WEEKLY/MONTHLY/YEARLY rule from DTSTART.
_DAY_PARTS = frozenset({"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYEASTER"})
_DATED_PROPERTIES = frozenset({"DTSTART", "EXDATE", "RDATE"})
# RFC 5545's floating DATE and DATE-TIME forms; "Z" (UTC) or an offset would fix the instant.
_FLOATING = re.compile(r"\d{8}(T\d{6})?")
# The start check_rrule gives a rule without DTSTART; any would do.
_PROBE_START = dt.datetime(2000, 1, 1)  # noqa: DTZ001 - floating on purpose
# The Gregorian calendar's cycle, and its length in each frequency's units.
_CYCLE_YEARS = 400
_CYCLE_UNITS = {"YEARLY": 400, "MONTHLY": 4800, "WEEKLY": 20871, "DAILY": 146097}
_DAY = dt.timedelta(days=1)
_T = TypeVar("_T")


def to_rrule(rule: Rule) -> str:
    """rule as RFC 5545 text in floating local time; check_rrule accepts it, expand reads it.

    weekly:         RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=19;BYMINUTE=0;BYSECOND=0
    biweekly:       DTSTART:20260108T190000 + newline + RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH
    monthly:        RRULE:FREQ=MONTHLY;BYDAY=1TU,3TU,-1TU;BYHOUR=19;BYMINUTE=0;BYSECOND=0
    yearly_date:    RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=0;BYMINUTE=0;BYSECOND=0
    yearly_weekday: RRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=2SU;BYHOUR=11;BYMINUTE=0;BYSECOND=0

    All-day rules (time None) occur at 00:00 local; 29.02. occurs in leap years only; a 5th
    weekday a month lacks is skipped (RFC 5545 ignores dates that don't exist). The parts come
    in dateutil's own order, so str() of the parsed rule gives the same RRULE line (except that
    dateutil writes ordinals with a sign: +2TH).
    """
    time = rule.time or _ALL_DAY
    assert rule.kind == "yearly_date" or rule.weekday is not None
    code = _WEEKDAY_CODES[rule.weekday] if rule.weekday is not None else ""
    if rule.kind == "biweekly":
        assert rule.anchor is not None
        first = dt.datetime.combine(rule.anchor, time)
        # No WKST: with one BYDAY, the anchor's weekday, the week start can't move a date.
        return f"DTSTART:{first:%Y%m%dT%H%M%S}\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY={code}"
    ordinals = ",".join(f"{ordinal}{code}" for ordinal in rule.ordinals)
    if rule.kind == "weekly":
        parts = ["FREQ=WEEKLY", f"BYDAY={code}"]
    elif rule.kind == "monthly":
        parts = ["FREQ=MONTHLY", f"BYDAY={ordinals}"]
    elif rule.kind == "yearly_date":
        parts = ["FREQ=YEARLY", f"BYMONTH={rule.month}", f"BYMONTHDAY={rule.day}"]
    else:
        parts = ["FREQ=YEARLY", f"BYMONTH={rule.month}", f"BYDAY={ordinals}"]
    parts += [f"BYHOUR={time.hour}", f"BYMINUTE={time.minute}", "BYSECOND=0"]
    return "RRULE:" + ";".join(parts)


def check_rrule(text: str) -> None:
    """Raise RuleError unless text is RFC 5545 recurrence text that expand() can use.

    Accepted: what dateutil's rrulestr reads (DTSTART, RRULE, RDATE, EXDATE lines; not EXRULE,
    which RFC 5545 dropped), in floating local time (no TZID, no UTC "Z"), repeating at most
    daily, with at least one date. Text without DTSTART must not depend on where expansion
    starts: no INTERVAL above 1, no COUNT, and weekly, monthly and yearly rules name their days
    (BYDAY, BYMONTHDAY, ...); a time it leaves out is 00:00:00. The message says what is wrong,
    in the active locale. A text that passes is remembered (expansion checks every text it is
    given, so that costs once per text).
    """
    _read(text)


@dataclass(frozen=True, slots=True)
class _Reading:
    """A checked text: parsed once here if it has its own DTSTART, else parsed per window.

    step: for one WEEKLY or DAILY RRULE with a DTSTART and no COUNT, how far its DTSTART can
    move without changing a date after it (INTERVAL weeks or days), so that a biweekly rule
    from years ago isn't expanded from its anchor every time.
    """

    parsed: rrule | rruleset | None
    start: dt.datetime | None = None
    step: dt.timedelta | None = None


@functools.lru_cache(maxsize=4096)
def _read(text: str) -> _Reading:
    if not isinstance(text, str) or not text.strip():
        raise RuleError(_("empty recurrence rule"))
    if len(text) > MAX_RRULE_LENGTH:
        message = _(
            "rule is too long ({length} character, at most {limit})",
            "rule is too long ({length} characters, at most {limit})",
            len(text),
        )
        raise RuleError(message.format(length=len(text), limit=MAX_RRULE_LENGTH))
    # Parsing builds the rule without expanding it, so it is cheap even for a bad one.
    parsed = _dateutil(text, lambda: rrulestr(text, dtstart=_PROBE_START))
    # Split as rrulestr splits (on whitespace, upper case); a line without a name is an RRULE.
    properties = [_property(line) for line in text.upper().split()]
    starts = [value for name, _params, value in properties if name == "DTSTART"]
    anchored = bool(starts)
    for name, params, value in properties:
        if name == "EXRULE":
            # RFC 5545 dropped EXRULE; it could also empty a rule that dateutil then combs
            # through to the year 9999.
            raise RuleError(
                _("unreadable recurrence rule {rule}: {reason}").format(
                    rule=repr(text), reason="EXRULE is not supported (RFC 5545 dropped it)"
                )
            )
        if name in _DATED_PROPERTIES and (
            any(param.startswith("TZID=") for param in params)
            or not all(_FLOATING.fullmatch(item) for item in value.split(","))
        ):
            raise RuleError(
                _(
                    "recurrence rule {rule} must use floating local times "
                    "(e.g. 20260108T190000), without TZID or 'Z'"
                ).format(rule=repr(text))
            )
        if name == "RRULE":
            _check_rule_parts(text, value, anchored=anchored)
    start = _floating_value(starts[0]) if starts else _PROBE_START
    rules = [value for name, _params, value in properties if name == "RRULE"]
    has_dates = any(name == "RDATE" for name, _params, _value in properties)
    if not has_dates and not any(
        _dateutil(text, functools.partial(_occurs, rule, start)) for rule in rules
    ):
        raise RuleError(_("recurrence rule {rule} never occurs").format(rule=repr(text)))
    if not anchored:
        return _Reading(parsed=None)
    step = None
    if isinstance(parsed, rrule) and len(rules) == 1:
        parts = dict(part.partition("=")[::2] for part in rules[0].split(";"))
        unit = {"WEEKLY": 7, "DAILY": 1}.get(parts.get("FREQ", ""))
        if unit is not None and "COUNT" not in parts:
            step = dt.timedelta(days=unit * int(parts.get("INTERVAL") or 1))
    return _Reading(parsed=parsed, start=start, step=step)


def _dateutil(text: str, call: Callable[[], _T]) -> _T:
    """call(), with what dateutil raises for text it can't read turned into a RuleError."""
    try:
        return call()
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as error:
        raise RuleError(
            _("unreadable recurrence rule {rule}: {reason}").format(
                rule=repr(text), reason=str(error) or type(error).__name__
            )
        ) from None


def _property(line: str) -> tuple[str, list[str], str]:
    """ "DTSTART;VALUE=DATE-TIME:2026..." -> name, parameters, value; a bare line is an RRULE."""
    head, colon, value = line.partition(":")
    if not colon:
        return "RRULE", [], head
    name, *params = head.split(";")
    return name, params, value


def _floating_value(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y%m%dT%H%M%S" if "T" in value else "%Y%m%d")  # noqa: DTZ007


def _check_rule_parts(text: str, value: str, *, anchored: bool) -> None:
    # dateutil has read it, so FREQ is there and INTERVAL is a number.
    parts = dict(part.partition("=")[::2] for part in value.split(";"))
    if parts["FREQ"] in _TOO_FREQUENT:
        raise RuleError(
            _("recurrence rule {rule} repeats more often than daily").format(rule=repr(text))
        )
    interval = int(parts.get("INTERVAL") or 1)
    if interval < 1:
        # dateutil takes INTERVAL=0 and then never gets past the first period.
        raise RuleError(
            _("unreadable recurrence rule {rule}: {reason}").format(
                rule=repr(text), reason=f"INTERVAL must be at least 1, not {interval}"
            )
        )
    if anchored:
        return
    # Without DTSTART the start is ours (a day before each window), so nothing may hang on it.
    names_days = parts["FREQ"] == "DAILY" or not _DAY_PARTS.isdisjoint(parts)
    if interval != 1 or "COUNT" in parts or not names_days:
        raise RuleError(
            _(
                "recurrence rule {rule} has no DTSTART, so it can't use INTERVAL or COUNT "
                "and must name its days"
            ).format(rule=repr(text))
        )


@functools.lru_cache(maxsize=1024)
def _occurs(rule_value: str, start: dt.datetime) -> bool:
    """Whether one RRULE (its value, upper case) with this start has any date at all.

    dateutil looks for the next date of a rule that has none (30 February) until the year 9999,
    seconds for a daily rule and on every expansion. The Gregorian calendar repeats every 400
    years (146097 days, 20871 weeks, 4800 months), so the rule is probed from a start moved by
    whole cycles (as many as INTERVAL needs to keep its phase) to near the end of the calendar:
    a rule with a date somewhere has one in the last cycles, and the search for none is short.
    """
    parts = dict(part.partition("=")[::2] for part in rule_value.split(";"))
    interval = int(parts.get("INTERVAL") or 1)
    step = _CYCLE_YEARS * (interval // math.gcd(interval, _CYCLE_UNITS[parts["FREQ"]]))
    cycles = max(0, (dt.MAXYEAR - step - start.year) // step)
    probe = rrulestr(f"RRULE:{rule_value}", dtstart=start).replace(
        dtstart=start.replace(year=start.year + cycles * step), count=None, until=None
    )
    return next(iter(probe), None) is not None


def instants_after(
    rrule_text: str,
    *,
    zone: ZoneInfo,
    after: dt.datetime,
    exdates: Collection[dt.datetime] = (),
) -> Iterator[dt.datetime]:
    """The occurrences of rrule_text strictly after `after` (aware), lazily, ascending, as UTC.

    The building block of expand() and occurrences(); see the module docstring for how local
    times become instants. An exdate removes the occurrence at that instant (aware, any zone);
    one that is no occurrence's instant removes nothing. RuleError if check_rrule refuses the
    text. Ends at the end of the calendar (year 9999) at the latest.
    """
    _require_aware(after, "after")
    for exdate in exdates:
        _require_aware(exdate, "exdates")
    reading = _read(rrule_text)
    local_day = after.astimezone(zone).date()
    # A day early, so a time shifted forward across midnight by a gap is still seen; the
    # offsets of one zone differ by less than that day, so nothing earlier can be after `after`.
    first_day = local_day - _DAY if local_day > dt.date.min else local_day
    window_start = dt.datetime.combine(first_day, _ALL_DAY)
    recurrence = reading.parsed
    if recurrence is None:
        recurrence = rrulestr(rrule_text, dtstart=window_start)
    elif reading.step is not None and reading.start is not None:
        skip = (window_start - reading.start) // reading.step
        if skip > 0 and isinstance(recurrence, rrule):
            recurrence = recurrence.replace(dtstart=reading.start + skip * reading.step)
    if exdates:
        with_exdates = rruleset()
        with_exdates.rrule(recurrence)
        for exdate in exdates:
            for local in _wall_times(exdate, zone):
                with_exdates.exdate(local)
        recurrence = with_exdates
    return _instants(recurrence, zone=zone, after=after, window_start=window_start)


def _instants(
    recurrence: rrule | rruleset, *, zone: ZoneInfo, after: dt.datetime, window_start: dt.datetime
) -> Iterator[dt.datetime]:
    previous: dt.datetime | None = None
    for local in recurrence:
        if local < window_start:
            continue  # an anchored rule's past, not worth converting
        try:
            # fold=0 (the default) is exactly the reading wanted; see the module docstring.
            instant = local.replace(tzinfo=zone).astimezone(dt.UTC)
        except OverflowError:
            return  # past the end of the calendar in UTC
        # Two wall times can name one instant (02:30 and 03:30 on a spring-forward day).
        if instant > after and instant != previous:
            previous = instant
            yield instant


def _wall_times(instant: dt.datetime, zone: ZoneInfo) -> set[dt.datetime]:
    """The floating local times in zone that expansion turns into instant.

    Its local time, and on a spring-forward day also the nonexistent time the gap moved onto it
    (an EXDATE for the 03:30 instant must also drop a rule's 02:30). Each is checked by
    converting it back, so the second 02:30 of a fall-back day names nothing: expansion reads
    02:30 as the first.
    """
    utc = instant.astimezone(dt.UTC)
    found: set[dt.datetime] = set()
    # The offset now, and the one before a transition earlier that day.
    for shift in (dt.timedelta(0), _DAY):
        try:
            offset = (utc - shift).astimezone(zone).utcoffset()
            assert offset is not None
            local = (utc + offset).replace(tzinfo=None)
            if local.replace(tzinfo=zone).astimezone(dt.UTC) == utc:
                found.add(local)
        except OverflowError:
            continue  # at the ends of the calendar
    return found


def expand(
    rrule_text: str,
    *,
    zone: ZoneInfo,
    start: dt.datetime,
    end: dt.datetime,
    exdates: Collection[dt.datetime] = (),
) -> list[dt.datetime]:
    """The occurrences t of rrule_text with start < t <= end, ascending, as aware UTC.

    start and end are aware, in any zone; the window is open at start and closed at end, like
    occurrences() ("strictly after"), so consecutive windows (a, b], (b, c] never count a date
    twice. Local times are read in zone (see the module docstring); exdates are the instants of
    cancelled occurrences (aware, any zone). RuleError if check_rrule refuses the text.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        return []
    found = instants_after(rrule_text, zone=zone, after=start, exdates=exdates)
    return list(takewhile(lambda instant: instant <= end, found))


def occurrences_between(
    rule: Rule | str,
    *,
    zone: ZoneInfo,
    start: dt.datetime,
    end: dt.datetime,
    exdates: Collection[dt.datetime] = (),
) -> list[dt.datetime]:
    """expand() for a Rule or its RFC 5545 text: the occurrences t with start < t <= end."""
    text = to_rrule(rule) if isinstance(rule, Rule) else rule
    return expand(text, zone=zone, start=start, end=end, exdates=exdates)


def _require_aware(moment: dt.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
