"""Small helpers for building message text safely."""

from __future__ import annotations

import html
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_skeleton, format_time, get_day_names, get_month_names

from bot.services.recurrence import LAST, Rule
from models import Member, Role


def esc(value: object) -> str:
    """Escape anything a user typed (names, usernames, free text) for parse_mode HTML."""
    return html.escape(str(value), quote=False)


def role_label(role: Role) -> str:
    """The role's name in the current locale."""
    labels = {
        Role.MEMBER: _("Member"),
        Role.HOST: _("Host"),
        Role.ORGANISER: _("Organiser"),
        Role.ADMIN: _("Admin"),
    }
    return labels[role]


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


def describe_rule(rule: Rule) -> str:
    """A meeting rule in the current locale, e.g. "jeden 2. Donnerstag im Monat, 19:00"."""
    locale = get_i18n().current_locale
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
                ordinals=_ordinals(rule.ordinals, locale), weekday=weekday
            )
        else:
            assert rule.month is not None
            when = _("every year on the {ordinals} {weekday} of {month}").format(
                ordinals=_ordinals(rule.ordinals, locale),
                weekday=weekday,
                month=get_month_names("wide", locale=locale)[rule.month],
            )
    if rule.time is None:
        return when
    return _("{when}, {time}").format(
        when=when, time=format_time(rule.time, format="short", locale=locale)
    )


def member_label(member: Member) -> str:
    """ "<b>Anna</b> (ID 123)", or "ID 123" for someone whose name the bot doesn't keep."""
    if member.first_name:
        return _("<b>{name}</b> (ID {id})").format(name=esc(member.first_name), id=member.id)
    return _("ID {id}").format(id=member.id)


def first_name_or_you(member: Member) -> str:
    """The member's first name for a greeting, escaped; a neutral word without consent."""
    return esc(member.first_name) if member.first_name else _("there")


def format_meeting(moment: datetime, zone: ZoneInfo) -> str:
    """A meeting time in the KV's zone and the current locale: "Do., 26. Nov., 19:00"."""
    locale = get_i18n().current_locale
    local = moment.astimezone(zone)
    return _("{date}, {time}").format(
        date=format_skeleton("MMMEd", local, locale=locale),
        time=format_time(local, format="short", locale=locale),
    )


def join_names(names: list[str]) -> str:
    """ "Anna", "Anna and Ben", "Anna, Ben and Cem" in the current locale."""
    if len(names) <= 1:
        return "".join(names)
    return _("{items} and {last}").format(items=", ".join(names[:-1]), last=names[-1])


def slot_label(slot: str) -> str:
    """A free-time slot in words."""
    labels = {
        "weekday_evening": _("weekday evenings"),
        "weekday_daytime": _("weekdays during the day"),
        "weekend": _("weekends"),
    }
    return labels.get(slot, slot)


def meeting_slot(moment: datetime, slot: str, zone: ZoneInfo) -> str:
    """When a group meets, as a reason: "Thursday evenings" / "am Donnerstagabend"."""
    locale = get_i18n().current_locale
    weekday = get_day_names("wide", locale=locale)[moment.astimezone(zone).weekday()]
    templates = {
        "weekday_evening": _("{weekday} evenings"),
        "weekday_daytime": _("{weekday}s during the day"),
        "weekend": _("{weekday}s"),
    }
    return templates.get(slot, "{weekday}").format(weekday=weekday)
