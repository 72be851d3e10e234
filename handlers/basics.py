"""The basics in the private chat: /hilfe, /sprache and /abbrechen."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.members import set_language
from bot.telegram.callbacks import LanguageCallback
from bot.telegram.commands import CANCEL, HELP, LANGUAGE, commands_for, set_member_menu
from bot.telegram.guards import private_router
from bot.telegram.screens import Shown, edit
from bot.telegram.views import basics as views
from models import Member, Role


async def show_help(message: Message, roles: frozenset[Role], locale: str) -> None:
    """List exactly the commands this member's roles allow."""
    await message.answer(views.help_text(commands_for(roles), locale))


async def choose_language(message: Message, i18n: I18n) -> None:
    """Offer the supported languages as buttons."""
    text, keyboard = views.language_choice(i18n.available_locales)
    await message.answer(text, reply_markup=keyboard)


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    i18n: I18n,
    bot: Bot,
) -> None:
    """Store the choice and confirm it in the new language."""
    code = callback_data.code
    if code not in i18n.available_locales:
        await query.answer(views.language_unknown())
        return
    if await set_language(session, member, code):
        await session.commit()
    with i18n.use_locale(code):
        await query.answer()
        await edit(message, views.language_chosen(), None)
    await set_member_menu(
        bot, i18n, chat_id=member.id, roles=roles, locale=code, chose_language=True
    )


async def cancel(message: Message, state: FSMContext) -> None:
    """End the current step, if any."""
    if await state.get_state() is None:
        await message.answer(views.nothing_to_cancel())
        return
    await state.clear()
    # The one reply keyboard the bot shows (sharing one's number for calls) goes with the step.
    await message.answer(views.cancelled(), reply_markup=ReplyKeyboardRemove())


def create_router() -> Router:
    """The private-chat basics; they work in every conversation state."""
    router = private_router(__name__)
    router.message.register(show_help, Command(*HELP.aliases))
    router.message.register(choose_language, Command(*LANGUAGE.aliases))
    router.message.register(cancel, Command(*CANCEL.aliases))
    router.callback_query.register(language_chosen, LanguageCallback.filter(), Shown())
    return router
