"""Building message text: escaping, and dates, times, numbers and lists in the member's locale.

Every function renders in the current i18n locale (set per update by the i18n middleware, per
recipient by the outbox). Dates and times also follow the KV's region, taken from its time
zone: a German KV shows 19:00 to English readers too, not 7:00 PM.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import (
    format_date,
    format_skeleton,
    format_time,
    format_timedelta,
    get_day_names,
    get_month_names,
    get_timezone_location,
)
from babel.lists import format_list
from babel.numbers import format_decimal

from bot.services.recurrence import LAST, Rule
from models import Member

# Lists of dates are joined with this, not a comma: German dates contain commas themselves.
DATE_SEPARATOR = " · "


def esc(value: object) -> str:
    """Escape anything a user typed (names, usernames, free text) for parse_mode HTML."""
    return html.escape(str(value), quote=False)


@cache
def _locale(language: str, zone_key: str | None) -> Locale:
    territory = get_global("zone_territories").get(zone_key) if zone_key else None
    if territory:
        try:
            return Locale.parse(f"{language}_{territory}")
        except (UnknownLocaleError, ValueError):
            pass  # no such combination in CLDR: the language's own conventions
    return Locale.parse(language)


def formatting_locale(zone: ZoneInfo | None = None) -> Locale:
    """The current language in the KV's region (en_DE for English in a German KV)."""
    return _locale(get_i18n().current_locale, zone.key if zone is not None else None)


def number(value: float) -> str:
    """A count in the current locale ("1.234" / "1,234")."""
    return format_decimal(value, locale=formatting_locale())


def duration(value: timedelta) -> str:
    """ "3 minutes" / "3 Minuten" (at least a second)."""
    return format_timedelta(
        max(value, timedelta(seconds=1)), locale=formatting_locale(), threshold=1.5
    )


def join_names(names: Iterable[str]) -> str:
    """ "Anna", "Anna and Ben", "Anna, Ben and Cem" in the current locale."""
    items = list(names)
    return format_list(items, locale=formatting_locale()) if items else ""


def format_day(moment: datetime | date, zone: ZoneInfo) -> str:
    """A date in the current locale, e.g. "01.12.2026" / "1 Dec 2026"."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(zone).date()
    return format_date(moment, format="medium", locale=formatting_locale(zone))


def format_meeting(moment: datetime, zone: ZoneInfo) -> str:
    """A meeting time in the KV's zone and the current locale: "Do., 26. Nov., 19:00"."""
    locale = formatting_locale(zone)
    local = moment.astimezone(zone)
    return _("{date}, {time}").format(
        date=format_skeleton("MMMEd", local, locale=locale),
        time=format_time(local, format="short", locale=locale),
    )


def zone_name(zone: ZoneInfo) -> str:
    """The KV's time zone as people name it, by its city: "Berlin" for Europe/Berlin."""
    return get_timezone_location(zone, locale=formatting_locale(zone), return_city=True)


def meeting_dates(moments: Iterable[datetime], zone: ZoneInfo) -> str:
    """Several meeting times on one line, separated so the commas inside dates don't clash."""
    return DATE_SEPARATOR.join(format_meeting(moment, zone) for moment in moments)


def member_label(member: Member) -> str:
    """ "<b>Anna</b> (ID 123)", or "ID 123" for someone whose name the bot doesn't keep."""
    if member.first_name:
        return _("<b>{name}</b> (ID {id})").format(name=esc(member.first_name), id=member.id)
    return _("ID {id}").format(id=member.id)


def first_name_or_you(member: Member) -> str:
    """The member's first name for a greeting, escaped; a neutral word without consent."""
    return esc(member.first_name) if member.first_name else _("there")


def _ordinal(ordinal: int, locale: str) -> str:
    if ordinal == LAST:
        return _("last")
    if locale == "en":
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(ordinal if ordinal < 20 else ordinal % 10, "th")
        return f"{ordinal}{suffix}"
    return f"{ordinal}."


