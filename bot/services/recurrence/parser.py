"""Reading recurrence rules written in German or English: the tokenizer and parse_rule.

The parser is forgiving about word order, case, spacing and language, and strict about meaning:
anything it can't place is a RuleError naming the offending part, never a silent guess.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable, Sequence
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
from bot.services.translation import gettext as _

# Parsing: first the text becomes tokens (numbers, dates, times and known words), then a scan
# pairs tokens that belong together ("2nd" + "Thursday", "27" + "January"), then the collected
# parts decide the kind. Working on parts rather than a fixed sentence shape is what lets
# "Thursdays 19:00", "19 Uhr, jeden Donnerstag" and "wöchentlich donnerstags 19:00" all work.

_TokenKind = Literal[
    "time", "date", "ord", "num", "weekday", "month", "week", "mark", "other", "joiner", "filler"
]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    text: str  # as written, for error messages
    n: int = 0  # weekday, month, ordinal or number
    mark: str = ""  # weekly, biweekly, monthly, yearly
    clock: dt.time | None = None
    day: int = 0
    month: int = 0
    year: int | None = None


_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<iso>(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2}))(?![\d:])
    |(?P<dmy>(?P<dmy_d>\d{1,2})\.(?P<dmy_m>\d{1,2})\.(?P<dmy_y>\d{4}|\d{2}))(?![\d:])
    |(?P<dm>(?P<dm_d>\d{1,2})\.(?P<dm_m>\d{1,2})\.)(?![\d:])
    |(?P<clock>(?P<clock_h>\d{1,2})[:.](?P<clock_m>\d{2})(?!\d)
        (?:\s*(?P<clock_s>[ap]\.?m\.?|uhr|h)(?![^\W\d_]))?)
    |(?P<hour>(?P<hour_h>\d{1,2})\s*(?P<hour_s>[ap]\.?m\.?|uhr|h)(?![^\W\d_]))
    |(?P<fortnight>(?:14\s*-?\s*t(?:ä|ae)g(?:ig|lich)|2\s*-?\s*w(?:ö|oe)ch(?:entlich|ig))
        (?![^\W\d_]))
    |(?P<ordnum>\d{1,2}(?:st|nd|rd|th)(?![^\W\d_])|\d{1,2}\.(?!\d))
    |(?P<num>\d+)
    |(?P<word>[^\W\d_]+(?:-[^\W\d_]+)*\.?)
    |(?P<joiner>[,&+/;])
    |(?P<punct>[.\-–—])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_TOKEN_GROUPS = (
    "space",
    "iso",
    "dmy",
    "dm",
    "clock",
    "hour",
    "fortnight",
    "ordnum",
    "num",
    "word",
    "joiner",
    "punct",
)


def _words(groups: dict[int, Sequence[str]]) -> dict[str, int]:
    return {word: value for value, words in groups.items() for word in words}


_WEEKDAY_WORDS = _words(
    {
        0: ("monday", "mondays", "mon", "montag", "montags", "mo"),
        1: ("tuesday", "tuesdays", "tue", "tues", "dienstag", "dienstags", "di"),
        2: ("wednesday", "wednesdays", "wed", "mittwoch", "mittwochs", "mi"),
        3: ("thursday", "thursdays", "thu", "thur", "thurs", "donnerstag", "donnerstags", "do"),
        4: ("friday", "fridays", "fri", "freitag", "freitags", "fr"),
        5: ("saturday", "saturdays", "sat", "samstag", "samstags", "sonnabend", "sonnabends", "sa"),
        6: ("sunday", "sundays", "sun", "sonntag", "sonntags", "so"),
    }
)
_MONTH_WORDS = _words(
    {
        1: ("january", "jan", "januar", "jänner", "jaenner"),
        2: ("february", "feb", "februar", "feber"),
        3: ("march", "mar", "märz", "maerz", "mrz"),
        4: ("april", "apr"),
        5: ("may", "mai"),
        6: ("june", "jun", "juni"),
        7: ("july", "jul", "juli"),
        8: ("august", "aug"),
        9: ("september", "sep", "sept"),
        10: ("october", "oct", "oktober", "okt"),
        11: ("november", "nov"),
        12: ("december", "dec", "dezember", "dez"),
    }
)
# Ordinals beyond 5 are known words so that "sixth Monday" says "out of range", not "unknown".
_GERMAN_ORDINAL_STEMS = {
    1: ("erst",),
    2: ("zweit",),
    3: ("dritt",),
    4: ("viert",),
    5: ("fünft", "fuenft"),
    6: ("sechst",),
    7: ("siebt",),
    8: ("acht",),
    LAST: ("letzt",),
}
_ORDINAL_WORDS = {
    **_words(
        {
            1: ("first",),
            2: ("second",),
            3: ("third",),
            4: ("fourth",),
            5: ("fifth",),
            6: ("sixth",),
            7: ("seventh",),
            8: ("eighth",),
            LAST: ("last",),
        }
    ),
    **{
        stem + ending: value
        for value, stems in _GERMAN_ORDINAL_STEMS.items()
        for stem in stems
        for ending in ("e", "er", "en", "es", "em")
    },
}
_NUMBER_WORDS = _words(
    {
        2: ("two", "zwei"),
        3: ("three", "drei"),
        4: ("four", "vier"),
    }
)
_MARK_WORDS: dict[str, str] = {
    **dict.fromkeys(("weekly", "wöchentlich", "woechentlich"), "weekly"),
    **dict.fromkeys(
        (
            "biweekly",
            "fortnightly",
            "zweiwöchentlich",
            "zweiwoechentlich",
            "zweiwöchig",
            "zweiwoechig",
            "vierzehntägig",
            "vierzehntaegig",
            "vierzehntäglich",
            "vierzehntaeglich",
        ),
        "biweekly",
    ),
    **dict.fromkeys(("month", "monthly", "monat", "monats", "monatlich"), "monthly"),
    **dict.fromkeys(
        ("year", "yearly", "annually", "annual", "jahr", "jahres", "jährlich", "jaehrlich"),
        "yearly",
    ),
}
_WEEK_WORDS = frozenset({"week", "weeks", "woche", "wochen"})
_OTHER_WORDS = frozenset({"other", "alternate"})
_JOINER_WORDS = frozenset({"and", "und"})
_FILLER_WORDS = frozenset(
    {
        "every",
        "each",
        "on",
        "of",
        "the",
        "in",
        "at",
        "from",
        "starting",
        "start",
        "starts",
        "beginning",
        "since",
        "jeden",
        "jede",
        "jeder",
        "jedes",
        "jedem",
        "alle",
        "im",
        "am",
        "um",
        "an",
        "ab",
        "seit",
        "beginnend",
        "des",
        "der",
        "den",
        "die",
        "dem",
    }
)
_ALL_WORDS = sorted(
    {
        *_WEEKDAY_WORDS,
        *_MONTH_WORDS,
        *_ORDINAL_WORDS,
        *_NUMBER_WORDS,
        *_MARK_WORDS,
        *_WEEK_WORDS,
        *_OTHER_WORDS,
        *_JOINER_WORDS,
        *_FILLER_WORDS,
    }
)


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
    return _build(_collect(_tokenize(text)))


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise RuleError(
                _("unexpected character {character} in {rule}").format(
                    character=repr(text[position]), rule=repr(text)
                )
            )
        position = match.end()
        group = next(name for name in _TOKEN_GROUPS if match.group(name) is not None)
        tokens.extend(_make_tokens(group, match))
    return tokens


def _make_tokens(group: str, match: re.Match[str]) -> list[_Token]:
    raw = match.group(group)
    if group in ("space", "punct"):
        return []
    if group == "iso":
        return [_dated(raw, match.group("iso_d"), match.group("iso_m"), match.group("iso_y"))]
    if group == "dmy":
        return [_dated(raw, match.group("dmy_d"), match.group("dmy_m"), match.group("dmy_y"))]
    if group == "dm":
        day, month = int(match.group("dm_d")), int(match.group("dm_m"))
        return [_Token("date", raw, day=day, month=month)]
    if group == "clock":
        hour, minute = int(match.group("clock_h")), int(match.group("clock_m"))
        return _timed(raw, hour, minute, match.group("clock_s"))
    if group == "hour":
        return _timed(raw, int(match.group("hour_h")), 0, match.group("hour_s"))
    if group == "fortnight":
        return [_Token("mark", raw, mark="biweekly")]
    if group == "ordnum":
        return [_Token("ord", raw, n=int("".join(ch for ch in raw if ch.isdigit())))]
    if group == "num":
        return [_Token("num", raw, n=int(raw))]
    if group == "joiner":
        return [_Token("joiner", raw)]
    return [_word(raw)]


def _dated(raw: str, day: str, month: str, year: str) -> _Token:
    # Two-digit years only ever mean this century in a bot's start dates.
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    try:
        dt.date(full_year, int(month), int(day))
    except ValueError:
        raise RuleError(_("impossible date '{date}'").format(date=raw)) from None
    return _Token("date", raw, day=int(day), month=int(month), year=full_year)


def _timed(raw: str, hour: int, minute: int, suffix: str | None) -> list[_Token]:
    meridiem = (suffix or "").lower().replace(".", "")
    if meridiem == "am" and not 1 <= hour <= 12:
        # "19:00 am ersten Montag": German "am" (on the), not English a.m.
        return _timed(raw[: raw.lower().rindex("am")].rstrip(), hour, minute, None)
    if meridiem in ("am", "pm"):
        if not 1 <= hour <= 12 or minute > 59:
            raise RuleError(_("time out of range '{time}'").format(time=raw))
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif hour > 23 or minute > 59:
        if "." in raw and 1 <= minute <= 12:
            raise RuleError(
                _(
                    "time out of range '{time}' (write dates with a final dot, e.g. '{time}.')"
                ).format(time=raw)
            )
        raise RuleError(_("time out of range '{time}'").format(time=raw))
    return [_Token("time", raw, clock=dt.time(hour, minute))]


def _word(raw: str) -> _Token:
    key = raw.lower().rstrip(".").replace("-", "")
    if key in _WEEKDAY_WORDS:
        return _Token("weekday", raw, n=_WEEKDAY_WORDS[key])
    if key in _MONTH_WORDS:
        return _Token("month", raw, n=_MONTH_WORDS[key])
    if key in _ORDINAL_WORDS:
        return _Token("ord", raw, n=_ORDINAL_WORDS[key])
    if key in _NUMBER_WORDS:
        return _Token("num", raw, n=_NUMBER_WORDS[key])
    if key in _MARK_WORDS:
        return _Token("mark", raw, mark=_MARK_WORDS[key])
    if key in _WEEK_WORDS:
        return _Token("week", raw)
    if key in _OTHER_WORDS:
        return _Token("other", raw)
    if key in _JOINER_WORDS:
        return _Token("joiner", raw)
    if key in _FILLER_WORDS:
        return _Token("filler", raw)
    raise RuleError(_unknown_word(raw, key))


def _close_word(key: str, vocabulary: dict[str, int]) -> str | None:
    close = difflib.get_close_matches(key, [w for w in vocabulary if len(w) > 3], 1, 0.75)
    return close[0].capitalize() if close else None


def _unknown_word(raw: str, key: str) -> str:
    weekday = _close_word(key, _WEEKDAY_WORDS)
    if weekday is not None:
        return _("unknown weekday '{word}' (did you mean '{suggestion}'?)").format(
            word=raw, suggestion=weekday
        )
    month = _close_word(key, _MONTH_WORDS)
    if month is not None:
        return _("unknown month '{word}' (did you mean '{suggestion}'?)").format(
            word=raw, suggestion=month
        )
    if key.endswith(("day", "days", "tag", "tags")):
        return _("unknown weekday '{word}'").format(word=raw)
    close = difflib.get_close_matches(key, _ALL_WORDS, 1, 0.8)
    if close:
        return _("unrecognised word '{word}' (did you mean '{suggestion}'?)").format(
            word=raw, suggestion=close[0]
        )
    return _("unrecognised word '{word}'").format(word=raw)


@dataclass(slots=True)
class _Parts:
    times: list[_Token] = field(default_factory=list)
    weekdays: list[_Token] = field(default_factory=list)
    ordinals: list[_Token] = field(default_factory=list)
    dates: list[_Token] = field(default_factory=list)  # day and month, no year
    months: list[_Token] = field(default_factory=list)  # a month without a day
    anchors: list[_Token] = field(default_factory=list)  # dates with a year
    intervals: list[_Token] = field(default_factory=list)  # n = weeks between meetings
    marks: list[_Token] = field(default_factory=list)


def _collect(tokens: list[_Token]) -> _Parts:
    parts = _Parts()
    index = 0
    while index < len(tokens):
        index = _STEPS[tokens[index].kind](tokens, index, parts)
    return parts


def _skip_fillers(tokens: list[_Token], index: int) -> int:
    """The index of the first token from index on that means something (len(tokens) if none)."""
    while index < len(tokens) and tokens[index].kind == "filler":
        index += 1
    return index


def _kind_at(tokens: list[_Token], index: int) -> str | None:
    return tokens[index].kind if index < len(tokens) else None


def _ordinal_chain(tokens: list[_Token], index: int) -> tuple[list[_Token], int]:
    """ "1st and 3rd", "1., 3. und 5.": the ordinals starting at index and the index after."""
    chain = [tokens[index]]
    index += 1
    while _kind_at(tokens, index) == "joiner" and _kind_at(tokens, index + 1) == "ord":
        chain.append(tokens[index + 1])
        index += 2
    return chain, index


def _step_ordinal(tokens: list[_Token], index: int, parts: _Parts) -> int:
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
        parts.intervals.append(_Token("other", text, n=first.n))
        return position + 1
    if len(chain) == 1 and kind == "month" and first.n > 0:
        month = tokens[position]
        text = f"{first.text} {month.text}"
        parts.dates.append(_Token("date", text, day=first.n, month=month.n))
        return position + 1
    raise RuleError(
        _("'{ordinal}' must be followed by a weekday, e.g. '2nd Thursday'").format(
            ordinal=chain[-1].text
        )
    )


def _step_number(tokens: list[_Token], index: int, parts: _Parts) -> int:
    number = tokens[index]
    position = _skip_fillers(tokens, index + 1)
    kind = _kind_at(tokens, position)
    if kind == "week":
        text = f"{number.text} {tokens[position].text}"
        parts.intervals.append(_Token("other", text, n=number.n))
        return position + 1
    if kind == "month":
        month = tokens[position]
        text = f"{number.text} {month.text}"
        parts.dates.append(_Token("date", text, day=number.n, month=month.n))
        return position + 1
    raise RuleError(
        _(
            "unexpected number '{number}': write times as '19:00' or '19 Uhr' and dates as '27.01.'"
        ).format(number=number.text)
    )


def _step_month(tokens: list[_Token], index: int, parts: _Parts) -> int:
    month = tokens[index]
    position = _skip_fillers(tokens, index + 1)
    kind = _kind_at(tokens, position)
    if kind in ("num", "ord") and tokens[position].n > 0:
        # "September 2nd Sunday" keeps the ordinal for the weekday; "January 27th" is a day.
        _, end = _ordinal_chain(tokens, position)
        if _kind_at(tokens, _skip_fillers(tokens, end)) != "weekday" or kind == "num":
            day = tokens[position]
            text = f"{month.text} {day.text}"
            parts.dates.append(_Token("date", text, day=day.n, month=month.n))
            return position + 1
    parts.months.append(month)
    return index + 1


def _step_other(tokens: list[_Token], index: int, parts: _Parts) -> int:
    other = tokens[index]
    position = _skip_fillers(tokens, index + 1)
    if _kind_at(tokens, position) == "week":
        text = f"{other.text} {tokens[position].text}"
        parts.intervals.append(_Token("other", text, n=2))
        return position + 1
    parts.intervals.append(_Token("other", other.text, n=2))
    return index + 1


def _step_simple(tokens: list[_Token], index: int, parts: _Parts) -> int:
    token = tokens[index]
    if token.kind == "time":
        parts.times.append(token)
    elif token.kind == "date":
        (parts.dates if token.year is None else parts.anchors).append(token)
    elif token.kind == "weekday":
        parts.weekdays.append(token)
    elif token.kind == "week":
        # "every week", "jede Woche"; counted weeks were taken by the number or ordinal before.
        parts.marks.append(_Token("mark", token.text, mark="weekly"))
    elif token.kind == "mark" and token.mark == "biweekly":
        parts.intervals.append(_Token("other", token.text, n=2))
    elif token.kind == "mark":
        parts.marks.append(token)
    # Fillers and stray joiners ("Thursday, 19:00") carry no meaning of their own.
    return index + 1


_STEPS: dict[str, Callable[[list[_Token], int, _Parts], int]] = {
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


def _more_than_one(what: _Part, tokens: list[_Token]) -> str:
    parts = _(" and ").join(f"'{token.text}'" for token in tokens)
    messages = {
        "time": _("more than one time: {parts}"),
        "weekday": _("more than one weekday (write one rule per weekday): {parts}"),
        "date": _("more than one date: {parts}"),
        "month": _("more than one month: {parts}"),
        "start date": _("more than one start date: {parts}"),
    }
    return messages[what].format(parts=parts)


def _one(tokens: list[_Token], what: _Part, *, same: Callable[[_Token], object]) -> _Token | None:
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
