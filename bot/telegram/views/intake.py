"""The intake conversation: its steps, the summary of the answers, the reminder."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import IntakeCallback


def intake_reminder() -> tuple[str, InlineKeyboardMarkup]:
    """The one reminder a day after an abandoned intake, with a button to carry on."""
    text = _(
        "You started telling me what you care about yesterday. Two minutes more "
        "and I can suggest groups that fit you."
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Carry on"),
                    callback_data=IntakeCallback(step="resume", action="resume").pack(),
                )
            ]
        ]
    )
    return text, keyboard
