"""/einstellungen: which kinds of bulk messages a member wants, one switch per kind."""

from __future__ import annotations

from collections.abc import Collection

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import SettingsAction, SettingsCallback
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


def panel(off: Collection[Category]) -> tuple[str, InlineKeyboardMarkup]:
    """Every category with its state and a button that switches it the other way."""
    lines = [_("<b>Which messages do you want from me?</b>"), ""]
    buttons = []
    for category in Category:
        wanted = category not in off
        mark = "✅" if wanted else "🔕"
        lines.append(f"{mark} {category_label(category)}: {category_hint(category)}")
        buttons.append([_switch(category, wanted=wanted)])
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
