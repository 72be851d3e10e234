"""/einstellungen: which kinds of bulk messages a member wants, one switch per kind, and when
meeting reminders come."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.profile import REMINDER_CHOICES
from bot.telegram.callbacks import (
    ReminderAction,
    ReminderCallback,
    SettingsAction,
    SettingsCallback,
)
from bot.telegram.format import duration, join_names
from bot.telegram.labels import category_hint, category_label
from models import Category


def _switch(category: Category, *, wanted: bool) -> InlineKeyboardButton:
    # The button sets the state it names, so a second press of an old panel changes nothing.
    label = category_label(category)
    if wanted:
        text = _("Switch off {category}").format(category=label)
        action = SettingsAction.OFF
    else:
        text = _("Switch on {category}").format(category=label)
        action = SettingsAction.ON
    return InlineKeyboardButton(
        text=text, callback_data=SettingsCallback(action=action, category=category).pack()
    )


def offset_label(minutes: int) -> str:
    """ "a day", "2 hours": how long before a meeting a reminder comes."""
    labels = {
        7 * 24 * 60: _("a week"),
        24 * 60: _("a day"),
        2 * 60: _("2 hours"),
        60: _("an hour"),
    }
    # Rows written by other code may hold other offsets: say them plainly rather than fail.
    return labels.get(minutes) or duration(timedelta(minutes=minutes))


def _offset_button(minutes: int, *, chosen: bool) -> InlineKeyboardButton:
    # Like the switches above: the label names what a press sets.
    if chosen:
        text = _("🔕 Not {time} before").format(time=offset_label(minutes))
        action = ReminderAction.OFF
    else:
        text = _("⏰ Also {time} before").format(time=offset_label(minutes))
        action = ReminderAction.ON
    data = ReminderCallback(action=action, minutes=minutes)
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _reminder_section(
    offsets: Sequence[int], *, reminders_off: bool
) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    chosen = [minutes for minutes in REMINDER_CHOICES if minutes in offsets]
    if chosen:
        when = join_names(offset_label(minutes) for minutes in chosen)
        line = _("⏰ Meeting reminders: {when} before the start").format(when=when)
    else:
        line = _("⏰ Meeting reminders: none")
    lines = ["", line]
    if reminders_off and chosen:
        lines.append(_("(Reminders are switched off above, so none come for now.)"))
    buttons = [_offset_button(minutes, chosen=minutes in chosen) for minutes in REMINDER_CHOICES]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    if chosen:
        data = ReminderCallback(action=ReminderAction.NONE)
        rows.append(
            [InlineKeyboardButton(text=_("🔕 No meeting reminders"), callback_data=data.pack())]
        )
    return lines, rows


def panel(
    off: Collection[Category],
    offsets: Sequence[int] | None = None,
    *,
    extra: tuple[list[str], list[list[InlineKeyboardButton]]] | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """Every category with its state and a button that switches it the other way; with
    `offsets` (members who agreed, so who can answer meetings) when meeting reminders come;
    `extra` lines and button rows (the pause and calls, bot.telegram.views.reengagement)."""
    lines = [_("<b>Which messages do you want from me?</b>"), ""]
    buttons = []
    for category in Category:
        wanted = category not in off
        mark = "✅" if wanted else "🔕"
        lines.append(f"{mark} {category_label(category)}: {category_hint(category)}")
        buttons.append([_switch(category, wanted=wanted)])
    if extra is not None:
        lines += extra[0]
        buttons += extra[1]
    if offsets is not None:
        more, rows = _reminder_section(offsets, reminders_off=Category.REMINDERS in off)
        lines += more
        buttons += rows
    lines += [
        "",
        _(
            "You can change this at any time. Answers to what you ask for yourself, e.g. when "
            "you tap a button, always come."
        ),
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


def switched(category: Category, *, off: bool) -> str:
    """The short confirmation after a press."""
    label = category_label(category)
    if off:
        return _("{category} are switched off now.").format(category=label)
    return _("{category} are switched on again.").format(category=label)


def reminder_set(action: ReminderAction, minutes: int) -> str:
    """The short confirmation after a reminder button."""
    if action == ReminderAction.NONE:
        return _("No more meeting reminders.")
    if action == ReminderAction.ON:
        return _("I'll remind you {time} before.").format(time=offset_label(minutes))
    return _("No reminder {time} before any more.").format(time=offset_label(minutes))


def needs_consent() -> str:
    """Meeting reminders are for members who agreed (only they can answer meetings)."""
    return _("Meeting reminders are for those who agreed in /start.")
