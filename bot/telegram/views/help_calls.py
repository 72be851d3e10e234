"""A call for help: a shift lacks people; what, when, where, how many are missing, with a
one-tap sign-up (handled by /aktionen's handlers, marked as coming through a call) and the
date's card; and where such calls are switched off.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.help_calls import OpenCall
from bot.telegram.callbacks import ActionAct, ActionCallback, SettingsAction, SettingsCallback
from bot.telegram.views.broadcast import settings_button_label
from bot.telegram.views.shift_reminders import Message, date_button, shift_lines


def help_call(call: OpenCall, zone: ZoneInfo) -> Message:
    """ "Help wanted: this shift still lacks 2 people", the shift, the sign-up button."""
    shift = call.shift
    lines = [
        _("🆘 <b>Help wanted!</b>"),
        ngettext(
            "This shift still lacks {count} person:",
            "This shift still lacks {count} people:",
            call.missing,
        ).format(count=call.missing),
        "",
        *shift_lines(shift, zone),
        "",
        _("Can you help? One tap signs you up."),
    ]
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✋ I'm in"),
                    callback_data=ActionCallback(
                        act=ActionAct.SIGN_UP, shift_id=shift.id, call=1
                    ).pack(),
                )
            ],
            [date_button(shift)],
            [
                InlineKeyboardButton(
                    text=settings_button_label(),
                    callback_data=SettingsCallback(action=SettingsAction.OPEN).pack(),
                )
            ],
        ]
    )
    return "\n".join(lines), keyboard
