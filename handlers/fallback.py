"""Last in line: unknown commands, stale or forged buttons, and stray text get a polite answer."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot.telegram.views import basics as views


async def stale_button(query: CallbackQuery) -> None:
    """A button no handler accepts: from an old message, an older bot version, or forged.

    A toast, not an alert: usually it is a harmless late or double tap, and the screen the
    member is looking at already says what is current.
    """
    await query.answer(views.stale_button())


async def unknown_command(message: Message) -> None:
    """A command this bot doesn't have (or not for this member)."""
    await message.answer(views.unknown_command())


async def stray_message(message: Message) -> None:
    """Text, stickers, photos outside any conversation step."""
    await message.answer(views.stray_message())


def create_router() -> Router:
    """Catch-alls; must be included last."""
    router = Router(name=__name__)
    router.callback_query.register(stale_button)
    router.message.register(
        unknown_command, F.chat.type == ChatType.PRIVATE, F.text.startswith("/")
    )
    router.message.register(stray_message, F.chat.type == ChatType.PRIVATE)
    return router
