"""/einstellungen: which kinds of bulk messages a member wants (announcements, reminders, help)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.preferences import opted_out_categories, set_opted_out
from bot.telegram.callbacks import SettingsCallback
from bot.telegram.commands import SETTINGS
from bot.telegram.labels import category_hint, category_label
from models import Category, Member


def _panel(off: frozenset[Category]) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("<b>Which messages do you want from me?</b>"), ""]
    buttons = []
    for category in Category:
        wanted = category not in off
        mark = "✅" if wanted else "🔕"
        lines.append(f"{mark} {category_label(category)}: {category_hint(category)}")
        buttons.append(
            [
                InlineKeyboardButton(
                    text=(
                        _("Switch off: {category}") if wanted else _("Switch on: {category}")
                    ).format(category=category_label(category)),
                    callback_data=SettingsCallback(action="toggle", category=category.value).pack(),
                )
            ]
        )
    lines += [
        "",
        _(
            "Messages you asked for yourself, like answers to your buttons, always come. "
            "You can change this at any time."
        ),
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


async def show_settings(message: Message, session: AsyncSession, member: Member) -> None:
    """The panel with one switch per category."""
    text, keyboard = _panel(await opted_out_categories(session, member.id))
    await message.answer(text, reply_markup=keyboard)


async def settings_pressed(
    query: CallbackQuery, callback_data: SettingsCallback, session: AsyncSession, member: Member
) -> None:
    """Open the panel (from under a broadcast) or flip one category, then show the new state."""
    if callback_data.action == "open":
        text, keyboard = _panel(await opted_out_categories(session, member.id))
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(text, reply_markup=keyboard)
        return
    try:
        category = Category(callback_data.category)
    except ValueError:
        category = None
    if callback_data.action != "toggle" or category is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    off = await opted_out_categories(session, member.id)
    switching_off = category not in off
    await set_opted_out(session, member.id, category, opted_out=switching_off)
    await session.commit()
    off = off | {category} if switching_off else off - {category}
    text, keyboard = _panel(off)
    await query.answer(
        (_("Switched off: {category}") if switching_off else _("Switched on: {category}")).format(
            category=category_label(category)
        )
    )
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=keyboard)
        except TelegramBadRequest:
            # An old panel that can't be edited any more: show a fresh one instead.
            await query.message.answer(text, reply_markup=keyboard)


def create_router() -> Router:
    """The settings panel in the private chat."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(show_settings, Command(*SETTINGS.aliases))
    router.callback_query.register(settings_pressed, SettingsCallback.filter())
    return router
