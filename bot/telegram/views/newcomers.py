"""The organisers' weekly digest of newcomers who found no group yet."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.format import member_label, number
from models import Member

# Telegram's limit on inline buttons per message; the digest lists the rest by name only.
MAX_DIGEST_BUTTONS = 50


def newcomer_digest(newcomers: Sequence[Member], days: int) -> tuple[str, InlineKeyboardMarkup]:
    """Who has been with us `days` days or more without a group, with a button to write each."""
    count = len(newcomers)
    # Two plurals in one sentence (people and days) need two messages: the period first.
    period = _("for {days} day or more", "for {days} days or more", days).format(days=days)
    lines = [
        _("<b>Newcomers without a group</b> ({count})").format(count=number(count)),
        _(
            "This newcomer has been with us {period} and hasn't joined a group yet. "
            "A personal message often helps.",
            "These newcomers have been with us {period} and haven't joined a group yet. "
            "A personal message often helps.",
            count,
        ).format(period=period),
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
