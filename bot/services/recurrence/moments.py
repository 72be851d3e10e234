"""Single dates and times as hosts type them: parse_moment, parse_day and parse_period.

When a host adds, moves or pauses a meeting they type one moment ("Do 19:00", "12.3. 18:30",
"morgen 19 Uhr", "Thu 7pm", "2027-03-12 18:30") or a period ("1.7.-31.8.", "vom 1.7. bis
31.8.", "from July 1 to August 31"). The words and numbers are read by the recurrence tokenizer,
so the same weekdays, months and times work here as in rules; this module adds "heute",
"morgen", "übermorgen" (today, tomorrow, the day after tomorrow) and decides which date is meant.

What is meant, in short: a weekday is the next one (today's if the time is still ahead), a date
without a year the next such date (this year from today on, else next year), a date with a year
exactly that. Times are wall-clock times in the KV's zone; one that doesn't exist on a
spring-forward night is refused, an ambiguous one on a fall-back night is the first (fold=0).

Every refusal is a MomentError with a stable `reason` and a message in the active locale that
names the problem. Messages quote what was typed: escape them when echoing in HTML.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from bot.services.recurrence.rule import RuleError, month_name, valid_day, weekday_name
from bot.services.recurrence.tokens import Token, tokenize
from bot.services.translation import gettext as _

MomentReason = Literal[
    "empty",
    "unreadable",
    "no_time",
    "no_date",
    "impossible_date",
    "past",
    "nonexistent",
    "too_far",
    "too_long",
    "reversed",
]

MAX_MOMENT_LENGTH = 100
"""The longest text read as a moment or a period; anything longer is no date."""
MAX_YEARS_AHEAD = 2
"""How far ahead a moment or the end of a period may lie (from today, in whole years)."""


class MomentError(RuleError):
    """A date, time or period that can't be read or can't be meant; str() says why.

    `reason` is one of MomentReason: empty, unreadable, no_time (a day without a time where a
    moment is wanted), no_date (a time without a day), impossible_date (31.2., or a weekday
    that doesn't fit the date), past, nonexistent (a time the clocks skip on a spring-forward
    night), too_far (more than MAX_YEARS_AHEAD years ahead), too_long, reversed (a period that
    ends before it starts).
    """

    def __init__(self, reason: MomentReason, message: str) -> None:
        super().__init__(message)
        self.reason: MomentReason = reason


def format_moment_example() -> str:
    """Examples of moments, in the active locale, for prompts and error messages."""
    return _("Thu 19:00 · 12.3. 18:30 · tomorrow 7pm")


def format_day_example() -> str:
    """Examples of single days, in the active locale."""
    return _("12.3. · Mon · tomorrow")


def format_period_example() -> str:
    """Examples of periods, in the active locale."""
    return _("1.7.-31.8. · from July 1 to August 31")


def parse_moment(text: str, *, now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """One date and time in German or English, as an aware UTC datetime strictly after now.

    Reads "Do 19:00", "Thursday 7pm", "12.3. 18:30", "12.3.2027 18:30", "2027-03-12 18:30",
    "12. März 18:30", "March 12 6:30pm", "morgen 19 Uhr", "today 8pm", "19:00 übermorgen" and
    the like. The time is a wall-clock time in zone. A weekday is the next one, today's if the
    time is still ahead; a date without a year is this year's from today on, else next year's.
    Raises MomentError (see its reasons) for anything else, a time in the past included.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    examples = format_moment_example()
    reading = _read(text, examples)
    if not reading.times:
        if not reading.has_day:
            raise _unreadable(_("no date and no time found"), examples)
        raise MomentError(
            "no_time",
            _("No time given. Add one, e.g. '{text} 19:00'").format(text=reading.text),
        )
    if not reading.has_day:
        raise MomentError(
            "no_date",
            _("No day given. Add one, e.g. 'tomorrow {text}' or 'Thu {text}'").format(
                text=reading.text
            ),
        )
    clock = reading.time
    local_now = now.astimezone(zone)
    today = local_now.date()
    day = reading.day_on_or_after(today)
    if not (reading.dates or reading.relatives) and _at(day, clock, zone) <= now:
        # Only a weekday, and today's time has passed: next week's.
        day += dt.timedelta(days=7)
    moment = _at(day, clock, zone)
    if moment <= now:
        raise MomentError("past", _("{when} is in the past").format(when=_moment_text(day, clock)))
    _check_exists(day, clock, zone)
    _check_not_too_far(day, today, _moment_text(day, clock))
    return moment


