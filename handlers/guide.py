"""The guide (/kv): how the KV works, section by section. Open to all, consent or not."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory
from bot.settings import Settings
from bot.telegram.callbacks import GUIDE_CONTENTS, GuideCallback
from bot.telegram.commands import GUIDE
from bot.telegram.guards import private_router
from bot.telegram.screens import Shown, edit
from bot.telegram.views import guide as views


async def show_guide(message: Message, session: AsyncSession, settings: Settings) -> None:
    """The guide's table of contents, one button per section."""
    kv = await directory.kv_name(session, settings.kv_name)
    text, keyboard = views.contents(kv, await directory.guide_sections(session))
    await message.answer(text, reply_markup=keyboard)


async def contents_pressed(
    query: CallbackQuery, message: Message, session: AsyncSession, settings: Settings
) -> None:
    """Back from a section to the table of contents."""
    kv = await directory.kv_name(session, settings.kv_name)
    text, keyboard = views.contents(kv, await directory.guide_sections(session))
    await query.answer()
    await edit(message, text, keyboard)


async def section_pressed(
    query: CallbackQuery, callback_data: GuideCallback, message: Message, session: AsyncSession
) -> None:
    """One section in place of the table of contents."""
    sections = await directory.guide_sections(session)
    shown = next((s for s in sections if s.id == callback_data.section_id), None)
    if shown is None:
        await query.answer(views.section_gone())
        return
    text, keyboard = views.section(shown)
    await query.answer()
    await edit(message, text, keyboard)


def create_router() -> Router:
    """The guide in the private chat."""
    router = private_router(__name__)
    router.message.register(show_guide, Command(*GUIDE.aliases))
    router.callback_query.register(
        contents_pressed, GuideCallback.filter(F.section_id == GUIDE_CONTENTS), Shown()
    )
    router.callback_query.register(
        section_pressed, GuideCallback.filter(F.section_id != GUIDE_CONTENTS), Shown()
    )
    return router
