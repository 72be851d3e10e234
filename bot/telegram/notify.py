"""Writing to one person outside their own update: in their language, failures only logged."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.locales import member_locale
from bot.services.members import get_member
from models import Member

logger = logging.getLogger(__name__)

Render = Callable[[], tuple[str, InlineKeyboardMarkup | None]]


async def tell(
    bot: Bot,
    i18n: I18n,
    chat_id: int,
    recipient: Member | None,
    *,
    default_locale: str,
    render: Render,
) -> bool:
    """Render in the recipient's language and send; True when Telegram accepted it.

    Hosts, organisers and members may never have opened the private chat or may have blocked
    the bot; that must not undo what the sender just did, so failures are logged, not raised.
    """
    locale = member_locale(recipient, available=i18n.available_locales, default=default_locale)
    with i18n.use_locale(locale):
        text, keyboard = render()
    try:
        await bot.send_message(chat_id, text, reply_markup=keyboard)
    except TelegramAPIError as exc:
        logger.info("could not write to chat=%s: %s", chat_id, exc)
        return False
    return True


async def tell_member(
    bot: Bot,
    i18n: I18n,
    session: AsyncSession,
    recipient_id: int,
    *,
    default_locale: str,
    render: Render,
) -> bool:
    """tell() someone known only by id: their stored language is looked up first."""
    recipient = await get_member(session, recipient_id)
    return await tell(
        bot, i18n, recipient_id, recipient, default_locale=default_locale, render=render
    )


def open_chat_keyboard(member_id: int) -> InlineKeyboardMarkup:
    """A button that opens the private chat with a member (for hosts and organisers)."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("Open chat"), url=f"tg://user?id={member_id}")]
        ]
    )
