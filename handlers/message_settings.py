"""/einstellungen: which kinds of bulk messages a member wants (announcements, reminders, help)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.preferences import opted_out_categories, set_opted_out
from bot.telegram.callbacks import SettingsAction, SettingsCallback
from bot.telegram.commands import SETTINGS
from bot.telegram.guards import private_router
from bot.telegram.screens import Shown, edit
from bot.telegram.views import message_settings as views
from models import Category, Member


async def show_settings(message: Message, session: AsyncSession, member: Member) -> None:
    """The panel with one switch per category."""
    text, keyboard = views.panel(await opted_out_categories(session, member.id))
    await message.answer(text, reply_markup=keyboard)


async def open_pressed(
    query: CallbackQuery, message: Message, session: AsyncSession, member: Member
) -> None:
    """The panel as a new message, from the button under a broadcast."""
    text, keyboard = views.panel(await opted_out_categories(session, member.id))
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def _switch(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    category: Category,
    *,
    off: bool,
) -> None:
    # Idempotent: the service sets the state the button names, whatever was stored before.
    await set_opted_out(session, member.id, category, opted_out=off)
    await session.commit()
    text, keyboard = views.panel(await opted_out_categories(session, member.id))
    await query.answer(views.switched(category, off=off))
    if not await edit(message, text, keyboard):
        # A panel too old to edit: show a fresh one instead.
        await message.answer(text, reply_markup=keyboard)


async def off_pressed(
    query: CallbackQuery,
    callback_data: SettingsCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
) -> None:
    """Switch one category off, then show the panel as it is now."""
    assert callback_data.category is not None  # the filter requires one
    await _switch(query, message, session, member, callback_data.category, off=True)


async def on_pressed(
    query: CallbackQuery,
    callback_data: SettingsCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
) -> None:
    """Switch one category on again, then show the panel as it is now."""
    assert callback_data.category is not None  # the filter requires one
    await _switch(query, message, session, member, callback_data.category, off=False)


def create_router() -> Router:
    """The settings panel in the private chat."""
    router = private_router(__name__)
    router.message.register(show_settings, Command(*SETTINGS.aliases))
    pressed = router.callback_query.register
    has_category = F.category.is_not(None)
    pressed(open_pressed, SettingsCallback.filter(F.action == SettingsAction.OPEN), Shown())
    pressed(
        off_pressed,
        SettingsCallback.filter((F.action == SettingsAction.OFF) & has_category),
        Shown(),
    )
    pressed(
        on_pressed,
        SettingsCallback.filter((F.action == SettingsAction.ON) & has_category),
        Shown(),
    )
    return router