def _ordinals(ordinals: tuple[int, ...], locale: str) -> str:
    # A single first reads best as a word ("jeden ersten Montag"); "jeden zweiten Donnerstag"
    # would read as "every other Thursday" to many German speakers, so other ordinals stay
    # numerals ("jeden 2. Donnerstag im Monat").
    if ordinals == (1,):
        return _("first")
    words = [_ordinal(ordinal, locale) for ordinal in ordinals]
    if len(words) == 1:
        return words[0]
    return _("{items} and {last}").format(items=", ".join(words[:-1]), last=words[-1])


def describe_rule(rule: Rule, zone: ZoneInfo | None = None) -> str:
    """A meeting rule in the current locale, e.g. "jeden 2. Donnerstag im Monat, 19:00".

    With the KV's `zone`, times follow its region (19:00 in English for a German KV).
    """
    locale = formatting_locale(zone)
    if rule.kind == "yearly_date":
        assert rule.month is not None
        assert rule.day is not None
        # A leap year, so 29 February can be named.
        day = format_skeleton("MMMMd", date(2000, rule.month, rule.day), locale=locale)
        when = _("every year on {date}").format(date=day)
    else:
        assert rule.weekday is not None
        weekday = get_day_names("wide", locale=locale)[rule.weekday]
        if rule.kind == "weekly":
            when = _("every {weekday}").format(weekday=weekday)
        elif rule.kind == "biweekly":
            when = _("every other {weekday}").format(weekday=weekday)
        elif rule.kind == "monthly":
            when = _("every {ordinals} {weekday} of the month").format(
                ordinals=_ordinals(rule.ordinals, locale.language), weekday=weekday
            )
        else:
            assert rule.month is not None
            when = _("every year on the {ordinals} {weekday} of {month}").format(
                ordinals=_ordinals(rule.ordinals, locale.language),
                weekday=weekday,
                month=get_month_names("wide", locale=locale)[rule.month],
            )
    if rule.time is None:
        return when
    return _("{when}, {time}").format(
        when=when, time=format_time(rule.time, format="short", locale=locale)
    )


def meeting_slot(moment: datetime, slot: str, zone: ZoneInfo) -> str:
    """When a group meets, as a reason: "Thursday evenings" / "Donnerstagabends"."""
    weekday = get_day_names("wide", locale=formatting_locale(zone))[
        moment.astimezone(zone).weekday()
    ]
    templates = {
        "weekday_evening": _("{weekday} evenings"),
        "weekday_daytime": _("{weekday}s during the day"),
        "weekend": _("{weekday}s"),
    }
    return templates.get(slot, "{weekday}").format(weekday=weekday)


# --- Telegram's limits on one message ----------------------------------------------------------

# Telegram counts a text after parsing its entities, in UTF-16 code units, without the
# whitespace around it.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# Buttons of one inline keyboard, and the bytes of one button's callback data.
KEYBOARD_LIMIT = 100
CALLBACK_DATA_LIMIT = 64

# The bot writes its HTML itself (user text goes through esc), so tags never hold a ">".
_TAG = re.compile(r"<[^>]*>")


def visible_length(text: str) -> int:
    """How long Telegram finds an HTML text: tags dropped, entities decoded, UTF-16 units."""
    visible = html.unescape(_TAG.sub("", text)).strip()
    return len(visible.encode("utf-16-le")) // 2


def shorten(item: str, room: int) -> str:
    """An item that can't fit even alone, cut to `room` visible characters as plain text.

    Cutting the HTML itself could split a tag or an entity, so the item loses its formatting.
    """
    plain = html.unescape(_TAG.sub("", item))
    units = plain.encode("utf-16-le")[: max(room - 1, 0) * 2]
    return esc(units.decode("utf-16-le", errors="ignore") + "…")


