"""/einstellungen: which kinds of bulk messages a member wants (announcements, reminders, help),
and when meeting reminders come; the pause and the call consent shown here are handled in
handlers/reengagement.py."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import call_list, pauses
from bot.services.preferences import opted_out_categories, set_opted_out
from bot.services.profile import REMINDER_CHOICES, clear_reminder_offsets, set_reminder_offset
from bot.settings import Settings
from bot.telegram.callbacks import (
    ReminderAction,
    ReminderCallback,
    SettingsAction,
    SettingsCallback,
)
from bot.telegram.commands import SETTINGS
from bot.telegram.guards import private_router
from bot.telegram.screens import Shown, edit
from bot.telegram.views import message_settings as views
from bot.telegram.views import reengagement as pause_views
from models import Category, Member
from models.base import utcnow


async def panel_for(
    session: AsyncSession, member: Member, settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    """The panel as it is now: the switches, meeting reminders, the pause and calls."""
    offsets = list(member.profile.reminder_offsets or []) if member.profile is not None else None
    consent = await call_list.consent(session, member.id)
    paused_until = member.paused_until if pauses.paused(member, utcnow()) else None
    extra = pause_views.settings_section(
        paused_until,
        settings.zone,
        call_consent=(consent.phone, consent.consented_at) if consent is not None else None,
        consented=member.profile is not None,
    )
    return views.panel(await opted_out_categories(session, member.id), offsets, extra=extra)


async def show_settings(
    message: Message, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """The panel with one switch per category (and, after consent, the meeting reminders)."""
    text, keyboard = await panel_for(session, member, settings)
    await message.answer(text, reply_markup=keyboard)


async def open_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """The panel as a new message, from the button under a broadcast."""
    text, keyboard = await panel_for(session, member, settings)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def _switch(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    category: Category,
    *,
    off: bool,
) -> None:
    # Idempotent: the service sets the state the button names, whatever was stored before.
    await set_opted_out(session, member.id, category, opted_out=off)
    await session.commit()
    await refresh(query, message, session, member, settings, views.switched(category, off=off))


async def refresh(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    note: str | None,
) -> None:
    """Answer the press with `note` and show the panel as it is now, in place."""
    text, keyboard = await panel_for(session, member, settings)
    await query.answer(note)
    if not await edit(message, text, keyboard):
        # A panel too old to edit: show a fresh one instead.
        await message.answer(text, reply_markup=keyboard)


async def off_pressed(
    query: CallbackQuery,
    callback_data: SettingsCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Switch one category off, then show the panel as it is now."""
    assert callback_data.category is not None  # the filter requires one
    await _switch(query, message, session, member, settings, callback_data.category, off=True)


async def on_pressed(
    query: CallbackQuery,
    callback_data: SettingsCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Switch one category on again, then show the panel as it is now."""
    assert callback_data.category is not None  # the filter requires one
    await _switch(query, message, session, member, settings, callback_data.category, off=False)


async def reminder_pressed(
    query: CallbackQuery,
    callback_data: ReminderCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Set when meeting reminders come (the button says what it sets), then show the panel."""
    if member.profile is None:
        await query.answer(views.needs_consent(), show_alert=True)
        return
    if callback_data.action == ReminderAction.NONE:
        clear_reminder_offsets(member)
    else:
        chosen = callback_data.action == ReminderAction.ON
        set_reminder_offset(member, callback_data.minutes, chosen=chosen)
    await session.commit()
    note = views.reminder_set(callback_data.action, callback_data.minutes)
    await refresh(query, message, session, member, settings, note)


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
    choice = F.minutes.in_(REMINDER_CHOICES)
    pressed(
        reminder_pressed,
        ReminderCallback.filter(
            (F.action == ReminderAction.NONE)
            | (F.action.in_({ReminderAction.ON, ReminderAction.OFF}) & choice)
        ),
        Shown(),
    )
    return router
