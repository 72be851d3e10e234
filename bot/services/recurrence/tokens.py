"""The words of recurrence rules: the tokenizer and its German and English vocabulary.

The text becomes tokens (numbers, dates, times and known words); a word the vocabulary doesn't
know is a RuleError that suggests the nearest known one.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.services.recurrence.rule import LAST, RuleError
from bot.services.translation import gettext as _

TokenKind = Literal[
    "time", "date", "ord", "num", "weekday", "month", "week", "mark", "other", "joiner", "filler"
]


@dataclass(frozen=True, slots=True)
class Token:
    """One meaningful piece of a rule, as the parser pairs them up."""

    kind: TokenKind
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


def tokenize(text: str) -> list[Token]:
    """The tokens of text, spaces and punctuation dropped; RuleError for what isn't one."""
    tokens: list[Token] = []
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


def _make_tokens(group: str, match: re.Match[str]) -> list[Token]:
    raw = match.group(group)
    if group in ("space", "punct"):
        return []
    if group == "iso":
        return [_dated(raw, match.group("iso_d"), match.group("iso_m"), match.group("iso_y"))]
    if group == "dmy":
        return [_dated(raw, match.group("dmy_d"), match.group("dmy_m"), match.group("dmy_y"))]
    if group == "dm":
        day, month = int(match.group("dm_d")), int(match.group("dm_m"))
        return [Token("date", raw, day=day, month=month)]
    if group == "clock":
        hour, minute = int(match.group("clock_h")), int(match.group("clock_m"))
        return _timed(raw, hour, minute, match.group("clock_s"))
    if group == "hour":
        return _timed(raw, int(match.group("hour_h")), 0, match.group("hour_s"))
    if group == "fortnight":
        return [Token("mark", raw, mark="biweekly")]
    if group == "ordnum":
        return [Token("ord", raw, n=int("".join(ch for ch in raw if ch.isdigit())))]
    if group == "num":
        return [Token("num", raw, n=int(raw))]
    if group == "joiner":
        return [Token("joiner", raw)]
    return [_word(raw)]


def _dated(raw: str, day: str, month: str, year: str) -> Token:
    # Two-digit years only ever mean this century in a bot's start dates.
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    try:
        dt.date(full_year, int(month), int(day))
    except ValueError:
        raise RuleError(_("impossible date '{date}'").format(date=raw)) from None
    return Token("date", raw, day=int(day), month=int(month), year=full_year)


def _timed(raw: str, hour: int, minute: int, suffix: str | None) -> list[Token]:
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
    return [Token("time", raw, clock=dt.time(hour, minute))]


def _word(raw: str) -> Token:
    key = raw.lower().rstrip(".").replace("-", "")
    if key in _WEEKDAY_WORDS:
        return Token("weekday", raw, n=_WEEKDAY_WORDS[key])
    if key in _MONTH_WORDS:
        return Token("month", raw, n=_MONTH_WORDS[key])
    if key in _ORDINAL_WORDS:
        return Token("ord", raw, n=_ORDINAL_WORDS[key])
    if key in _NUMBER_WORDS:
        return Token("num", raw, n=_NUMBER_WORDS[key])
    if key in _MARK_WORDS:
        return Token("mark", raw, mark=_MARK_WORDS[key])
    if key in _WEEK_WORDS:
        return Token("week", raw)
    if key in _OTHER_WORDS:
        return Token("other", raw)
    if key in _JOINER_WORDS:
        return Token("joiner", raw)
    if key in _FILLER_WORDS:
        return Token("filler", raw)
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