def parse_day(text: str, *, today: dt.date) -> dt.date:
    """One date in German or English ("12.3.", "12.03.2027", "morgen", "Mo", "March 12").

    Today or later: a weekday is the next one (today's if today is one), a date without a year
    is this year's from today on, else next year's. Raises MomentError; a time is refused.
    """
    examples = format_day_example()
    reading = _read(text, examples)
    reading.refuse_times(examples)
    if not reading.has_day:
        raise _unreadable(_("no date found"), examples)
    day = reading.day_on_or_after(today)
    if day < today:
        raise MomentError("past", _("{when} is in the past").format(when=_date_text(day)))
    _check_not_too_far(day, today, _date_text(day))
    return day


def parse_period(text: str, *, today: dt.date) -> tuple[dt.date, dt.date]:
    """A period of whole days, first and last included, e.g. for a pause.

    Reads "1.7.-31.8.", "1.7. - 31.8.2027", "vom 1.7. bis 31.8.", "from July 1 to August 31",
    "2027-07-01 to 2027-08-31", "bis 31.8." (from today) and a single day ("24.12."). The end
    is today or later (a date without a year: the next one); a start without a year is the last
    such date not after the end, so "1.12.-15.1." spans the new year and a pause already under
    way keeps its start in the past. Raises MomentError: "reversed" when the end lies before
    the start, "past" when the end does.
    """
    start_reading, end_reading = _period_readings(text, format_period_example())
    start, end = _fit_period(start_reading, end_reading, today)
    if end < start:
        raise MomentError(
            "reversed",
            _("The period ends before it starts: {end} is before {start}").format(
                end=_date_text(end), start=_date_text(start)
            ),
        )
    if end < today:
        raise MomentError(
            "past", _("The period ends in the past ({when})").format(when=_date_text(end))
        )
    _check_not_too_far(end, today, _date_text(end))
    return start, end


def _period_readings(text: str, examples: str) -> tuple[_Reading | None, _Reading]:
    """The start and the end as read; no start means from today, one day is both."""
    cleaned = _clean(text, examples)
    pieces = _split_period(cleaned)
    if len(pieces) == 1:
        if _START_WORD_RE.search(cleaned):
            raise _unreadable(_("a period needs a start and an end"), examples)
        day = _read_day(cleaned, examples)
        return day, day
    if len(pieces) != 2 or not pieces[1].strip():
        raise _unreadable(_("a period needs a start and an end"), examples)
    start_piece, end_piece = pieces
    end = _read_day(end_piece, examples)
    if not start_piece.strip():
        return None, end  # "bis 31.8."
    return _read_day(start_piece, examples), end


