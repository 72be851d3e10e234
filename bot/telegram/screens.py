"""Screens a button press changes: the pressed message, and editing it in place.

A press on a message the bot can no longer see (Telegram sends it as InaccessibleMessage) has
nothing to edit; `Shown` lets such presses fall through to the fallback's "no longer valid".
Editing a screen to what it already shows (a toggle pressed twice, a late second tap) is no
error: `edit` treats Telegram's "message is not modified" as done, and `show` sends the screen
anew where the old message can't be edited.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

logger = logging.getLogger(__name__)

NOT_MODIFIED = "message is not modified"


class Shown(Filter):
    """Passes when the pressed button's message is still there, handing it on as `message`."""

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        """The message under the button, or False for an inaccessible one."""
        if isinstance(query.message, Message):
            return {"message": query.message}
        return False


async def edit(message: Message, text: str, reply_markup: InlineKeyboardMarkup | None) -> bool:
    """Show `text` in place of `message`; False when that message can't be edited any more.

    Telegram refuses edits to the same content; the screen shows what it should, so that
    counts as done.
    """
    try:
        await message.edit_text(text, reply_markup=reply_markup)
    except TelegramBadRequest as exc:
        if NOT_MODIFIED in exc.message:
            return True
        logger.info("message %s not edited: %s", message.message_id, exc.message)
        return False
    return True


async def show(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> Message:
    """Turn `message` into this screen; one that can't be edited any more gets a fresh message.

    Returns the message that shows the screen now.
    """
    if not await edit(message, text, reply_markup):
        return await message.answer(text, reply_markup=reply_markup)
    return message


async def drop_buttons(message: Message) -> None:
    """Take the buttons off `message`; one that has none any more (a double tap) or can't be
    edited is fine as it is."""
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as exc:
        logger.info("buttons of message %s not dropped: %s", message.message_id, exc.message)
