"""A shift reminder: what, when, where, the material, who else is on the shift, and buttons to
open the date's card or give up the shift (both handled by /aktionen's handlers).

The shift's lines (`shift_lines`) are shared with the calls for help, so both read the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_time, format_timedelta

from bot.services.shift_reminders import EVENING, ShiftReminder
from bot.telegram.callbacks import ActionAct, ActionCallback
from bot.telegram.format import (
    TEXT_LIMIT,
    esc,
    format_meeting,
    formatting_locale,
    names_within,
    visible_length,
)
from bot.telegram.labels import action_kind_label
from models import Member, Shift

Message = tuple[str, InlineKeyboardMarkup | None]


def shift_time(shift: Shift, zone: ZoneInfo) -> str:
    """ "Sa., 12. Jan., 09:30–10:00" in the KV's zone."""
    locale = formatting_locale(zone)
    end = format_time(shift.ends_at.astimezone(zone), format="short", locale=locale)
    return _("{start}–{end}").format(start=format_meeting(shift.starts_at, zone), end=end)


def shift_lines(shift: Shift, zone: ZoneInfo) -> list[str]:
    """The action's title and kind, the shift's day, time and label, the place (and Stadtteil)
    and the material notes, one line each."""
    action = shift.action_date.action
    lines = [
        _("<b>{title}</b> ({kind})").format(
            title=esc(action.title), kind=action_kind_label(action.kind, capitalised=False)
        )
    ]
    when = shift_time(shift, zone)
    if shift.label:
        when = _("{when} · {label}").format(when=when, label=esc(shift.label))
    lines.append(_("📅 {when}").format(when=when))
    if action.district is not None:
        lines.append(
            _("📍 {place} ({district})").format(
                place=esc(action.place), district=esc(action.district.name)
            )
        )
    else:
        lines.append(_("📍 {place}").format(place=esc(action.place)))
    if action.material:
        lines.append(_("🧰 Material: {material}").format(material=esc(action.material)))
    return lines


def first_names(members: tuple[Member, ...] | list[Member], budget: int = TEXT_LIMIT) -> str:
    """The members' first names, escaped ("a member" for one whose name the bot doesn't keep);
    as many as fit `budget` characters, and how many more."""
    return names_within(
        [esc(member.first_name) if member.first_name else _("a member") for member in members],
        budget,
    )


def date_button(shift: Shift) -> InlineKeyboardButton:
    """Open the card of the shift's date."""
    return InlineKeyboardButton(
        text=_("📋 Show the date"),
        callback_data=ActionCallback(act=ActionAct.DATE, date_id=shift.action_date_id).pack(),
    )


def shift_reminder(reminder: ShiftReminder, zone: ZoneInfo, *, now: datetime) -> Message:
    """The reminder: when the shift is, what and where, who else is on it, what it lacks."""
    shift = reminder.shift
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    # An evening reminder sent late after downtime (the next morning) says how soon instead.
    if reminder.which == EVENING and shift.starts_at.astimezone(zone).date() == tomorrow:
        heading = _("⏰ <b>Reminder:</b> your shift is tomorrow.")
    else:
        heading = _("⏰ <b>Reminder:</b> your shift starts {when}.").format(
            when=format_timedelta(
                shift.starts_at - now,
                add_direction=True,
                threshold=1.5,
                locale=formatting_locale(zone),
            )
        )
    lines = [heading, "", *shift_lines(shift, zone), ""]
    # 49 others with long names and the longest material notes would not fit one message.
    budget = TEXT_LIMIT - visible_length("\n".join(lines)) - 600
    if reminder.others:
        lines.append(
            ngettext(
                "👥 {count} other person is on this shift: {names}",
                "👥 {count} other people are on this shift: {names}",
                len(reminder.others),
            ).format(count=len(reminder.others), names=first_names(reminder.others, budget))
        )
    else:
        lines.append(_("👥 So far you are the only one on this shift."))
    if reminder.missing:
        lines.append(
            ngettext(
                "🙋 {count} more person is needed.",
                "🙋 {count} more people are needed.",
                reminder.missing,
            ).format(count=reminder.missing)
        )
    lines += ["", _("Can't make it after all? Give up the shift so someone else can step in.")]
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [date_button(shift)],
            [
                InlineKeyboardButton(
                    text=_("🚫 Give up the shift"),
                    callback_data=ActionCallback(act=ActionAct.CANCEL, shift_id=shift.id).pack(),
                )
            ],
        ]
    )
    return "\n".join(lines), keyboard