def _fit_period(
    start_reading: _Reading | None, end_reading: _Reading, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The dates meant: the end today or later, a start without a year the last before it."""
    start: dt.date | None
    start_spec = start_reading.day_spec() if start_reading is not None else None
    if start_reading is None:
        start = today
    elif start_spec is not None and start_spec.year is None:
        start = None  # fitted to the end below
    else:
        start = start_reading.day_on_or_after(today)
    end_spec = end_reading.day_spec()
    if end_spec is not None and end_spec.year is None:
        end = end_spec.on_or_after(start if start is not None else today)
        end_reading.check_weekday(end)
    else:
        end = end_reading.day_on_or_after(today)
    if start is None:
        assert start_reading is not None
        assert start_spec is not None
        start = start_spec.on_or_before(end)
        start_reading.check_weekday(start)
    return start, end


# ---------------------------------------------------------------------------------------------
# Reading the text

# Words the rule vocabulary doesn't have: days relative to today, and words that only help the
# sentence along ("vom 1.7.", "nächsten Donnerstag", "heute Abend"). "next Thursday" is the
# next Thursday, as "nächsten Donnerstag" is.
_RELATIVE_WORDS = {
    "today": 0,
    "tonight": 0,
    "heute": 0,
    "tomorrow": 1,
    "morgen": 1,
    "the day after tomorrow": 2,
    "day after tomorrow": 2,
    "übermorgen": 2,
    "uebermorgen": 2,
}
_EXTRA_FILLERS = frozenset(
    {
        "vom",
        "von",
        "zum",
        "next",
        "this",
        "coming",
        "nächste",
        "nächsten",
        "nächster",
        "naechste",
        "naechsten",
        "naechster",
        "kommende",
        "kommenden",
        "kommender",
        "diesen",
        "dieser",
        "abend",
        "abends",
        "evening",
    }
)
_EXTRA_RE = re.compile(
    r"(?<![^\W\d_])(?:"
    + "|".join(
        re.escape(word).replace(r"\ ", r"\s+")
        for word in sorted([*_RELATIVE_WORDS, *_EXTRA_FILLERS], key=len, reverse=True)
    )
    + r")(?![^\W\d_])",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[^\W\d_]+")
# The tokenizer refuses impossible dates with a year in a message of its own; these are checked
# first, so that they come back as "impossible_date" with the month's length.
_YEAR_DATE_RE = re.compile(
    r"(?<!\d)(?:(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2})"
    r"|(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2}))(?![\d:])"
)
# Between the start and the end of a period; dashes inside ISO dates are no separators.
_SEPARATOR_RE = re.compile(
    r"[-–—]|(?<![^\W\d_])(?:bis|to|until|till|through|thru)(?![^\W\d_])", re.IGNORECASE
)
_ISO_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_START_WORD_RE = re.compile(
    r"(?<![^\W\d_])(?:ab|from|seit|since|starting|beginning|vom|von)(?![^\W\d_])", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class _DateSpec:
    """A date as typed: day and month, and the year if one was given."""

    text: str
    day: int
    month: int
    year: int | None

    def resolve(self, today: dt.date) -> dt.date:
        """With a year, that date; without, the next one from today on."""
        if self.year is not None:
            return dt.date(self.year, self.month, self.day)
        return self.on_or_after(today)

    def on_or_after(self, start: dt.date) -> dt.date:
        """The first such date not before start (with a year: that date)."""
        if self.year is not None:
            return dt.date(self.year, self.month, self.day)
        # 29.02. may be up to eight years away (2096 -> 2104).
        for year in range(start.year, min(start.year + 9, dt.MAXYEAR + 1)):
            if self.day <= calendar.monthrange(year, self.month)[1]:
                day = dt.date(year, self.month, self.day)
                if day >= start:
                    return day
        raise _too_far(self.text)

    def on_or_before(self, end: dt.date) -> dt.date:
        """The last such date not after end (with a year: that date)."""
        if self.year is not None:
            return dt.date(self.year, self.month, self.day)
        for year in range(end.year, max(end.year - 9, dt.MINYEAR - 1), -1):
            if self.day <= calendar.monthrange(year, self.month)[1]:
                day = dt.date(year, self.month, self.day)
                if day <= end:
                    return day
        raise _unreadable(
            _("'{part}' doesn't fit here").format(part=self.text), format_period_example()
        )


@dataclass(slots=True)
class _Reading:
    """What a text says: the day (a date, a relative day, a weekday) and the time."""

    text: str
    times: list[Token] = field(default_factory=list)
    weekdays: list[Token] = field(default_factory=list)
    dates: list[_DateSpec] = field(default_factory=list)
    relatives: list[tuple[str, int]] = field(default_factory=list)

    @property
    def has_day(self) -> bool:
        return bool(self.dates or self.relatives or self.weekdays)

    @property
    def time(self) -> dt.time:
        clock = self.times[0].clock
        assert clock is not None
        return clock

    @property
    def weekday(self) -> int | None:
        return self.weekdays[0].n if self.weekdays else None

    def day_spec(self) -> _DateSpec | None:
        """The typed date, if a date (not a relative day or only a weekday) was given."""
        return self.dates[0] if self.dates else None

    def day_on_or_after(self, today: dt.date) -> dt.date:
        """The day meant, reading a weekday or a date without a year as today or later."""
        if self.relatives:
            day = today + dt.timedelta(days=self.relatives[0][1])
        elif self.dates:
            day = self.dates[0].resolve(today)
        else:
            weekday = self.weekday
            assert weekday is not None
            return today + dt.timedelta(days=(weekday - today.weekday()) % 7)
        self.check_weekday(day)
        return day

    def check_weekday(self, day: dt.date) -> None:
        """Refuse "Do 12.3." when 12.3. is no Thursday."""
        if self.weekdays and (self.dates or self.relatives) and day.weekday() != self.weekday:
            assert self.weekday is not None
            typed = self.dates[0].text if self.dates else self.relatives[0][0]
            raise MomentError(
                "impossible_date",
                _("'{date}' is a {weekday}, not a {expected}").format(
                    date=typed,
                    weekday=weekday_name(day.weekday()),
                    expected=weekday_name(self.weekday),
                ),
            )

    def refuse_times(self, examples: str) -> None:
        if self.times:
            raise _unreadable(
                _("'{time}' is a time; only a date fits here").format(time=self.times[0].text),
                examples,
            )


def _clean(text: str, examples: str) -> str:
    """The text normalised and stripped; "empty" and "too_long" refused."""
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise MomentError(
            "empty", _("Nothing given. Write e.g. {examples}").format(examples=examples)
        )
    if len(text) > MAX_MOMENT_LENGTH:
        raise MomentError(
            "too_long",
            _(
                "Too long: {length} character (at most {limit})",
                "Too long: {length} characters (at most {limit})",
                len(text),
            ).format(length=len(text), limit=MAX_MOMENT_LENGTH),
        )
    return text


def _read(text: str, examples: str) -> _Reading:
    """Tokenize and pair up the pieces of text; refuse what doesn't fit one moment."""
    text = _clean(text, examples)
    reading = _Reading(text)
    _check_year_dates(text)

    def keep(match: re.Match[str]) -> str:
        key = re.sub(r"\s+", " ", match.group().lower())
        if key in _RELATIVE_WORDS:
            reading.relatives.append((match.group(), _RELATIVE_WORDS[key]))
        return " "

    rest = _EXTRA_RE.sub(keep, text)
    try:
        tokens = tokenize(rest)
    except RuleError as error:
        raise _unreadable(_suggestion(rest) or str(error), examples) from None
    _interpret(tokens, reading, examples)
    _check_single(reading)
    return reading


def _read_day(text: str, examples: str) -> _Reading:
    reading = _read(text, examples)
    reading.refuse_times(examples)
    if not reading.has_day:
        raise _unreadable(_("no date found"), examples)
    return reading


def _suggestion(text: str) -> str | None:
    """ "morgn": the nearest of this module's own words, which the tokenizer doesn't know."""
    vocabulary = [word for word in [*_RELATIVE_WORDS, *_EXTRA_FILLERS] if len(word) > 3]
    for word in _WORD_RE.findall(text):
        try:
            tokenize(word)
        except RuleError:
            pass
        else:
            continue  # a word the tokenizer knows isn't the unknown one
        close = difflib.get_close_matches(word.lower(), vocabulary, 1, 0.75)
        if close:
            return _("unrecognised word '{word}' (did you mean '{suggestion}'?)").format(
                word=word, suggestion=close[0]
            )
    return None


def _check_year_dates(text: str) -> None:
    for match in _YEAR_DATE_RE.finditer(text):
        if match.group("iso_y"):
            year, month, day = (int(match.group(g)) for g in ("iso_y", "iso_m", "iso_d"))
        else:
            year, month, day = (int(match.group(g)) for g in ("y", "m", "d"))
            if len(match.group("y")) == 2:
                year += 2000  # as the tokenizer reads it
        _check_date(match.group(), day, month, year)


def _check_date(text: str, day: int, month: int, year: int | None) -> None:
    if not 1 <= month <= 12:
        raise MomentError(
            "impossible_date",
            _("'{date}' doesn't exist: there is no month {month}").format(date=text, month=month),
        )
    if year is None:
        if not valid_day(day, month):
            days = calendar.monthrange(2000, month)[1]  # a leap year: the most days
            message = _(
                "'{date}' doesn't exist: {month} has at most {days} day",
                "'{date}' doesn't exist: {month} has at most {days} days",
                days,
            )
            raise MomentError(
                "impossible_date", message.format(date=text, month=month_name(month), days=days)
            )
        return
    days = calendar.monthrange(year, month)[1] if dt.MINYEAR <= year <= dt.MAXYEAR else 0
    if not 1 <= day <= days:
        message = _(
            "'{date}' doesn't exist: {month} {year} has {days} day",
            "'{date}' doesn't exist: {month} {year} has {days} days",
            days,
        )
        raise MomentError(
            "impossible_date",
            message.format(date=text, month=month_name(month), year=year, days=days),
        )


def _next_meaningful(tokens: list[Token], index: int, *, joiners: bool = False) -> int:
    skip = ("filler", "joiner") if joiners else ("filler",)
    while index < len(tokens) and tokens[index].kind in skip:
        index += 1
    return index


def _interpret(tokens: list[Token], reading: _Reading, examples: str) -> None:
    """Pair the tokens up ("12" + "März", "March" + "12") and file them in reading."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind in ("filler", "joiner"):
            index += 1
        elif token.kind == "time":
            reading.times.append(token)
            index += 1
        elif token.kind == "weekday":
            reading.weekdays.append(token)
            index += 1
        elif token.kind == "date":
            index = _add_date(
                tokens, index + 1, reading, token.text, token.day, token.month, token.year
            )
        elif token.kind == "month":
            index = _take_month(tokens, index, reading)
        elif token.kind in ("num", "ord"):
            index = _take_number(tokens, index, reading)
        else:
            raise _unreadable(_("'{part}' doesn't fit here").format(part=token.text), examples)


def _take_month(tokens: list[Token], index: int, reading: _Reading) -> int:
    """ "March 12", "March 12th"; a month without a day is refused."""
    month = tokens[index]
    after = _next_meaningful(tokens, index + 1)
    if after < len(tokens) and tokens[after].kind in ("num", "ord") and tokens[after].n >= 1:
        day = tokens[after]
        text = f"{month.text} {day.text}"
        return _add_date(tokens, after + 1, reading, text, day.n, month.n, None)
    raise _unreadable(_("'{month}' needs a day, e.g. '12 March'").format(month=month.text))


def _take_number(tokens: list[Token], index: int, reading: _Reading) -> int:
    """ "12. März", "12 March", "12th of March"; any other number is refused."""
    number = tokens[index]
    after = _next_meaningful(tokens, index + 1)
    if after < len(tokens) and tokens[after].kind == "month" and number.n >= 1:
        month = tokens[after]
        text = f"{number.text} {month.text}"
        return _add_date(tokens, after + 1, reading, text, number.n, month.n, None)
    if number.kind == "num":
        raise _unreadable(
            _(
                "unexpected number '{number}': "
                "write times as '19:00' or '19 Uhr' and dates as '27.01.'"
            ).format(number=number.text),
        )
    raise _unreadable(
        _("'{ordinal}' needs a month, e.g. '12 March' or '12.3.'").format(ordinal=number.text),
    )


def _add_date(
    tokens: list[Token],
    index: int,
    reading: _Reading,
    text: str,
    day: int,
    month: int,
    year: int | None,
) -> int:
    """Record a date, taking a year that follows ("12. März 2027", "March 12, 2027")."""
    if year is None:
        after = _next_meaningful(tokens, index, joiners=True)
        if after < len(tokens) and tokens[after].kind == "num" and len(tokens[after].text) == 4:
            year = tokens[after].n
            text = f"{text} {tokens[after].text}"
            index = after + 1
    _check_date(text, day, month, year)
    reading.dates.append(_DateSpec(text, day, month, year))
    return index


def _quoted(parts: list[str]) -> str:
    return _(" and ").join(f"'{part}'" for part in parts)


def _check_single(reading: _Reading) -> None:
    """One time, one weekday and one date at most (a weekday may go with the date)."""
    if len({token.clock for token in reading.times}) > 1:
        parts = _quoted([token.text for token in reading.times])
        # "13.03 19:00": a date without its final dot reads as a time.
        dotted = [token.text for token in reading.times if re.fullmatch(r"\d+\.\d+", token.text)]
        if dotted:
            problem = _(
                "more than one time: {parts} (write dates with a final dot, e.g. '{time}.')"
            ).format(parts=parts, time=dotted[0])
        else:
            problem = _("more than one time: {parts}").format(parts=parts)
        raise _unreadable(problem)
    if len({token.n for token in reading.weekdays}) > 1:
        raise _unreadable(
            _("more than one weekday: {parts}").format(
                parts=_quoted([token.text for token in reading.weekdays])
            ),
        )
    days = [spec.text for spec in reading.dates] + [text for text, _offset in reading.relatives]
    if len(days) > 1:
        raise _unreadable(_("more than one date: {parts}").format(parts=_quoted(days)))


def _split_period(text: str) -> list[str]:
    """The text cut at each separator between start and end ("-", "bis", "to", ...)."""
    iso_spans = [match.span() for match in _ISO_RE.finditer(text)]
    pieces: list[str] = []
    begin = 0
    for match in _SEPARATOR_RE.finditer(text):
        if any(start <= match.start() < end for start, end in iso_spans):
            continue
        pieces.append(text[begin : match.start()])
        begin = match.end()
    pieces.append(text[begin:])
    return pieces


# ---------------------------------------------------------------------------------------------
# Checks and messages


def _unreadable(problem: str, examples: str = "") -> MomentError:
    """An "unreadable" refusal naming the problem, with examples unless the problem has some."""
    if not examples:
        return MomentError("unreadable", _("Can't read that: {problem}").format(problem=problem))
    return MomentError(
        "unreadable",
        _("Can't read that: {problem}. Write e.g. {examples}").format(
            problem=problem, examples=examples
        ),
    )


def _at(day: dt.date, clock: dt.time, zone: ZoneInfo) -> dt.datetime:
    # fold=0: an ambiguous time is its first occurrence.
    return dt.datetime.combine(day, clock.replace(fold=0), tzinfo=zone).astimezone(dt.UTC)


def _check_exists(day: dt.date, clock: dt.time, zone: ZoneInfo) -> None:
    """Refuse a wall-clock time the clocks skip (02:30 on a spring-forward night in Berlin)."""
    naive = dt.datetime.combine(day, clock.replace(fold=0))
    local = naive.replace(tzinfo=zone)
    if local.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return
    before = local.utcoffset()
    after = naive.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None
    assert after is not None
    # The switch lies between the two readings of the skipped time; find it to the second.
    low = (naive - after).replace(tzinfo=dt.UTC)  # still before the switch
    high = (naive - before).replace(tzinfo=dt.UTC)  # already after it
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    switch = high.replace(tzinfo=None, microsecond=0)
    raise MomentError(
        "nonexistent",
        _(
            "{when} doesn't exist in {zone}: the clocks jump from {start} to {end} that night"
        ).format(
            when=_moment_text(day, clock),
            zone=zone.key or str(zone),
            start=f"{switch + before:%H:%M}",
            end=f"{switch + after:%H:%M}",
        ),
    )


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29.02. in a year without one, or past year 9999
        if day.year + years > dt.MAXYEAR:
            return dt.date.max
        return day.replace(year=day.year + years, day=28)


def _check_not_too_far(day: dt.date, today: dt.date, when: str) -> None:
    if day > _years_later(today, MAX_YEARS_AHEAD):
        raise _too_far(when)


def _too_far(when: str) -> MomentError:
    message = _(
        "{when} is too far ahead: at most {years} year from today",
        "{when} is too far ahead: at most {years} years from today",
        MAX_YEARS_AHEAD,
    )
    return MomentError("too_far", message.format(when=when, years=MAX_YEARS_AHEAD))


def _date_text(day: dt.date) -> str:
    return f"{day:%d.%m.%Y}"


def _moment_text(day: dt.date, clock: dt.time) -> str:
    return f"{day:%d.%m.%Y} {clock:%H:%M}"
