"""The basics in the private chat: /hilfe, /sprache and /abbrechen."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.members import set_language
from bot.telegram.callbacks import LanguageCallback
from bot.telegram.commands import CANCEL, HELP, LANGUAGE, commands_for, set_member_menu
from bot.telegram.format import esc
from models import Member, Role

# Each language is named in itself, so someone who can't read the current one still finds theirs.
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}


async def show_help(message: Message, roles: frozenset[Role], locale: str) -> None:
    """List exactly the commands this member's roles allow."""
    lines = [f"/{spec.name(locale)} – {esc(spec.description)}" for spec in commands_for(roles)]
    await message.answer(_("What I can do for you:") + "\n\n" + "\n".join(lines))


async def choose_language(message: Message, i18n: I18n) -> None:
    """Offer the supported languages as buttons."""
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=LANGUAGE_NAMES.get(code, code),
                    callback_data=LanguageCallback(code=code).pack(),
                )
                for code in sorted(i18n.available_locales)
            ]
        ]
    )
    await message.answer(_("Which language shall I speak with you?"), reply_markup=keyboard)


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCallback,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    i18n: I18n,
    bot: Bot,
) -> None:
    """Store the choice and confirm it in the new language."""
    code = callback_data.code
    if code not in i18n.available_locales:
        await query.answer(_("I don't speak that language yet."), show_alert=True)
        return
    if await set_language(session, member, code):
        await session.commit()
    with i18n.use_locale(code):
        confirmation = _("From now on I speak English with you.")
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(confirmation)
    await set_member_menu(
        bot, i18n, chat_id=member.id, roles=roles, locale=code, chose_language=True
    )


async def cancel(message: Message, state: FSMContext) -> None:
    """End the current step, if any."""
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."))
        return
    await state.clear()
    await message.answer(_("Cancelled. /help shows what else I can do."))


def create_router() -> Router:
    """The private-chat basics; they work in every conversation state."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(show_help, Command(*HELP.aliases))
    router.message.register(choose_language, Command(*LANGUAGE.aliases))
    router.message.register(cancel, Command(*CANCEL.aliases))
    router.callback_query.register(language_chosen, LanguageCallback.filter())
    return router
