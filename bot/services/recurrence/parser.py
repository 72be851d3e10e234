"""Reading recurrence rules written in German or English: parse_rule.

The parser is forgiving about word order, case, spacing and language, and strict about meaning:
anything it can't place is a RuleError naming the offending part, never a silent guess.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.services.recurrence.rule import (
    KIND_FIELDS,
    LAST,
    MAX_RULE_LENGTH,
    Rule,
    RuleError,
    valid_day,
    weekday_name,
)
from bot.services.recurrence.tokens import Token, tokenize
from bot.services.translation import gettext as _

# Parsing: first the text becomes tokens (numbers, dates, times and known words), then a scan
# pairs tokens that belong together ("2nd" + "Thursday", "27" + "January"), then the collected
# parts decide the kind. Working on parts rather than a fixed sentence shape is what lets
# "Thursdays 19:00", "19 Uhr, jeden Donnerstag" and "wöchentlich donnerstags 19:00" all work.


def parse_rule(text: str) -> Rule:
    """Read a rule written in German or English, e.g. "jeden 2. Donnerstag 19 Uhr".

    Raises RuleError with a clear reason naming the part it couldn't place, in the active
    locale (bot.services.translation; English without one).
    """
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise RuleError(_("empty rule: write e.g. 'every Thursday 19:00' or '27.01.'"))
    if len(text) > MAX_RULE_LENGTH:
        message = _(
            "rule is too long ({length} character, at most {limit})",
            "rule is too long ({length} characters, at most {limit})",
            len(text),
        )
        raise RuleError(message.format(length=len(text), limit=MAX_RULE_LENGTH))
    return _build(_collect(tokenize(text)))


@dataclass(slots=True)
class _Parts:
    times: list[Token] = field(default_factory=list)
    weekdays: list[Token] = field(default_factory=list)
    ordinals: list[Token] = field(default_factory=list)
    dates: list[Token] = field(default_factory=list)  # day and month, no year
    months: list[Token] = field(default_factory=list)  # a month without a day
    anchors: list[Token] = field(default_factory=list)  # dates with a year
    intervals: list[Token] = field(default_factory=list)  # n = weeks between meetings
    marks: list[Token] = field(default_factory=list)


def _collect(tokens: list[Token]) -> _Parts:
    parts = _Parts()
    index = 0
    while index < len(tokens):
        index = _STEPS[tokens[index].kind](tokens, index, parts)
    return parts


def _skip_fillers(tokens: list[Token], index: int) -> int:
    """The index of the first token from index on that means something (len(tokens) if none)."""
    while index < len(tokens) and tokens[index].kind == "filler":
        index += 1
    return index


def _kind_at(tokens: list[Token], index: int) -> str | None:
    return tokens[index].kind if index < len(tokens) else None


def _ordinal_chain(tokens: list[Token], index: int) -> tuple[list[Token], int]:
    """ "1st and 3rd", "1., 3. und 5.": the ordinals starting at index and the index after."""
    chain = [tokens[index]]
    index += 1
    while _kind_at(tokens, index) == "joiner" and _kind_at(tokens, index + 1) == "ord":
        chain.append(tokens[index + 1])
        index += 2
    return chain, index


def _step_ordinal(tokens: list[Token], index: int, parts: _Parts) -> int:
    chain, end = _ordinal_chain(tokens, index)
    position = _skip_fillers(tokens, end)
    kind = _kind_at(tokens, position)
    if kind == "weekday":
        parts.ordinals.extend(chain)
        parts.weekdays.append(tokens[position])
        return position + 1
    first = chain[0]
    if len(chain) == 1 and kind == "week":
        text = f"{first.text} {tokens[position].text}"
        parts.intervals.append(Token("other", text, n=first.n))
        return position + 1
    if len(chain) == 1 and kind == "month" and first.n > 0:
        month = tokens[position]
        text = f"{first.text} {month.text}"
        parts.dates.append(Token("date", text, day=first.n, month=month.n))
        return position + 1
    raise RuleError(
        _("'{ordinal}' must be followed by a weekday, e.g. '2nd Thursday'").format(
            ordinal=chain[-1].text
        )
    )


def _step_number(tokens: list[Token], index: int, parts: _Parts) -> int:
    number = tokens[index]
    position = _skip_fillers(tokens, index + 1)
    kind = _kind_at(tokens, position)
    if kind == "week":
        text = f"{number.text} {tokens[position].text}"
        parts.intervals.append(Token("other", text, n=number.n))
        return position + 1
    if kind == "month":
        month = tokens[position]
        text = f"{number.text} {month.text}"
        parts.dates.append(Token("date", text, day=number.n, month=month.n))
        return position + 1
    raise RuleError(
        _(
            "unexpected number '{number}': write times as '19:00' or '19 Uhr' and dates as '27.01.'"
        ).format(number=number.text)
    )


def _step_month(tokens: list[Token], index: int, parts: _Parts) -> int:
    month = tokens[index]
    position = _skip_fillers(tokens, index + 1)
    kind = _kind_at(tokens, position)
    if kind in ("num", "ord") and tokens[position].n > 0:
        # "September 2nd Sunday" keeps the ordinal for the weekday; "January 27th" is a day.
        _, end = _ordinal_chain(tokens, position)
        if _kind_at(tokens, _skip_fillers(tokens, end)) != "weekday" or kind == "num":
            day = tokens[position]
            text = f"{month.text} {day.text}"
            parts.dates.append(Token("date", text, day=day.n, month=month.n))
            return position + 1
    parts.months.append(month)
    return index + 1


def _step_other(tokens: list[Token], index: int, parts: _Parts) -> int:
    other = tokens[index]
    position = _skip_fillers(tokens, index + 1)
    if _kind_at(tokens, position) == "week":
        text = f"{other.text} {tokens[position].text}"
        parts.intervals.append(Token("other", text, n=2))
        return position + 1
    parts.intervals.append(Token("other", other.text, n=2))
    return index + 1


def _step_simple(tokens: list[Token], index: int, parts: _Parts) -> int:
    token = tokens[index]
    if token.kind == "time":
        parts.times.append(token)
    elif token.kind == "date":
        (parts.dates if token.year is None else parts.anchors).append(token)
    elif token.kind == "weekday":
        parts.weekdays.append(token)
    elif token.kind == "week":
        # "every week", "jede Woche"; counted weeks were taken by the number or ordinal before.
        parts.marks.append(Token("mark", token.text, mark="weekly"))
    elif token.kind == "mark" and token.mark == "biweekly":
        parts.intervals.append(Token("other", token.text, n=2))
    elif token.kind == "mark":
        parts.marks.append(token)
    # Fillers and stray joiners ("Thursday, 19:00") carry no meaning of their own.
    return index + 1


_STEPS: dict[str, Callable[[list[Token], int, _Parts], int]] = {
    "ord": _step_ordinal,
    "num": _step_number,
    "month": _step_month,
    "other": _step_other,
    **dict.fromkeys(
        ("time", "date", "weekday", "week", "mark", "joiner", "filler"),
        _step_simple,
    ),
}


_Part = Literal["time", "weekday", "date", "month", "start date"]


def _more_than_one(what: _Part, tokens: list[Token]) -> str:
    parts = _(" and ").join(f"'{token.text}'" for token in tokens)
    messages = {
        "time": _("more than one time: {parts}"),
        "weekday": _("more than one weekday (write one rule per weekday): {parts}"),
        "date": _("more than one date: {parts}"),
        "month": _("more than one month: {parts}"),
        "start date": _("more than one start date: {parts}"),
    }
    return messages[what].format(parts=parts)


def _one(tokens: list[Token], what: _Part, *, same: Callable[[Token], object]) -> Token | None:
    if len({same(token) for token in tokens}) > 1:
        raise RuleError(_more_than_one(what, tokens))
    return tokens[0] if tokens else None


def _build(parts: _Parts) -> Rule:
    time_token = _one(parts.times, "time", same=lambda t: t.clock)
    clock = time_token.clock if time_token else None
    _one(parts.weekdays, "weekday", same=lambda t: t.n)
    _one(parts.dates, "date", same=lambda t: (t.day, t.month))
    _one(parts.months, "month", same=lambda t: t.n)
    _one(parts.anchors, "start date", same=lambda t: (t.year, t.month, t.day))
    for ordinal in parts.ordinals:
        if ordinal.n != LAST and not 1 <= ordinal.n <= 5:
            raise RuleError(
                _("ordinal out of range '{ordinal}' (use 1st to 5th or last)").format(
                    ordinal=ordinal.text
                )
            )
    for interval in parts.intervals:
        if interval.n != 2:
            raise RuleError(
                _(
                    "unsupported interval '{interval}': "
                    "only weekly and every-other-week rules are supported"
                ).format(interval=interval.text)
            )
    if parts.dates:
        return _build_yearly_date(parts, clock)
    if parts.months:
        return _build_yearly_weekday(parts, clock)
    if parts.intervals:
        return _build_biweekly(parts, clock)
    if not parts.weekdays:
        if time_token is not None and "." in time_token.text:
            raise RuleError(
                _(
                    "no weekday or date found: write e.g. 'every Thursday 19:00', "
                    "'first Monday of the month 18:30' or '27.01.' "
                    "(dates need a final dot, e.g. '{time}.')"
                ).format(time=time_token.text)
            )
        raise RuleError(
            _(
                "no weekday or date found: write e.g. 'every Thursday 19:00', "
                "'first Monday of the month 18:30' or '27.01.'"
            )
        )
    if parts.ordinals:
        _reject_extras(parts, "monthly", allowed_marks={"monthly"})
        return Rule("monthly", clock, weekday=parts.weekdays[0].n, ordinals=_ordinals(parts))
    monthly = [mark for mark in parts.marks if mark.mark == "monthly"]
    if monthly:
        raise RuleError(
            _("'{word}' needs an ordinal, e.g. '2nd Thursday of the month 19:00'").format(
                word=monthly[0].text
            )
        )
    _reject_extras(parts, "weekly", allowed_marks={"weekly"})
    return Rule("weekly", clock, weekday=parts.weekdays[0].n)


def _ordinals(parts: _Parts) -> tuple[int, ...]:
    return tuple(token.n for token in parts.ordinals)


def _reject_extras(parts: _Parts, kind: str, *, allowed_marks: set[str]) -> None:
    """Refuse parts the chosen kind has no use for, rather than silently ignoring them."""
    if parts.anchors and kind != "biweekly":
        raise RuleError(
            _(
                "start date '{date}' only applies to biweekly rules, "
                "e.g. 'every other Thursday 19:00 from 2026-01-08'"
            ).format(date=parts.anchors[0].text)
        )
    used = KIND_FIELDS[kind]
    extras = [
        *(parts.weekdays if "weekday" not in used else []),
        *(parts.ordinals if "ordinals" not in used else []),
        *(parts.intervals if kind != "biweekly" else []),
        *(mark for mark in parts.marks if mark.mark not in allowed_marks),
    ]
    if extras:
        raise RuleError(_does_not_fit(kind, extras[0].text))


def _does_not_fit(kind: str, part: str) -> str:
    # One whole sentence per kind, so that a translation can inflect the kind's adjective.
    messages = {
        "weekly": _("'{part}' doesn't fit a weekly rule"),
        "biweekly": _("'{part}' doesn't fit a biweekly rule"),
        "monthly": _("'{part}' doesn't fit a monthly rule"),
        "yearly_date": _("'{part}' doesn't fit a yearly date rule"),
        "yearly_weekday": _("'{part}' doesn't fit a yearly weekday rule"),
    }
    return messages[kind].format(part=part)


def _build_yearly_date(parts: _Parts, clock: dt.time | None) -> Rule:
    date = parts.dates[0]
    if parts.months:
        raise RuleError(
            _("'{month}' doesn't fit the date '{date}'").format(
                month=parts.months[0].text, date=date.text
            )
        )
    _reject_extras(parts, "yearly_date", allowed_marks={"yearly"})
    if not 1 <= date.month <= 12 or not valid_day(date.day, date.month):
        raise RuleError(_("impossible date '{date}'").format(date=date.text))
    return Rule("yearly_date", clock, month=date.month, day=date.day)


def _build_yearly_weekday(parts: _Parts, clock: dt.time | None) -> Rule:
    month = parts.months[0]
    if not parts.weekdays:
        raise RuleError(
            _(
                "'{month}' needs a day or a weekday, e.g. '27 January' or '2nd Sunday of September'"
            ).format(month=month.text)
        )
    if not parts.ordinals:
        raise RuleError(
            _("'{weekday}' in '{month}' needs an ordinal, e.g. '2nd Sunday of September'").format(
                weekday=parts.weekdays[0].text, month=month.text
            )
        )
    _reject_extras(parts, "yearly_weekday", allowed_marks={"yearly"})
    return Rule(
        "yearly_weekday",
        clock,
        weekday=parts.weekdays[0].n,
        ordinals=_ordinals(parts),
        month=month.n,
    )


def _build_biweekly(parts: _Parts, clock: dt.time | None) -> Rule:
    if parts.ordinals:
        raise RuleError(
            _("'{ordinal}' doesn't fit a rule that repeats every other week").format(
                ordinal=parts.ordinals[0].text
            )
        )
    _reject_extras(parts, "biweekly", allowed_marks=set())
    if not parts.anchors:
        # The same text as BIWEEKLY_NEEDS_START, written out so that Babel extracts it.
        raise RuleError(
            _("biweekly rules need a start date, e.g. 'every other Thursday 19:00 from 2026-01-08'")
        )
    anchor_token = parts.anchors[0]
    assert anchor_token.year is not None
    anchor = dt.date(anchor_token.year, anchor_token.month, anchor_token.day)
    # Without a weekday the start date says which one: "alle zwei Wochen ab 08.01.2026".
    weekday = parts.weekdays[0].n if parts.weekdays else anchor.weekday()
    if anchor.weekday() != weekday:
        raise RuleError(
            _("start date '{date}' is a {weekday}, not a {expected}").format(
                date=anchor_token.text,
                weekday=weekday_name(anchor.weekday()),
                expected=weekday_name(weekday),
            )
        )
    return Rule("biweekly", clock, weekday=weekday, anchor=anchor)
