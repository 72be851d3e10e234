"""Last in line: unknown commands, stale or forged buttons, and stray text get a polite answer."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _


async def stale_button(query: CallbackQuery) -> None:
    """A button no handler accepts: from an old message, an older bot version, or forged."""
    await query.answer(_("This button is no longer valid."), show_alert=True)


async def unknown_command(message: Message) -> None:
    """A command this bot doesn't have (or not for this member)."""
    await message.answer(_("I don't know that command. /help shows what I can do for you."))


async def stray_message(message: Message) -> None:
    """Text, stickers, photos outside any conversation step."""
    await message.answer(_("I work with commands and buttons. /help shows what I can do for you."))


def create_router() -> Router:
    """Catch-alls; must be included last."""
    router = Router(name=__name__)
    router.callback_query.register(stale_button)
    router.message.register(
        unknown_command, F.chat.type == ChatType.PRIVATE, F.text.startswith("/")
    )
    router.message.register(stray_message, F.chat.type == ChatType.PRIVATE)
    return router
