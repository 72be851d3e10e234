"""The organisers' weekly digest of newcomers who found no group yet."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.format import member_label, number, part_label, split_message
from models import Member

# Newcomers per message: each gets a "write" button, and a keyboard holds 100 at most.
DIGEST_PER_MESSAGE = 50


def newcomer_digest(
    newcomers: Sequence[Member], days: int
) -> list[tuple[str, InlineKeyboardMarkup]]:
    """Who has been with us `days` days or more without a group, with a button to write each.

    As many messages as it takes: every newcomer is listed, each message within Telegram's
    limits (4096 characters, 100 buttons).
    """
    count = len(newcomers)
    # Two plurals in one sentence (people and days) need two messages: the period first.
    period = _("for {days} day or more", "for {days} days or more", days).format(days=days)
    title = _("<b>Newcomers without a group</b> ({count})").format(count=number(count))
    intro = _(
        "This newcomer has been with us {period} and hasn't joined a group yet. "
        "A personal message often helps.",
        "These newcomers have been with us {period} and haven't joined a group yet. "
        "A personal message often helps.",
        count,
    ).format(period=period)

    def head(part: int, parts: int) -> str:
        heading = title + part_label(part, parts)
        return f"{heading}\n{intro}" if part == 1 else heading

    parts = split_message(
        head,
        [f"• {member_label(newcomer)}" for newcomer in newcomers],
        max_items=DIGEST_PER_MESSAGE,
    )
    return [
        (
            text,
            InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=_("Write to {name}").format(
                                name=newcomers[index].first_name or newcomers[index].id
                            ),
                            url=f"tg://user?id={newcomers[index].id}",
                        )
                    ]
                    for index in run
                ]
            ),
        )
        for text, run in parts
    ]