def fitting(items: Sequence[str], *, budget: int, max_items: int | None = None) -> int:
    """How many of `items` (from the start, one a line) fit in `budget` visible characters."""
    runs = pack([visible_length(item) for item in items], budget=budget, max_items=max_items)
    if not runs:
        return 0
    first = runs[0]
    # A first item longer than the budget alone doesn't fit either.
    return len(first) if sum(visible_length(items[i]) for i in first) <= budget else 0


def names_within(names: Sequence[str], budget: int) -> str:
    """ "Anna, Ben and Cem", or as many as fit `budget` characters and "and 12 more"."""
    full = join_names(names)
    if visible_length(full) <= budget:
        return full
    shown = fitting(names, budget=max(budget - 40, 0))
    more = len(names) - shown
    return _("{names} and {n} more person", "{names} and {n} more people", more).format(
        names=", ".join(names[:shown]), n=number(more)
    )


def part_label(part: int, parts: int) -> str:
    """ " · part 2 of 5" after the heading of a list that goes on over several messages."""
    if parts == 1:
        return ""
    return _(" · part {part} of {parts}").format(part=part, parts=parts)


def pack(
    lengths: Sequence[int], *, budget: int, separator: int = 1, max_items: int | None = None
) -> list[range]:
    """Consecutive runs of items (by their visible lengths) that each fit in `budget`.

    Items joined by a separator of `separator` characters; at most `max_items` per run (so a
    keyboard with a button per item stays within Telegram's). Every item is in exactly one run;
    an item longer than the budget alone gets a run of its own (the caller shortens it).
    """
    runs: list[range] = []
    start, size = 0, 0
    for index, length in enumerate(lengths):
        count = index - start
        if count and (
            size + separator + length > budget or (max_items is not None and count >= max_items)
        ):
            runs.append(range(start, index))
            start, size = index, 0
        size = length if index == start else size + separator + length
    if start < len(lengths):
        runs.append(range(start, len(lengths)))
    return runs


def value_lines(
    template: str, values: Sequence[str], *, separator: str = ", ", room: int = TEXT_LIMIT // 2
) -> list[str]:
    """ "Groups: A, B, C" as one line, or as several such lines when the values don't fit in
    `room` characters together (so a message split between lines can hold each)."""
    label = visible_length(template.format(value=""))
    runs = pack(
        [visible_length(value) for value in values],
        budget=max(room - label, 1),
        separator=len(separator),
    )
    return [template.format(value=separator.join(values[i] for i in run)) for run in runs]


def split_message(
    head: str | Callable[[int, int], str],
    items: Sequence[str],
    *,
    tail: str = "",
    separator: str = "\n",
    limit: int = TEXT_LIMIT,
    max_items: int | None = None,
) -> list[tuple[str, range]]:
    """A list too long for one message as several, split only between items.

    `head` opens every part (what the list is; a function of the part's number and the number
    of parts where the parts say "2/3"), `tail` closes the last. Returns each part's text and
    which items it holds. HTML tags never span items, so every part is balanced.
    """

    def heading(part: int, parts: int) -> str:
        return head if isinstance(head, str) else head(part, parts)

    # Room for the items beside the longest head (the first part's may say more).
    longest_head = max(visible_length(heading(part, 99)) for part in (1, 2, 99))
    room = limit - longest_head - visible_length(tail) - 4
    items = [item if visible_length(item) <= room else shorten(item, room) for item in items]
    runs = pack(
        [visible_length(item) for item in items],
        budget=room,
        separator=visible_length(separator) or len(separator),
        max_items=max_items,
    ) or [range(0)]
    parts: list[tuple[str, range]] = []
    for number_, run in enumerate(runs, start=1):
        blocks = [heading(number_, len(runs))]
        if len(run):
            blocks.append(separator.join(items[index] for index in run))
        if number_ == len(runs) and tail:
            blocks.append(tail)
        parts.append(("\n".join(blocks), run))
    return parts
