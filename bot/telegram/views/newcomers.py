"""The organisers' weekly digest of newcomers who found no group yet."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.format import member_label
from models import Member

# Telegram's limit on inline buttons per message; the digest lists the rest by name only.
MAX_DIGEST_BUTTONS = 50


def newcomer_digest(newcomers: Sequence[Member], days: int) -> tuple[str, InlineKeyboardMarkup]:
    """Who has been with us `days` days or more without a group, with a button to write each."""
    lines = [
        _(
            "<b>Newcomers without a group</b> ({count}): they have been with us for "
            "{days} days or more and haven't joined a group yet. A personal message "
            "often helps."
        ).format(count=len(newcomers), days=days)
    ]
    lines += [f"• {member_label(newcomer)}" for newcomer in newcomers]
    buttons = [
        [
            InlineKeyboardButton(
                text=_("Write to {name}").format(name=newcomer.first_name or newcomer.id),
                url=f"tg://user?id={newcomer.id}",
            )
        ]
        for newcomer in newcomers[:MAX_DIGEST_BUTTONS]
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)
