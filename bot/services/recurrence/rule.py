"""Recurrence rules as values: the Rule, its checks, and its canonical English text.

Which fields a rule uses depends on its kind; constructing an inconsistent rule raises RuleError,
so every Rule in the program makes sense. format_rule writes the canonical text parse_rule reads
back to an equal Rule.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

from bot.services.translation import gettext as _

RuleKind = Literal["weekly", "biweekly", "monthly", "yearly_date", "yearly_weekday"]

LAST = -1
"""The ordinal for "last <weekday> of the month"."""

MAX_RULE_LENGTH = 200
# The English text of the parser's message (which spells it out, so that Babel extracts it).
BIWEEKLY_NEEDS_START = (
    "biweekly rules need a start date, e.g. 'every other Thursday 19:00 from 2026-01-08'"
)

_KINDS: tuple[str, ...] = get_args(RuleKind)
# Which optional fields each kind uses; every other one must be left empty.
KIND_FIELDS: dict[str, frozenset[str]] = {
    "weekly": frozenset({"weekday"}),
    "biweekly": frozenset({"weekday", "anchor"}),
    "monthly": frozenset({"weekday", "ordinals"}),
    "yearly_date": frozenset({"month", "day"}),
    "yearly_weekday": frozenset({"weekday", "ordinals", "month"}),
}
_OPTIONAL_FIELDS = ("weekday", "ordinals", "month", "day", "anchor")
# Canonical text is locale-independent on purpose: parse_rule reads it back in any locale.
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# A leap year, so that 29.02. is a valid yearly date.
_LEAP_YEAR = 2000


class RuleError(ValueError):
    """A recurrence rule that can't be read or doesn't make sense; the message says why."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One recurrence rule; immutable and hashable.

    Which fields a rule uses depends on its kind (the others stay None or empty):
    weekly: weekday; biweekly: weekday and anchor (a date on that weekday, the first meeting);
    monthly: weekday and ordinals; yearly_date: month and day; yearly_weekday: weekday, ordinals
    and month. weekday counts like date.weekday() (0 = Monday); ordinals are 1-5 or LAST, kept
    ascending with LAST at the end. time is the local wall-clock time, None for all-day.
    Constructing an inconsistent rule raises RuleError.
    """

    kind: RuleKind
    time: dt.time | None
    weekday: int | None = None
    ordinals: tuple[int, ...] = ()
    month: int | None = None
    day: int | None = None
    anchor: dt.date | None = None

    def __post_init__(self) -> None:
        """Check the fields fit the kind and put ordinals and time into canonical form."""
        _check_rule(self)
        # Equal rules must compare and hash equal however the ordinals were listed.
        object.__setattr__(self, "ordinals", tuple(sorted(set(self.ordinals), key=_ordinal_key)))
        # datetime.combine() passes fold on; fold=0 is what makes an ambiguous time the first.
        if self.time is not None and self.time.fold:
            object.__setattr__(self, "time", self.time.replace(fold=0))


def _ordinal_key(ordinal: int) -> tuple[bool, int]:
    return (ordinal == LAST, ordinal)


def weekday_name(weekday: int) -> str:
    """The weekday's name (0 = Monday) in the active locale, for messages."""
    return (
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    )[weekday]


def month_name(month: int) -> str:
    """The month's name (1 = January) in the active locale, for messages."""
    return (
        _("January"),
        _("February"),
        _("March"),
        _("April"),
        _("May"),
        _("June"),
        _("July"),
        _("August"),
        _("September"),
        _("October"),
        _("November"),
        _("December"),
    )[month - 1]


def _field_needed(name: str) -> str:
    return {
        "weekday": _("a weekday"),
        "ordinals": _("ordinals"),
        "month": _("a month"),
        "day": _("a day"),
        "anchor": _("a start date (anchor)"),
    }[name]


def _check_rule(rule: Rule) -> None:
    if rule.kind not in _KINDS:
        raise RuleError(_("unknown rule kind {kind}").format(kind=repr(rule.kind)))
    wanted = KIND_FIELDS[rule.kind]
    for name in _OPTIONAL_FIELDS:
        value = getattr(rule, name)
        present = value is not None and not (name == "ordinals" and not value)
        if present and name not in wanted:
            raise RuleError(_("a {kind} rule has no {field}").format(kind=rule.kind, field=name))
        if not present and name in wanted:
            raise RuleError(
                _("a {kind} rule needs {what}").format(kind=rule.kind, what=_field_needed(name))
            )
    _check_values(rule)


def _check_values(rule: Rule) -> None:
    if rule.time is not None and (
        not isinstance(rule.time, dt.time)
        or rule.time.tzinfo is not None
        or rule.time.second
        or rule.time.microsecond
    ):
        raise RuleError(_("the time must be a local wall-clock time in whole minutes"))
    if rule.weekday is not None and rule.weekday not in range(7):
        raise RuleError(
            _("weekday must be 0 (Monday) to 6 (Sunday), not {value}").format(
                value=repr(rule.weekday)
            )
        )
    for ordinal in rule.ordinals:
        if ordinal != LAST and ordinal not in range(1, 6):
            raise RuleError(
                _("ordinal out of range {value} (use 1 to 5 or last)").format(value=repr(ordinal))
            )
    if rule.month is not None and rule.month not in range(1, 13):
        raise RuleError(_("month must be 1 to 12, not {value}").format(value=repr(rule.month)))
    if rule.day is not None and rule.month is not None and not valid_day(rule.day, rule.month):
        raise RuleError(
            _("impossible date: day {day} of {month}").format(
                day=rule.day, month=month_name(rule.month)
            )
        )
    if rule.anchor is not None and rule.weekday is not None:
        if not isinstance(rule.anchor, dt.date) or isinstance(rule.anchor, dt.datetime):
            raise RuleError(_("the start date must be a date"))
        if rule.anchor.weekday() != rule.weekday:
            raise RuleError(
                _("start date {date} is a {weekday}, not a {expected}").format(
                    date=rule.anchor.isoformat(),
                    weekday=weekday_name(rule.anchor.weekday()),
                    expected=weekday_name(rule.weekday),
                )
            )


def valid_day(day: int, month: int) -> bool:
    """Whether day exists in month in some year (29.02. does)."""
    return 1 <= day <= calendar.monthrange(_LEAP_YEAR, month)[1]


# ---------------------------------------------------------------------------------------------
# Canonical text


def _english_ordinal(ordinal: int) -> str:
    if ordinal == LAST:
        return "last"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(ordinal, "th")
    return f"{ordinal}{suffix}"


def _join(items: list[str], conjunction: str) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def format_rule(rule: Rule) -> str:
    """Canonical English text for rule; parse_rule reads it back to an equal Rule."""
    time = f" {rule.time:%H:%M}" if rule.time is not None else ""
    if rule.kind == "yearly_date":
        assert rule.month is not None
        return f"{rule.day} {_EN_MONTHS[rule.month - 1]}{time}"
    assert rule.weekday is not None
    weekday = _EN_DAYS[rule.weekday]
    if rule.kind == "weekly":
        return f"every {weekday}{time}"
    if rule.kind == "biweekly":
        assert rule.anchor is not None
        return f"every other {weekday}{time} from {rule.anchor.isoformat()}"
    ordinals = _join([_english_ordinal(o) for o in rule.ordinals], "and")
    if rule.kind == "monthly":
        return f"every {ordinals} {weekday} of the month{time}"
    assert rule.month is not None
    return f"{ordinals} {weekday} of {_EN_MONTHS[rule.month - 1]}{time}"
