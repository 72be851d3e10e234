"""Re-engagement in the chat: the check-in's three buttons, the pause and the call consent of
/einstellungen, and the organisers' call list (/ruhige, its pages, the monthly message).

The check-in's buttons carry the member's id and the quarter: a press from anyone else
(a forwarded message, forged data) or for a check-in that doesn't exist gets the polite
"no longer valid" and changes nothing; a double tap records the first reaction only. The
phone number is only ever the member's own: a shared contact whose user_id isn't the sender's
is refused.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import call_list, directory, pauses, reengagement
from bot.services.pauses import PauseChoice, PauseError
from bot.services.reengagement import Reacted
from bot.settings import Settings
from bot.telegram import action_cards
from bot.telegram.callbacks import (
    CallConsentAct,
    CallConsentCallback,
    CallListCallback,
    CheckInAct,
    CheckInCallback,
    PauseAct,
    PauseCallback,
)
from bot.telegram.commands import QUIET
from bot.telegram.guards import guard, private_router
from bot.telegram.screens import Shown, show
from bot.telegram.views import groups as group_views
from bot.telegram.views import reengagement as views
from handlers.message_settings import refresh
from models import Member, Reaction, Role
from models.base import utcnow

_REACTIONS = {
    CheckInAct.SHOW: Reaction.SHOW,
    CheckInAct.LATER: Reaction.LATER,
    CheckInAct.FEWER: Reaction.FEWER,
}
_CHOICES = {
    PauseAct.TWO_WEEKS: PauseChoice.TWO_WEEKS,
    PauseAct.ONE_MONTH: PauseChoice.ONE_MONTH,
    PauseAct.THREE_MONTHS: PauseChoice.THREE_MONTHS,
}


class SettingsFlow(StatesGroup):
    """Typing the pause's last day; sharing the contact for calls."""

    pause_day = State()
    contact = State()


# The check-in's buttons.


async def check_in_pressed(
    query: CallbackQuery,
    callback_data: CheckInCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Record the reaction (the first counts) and answer it."""
    if callback_data.member_id != query.from_user.id:
        await query.answer(views.not_yours(), show_alert=True)
        return
    now = utcnow()
    reacted = await reengagement.react(
        session, member.id, callback_data.quarter, _REACTIONS[callback_data.act], now=now
    )
    await session.commit()
    if reacted == Reacted.UNKNOWN:
        await query.answer(views.not_yours(), show_alert=True)
        return
    if callback_data.act == CheckInAct.SHOW:
        # Whenever pressed: showing what's on is never stale.
        await query.answer(views.showing())
        await _show_near(message, session, member, settings)
        return
    if reacted == Reacted.ALREADY:
        await query.answer(views.already())
        return
    await query.answer()
    if callback_data.act == CheckInAct.LATER:
        await message.answer(views.later(reengagement.snooze_until(now), settings.zone))
    else:
        await message.answer(views.fewer())


async def _show_near(
    message: Message, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """The existing screens: group suggestions (or the directory) and the action dates."""
    now = utcnow()
    if member.profile is not None and member.profile.intake_completed_at is not None:
        page = await directory.suggestion_page(
            session, member, now=now, zone=settings.zone, page=0, size=group_views.PAGE_SIZE
        )
        text, keyboard = group_views.suggestions(page, settings.zone)
    else:
        listing = await directory.listing(session, now=now, page=0, size=LIST_SIZE)
        text, keyboard = group_views.directory(listing, settings.zone)
    await message.answer(text, reply_markup=keyboard)
    text, keyboard = await action_cards.board_screen(
        session, member, page=0, now=now, zone=settings.zone
    )
    await message.answer(text, reply_markup=keyboard)


# Groups per page of the directory (as /gruppen shows it to members without the intake).
LIST_SIZE = 5


# The pause.


async def pause_pressed(
    query: CallbackQuery,
    callback_data: PauseCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    state: FSMContext,
) -> None:
    """Set, end, or ask for the day of a pause; the panel shows the new state."""
    now = utcnow()
    if callback_data.act == PauseAct.DATE:
        await state.set_state(SettingsFlow.pause_day)
        await query.answer()
        await message.answer(views.ask_pause_date())
        return
    if callback_data.act == PauseAct.END:
        pauses.end_pause(member)
        await session.commit()
        await refresh(query, message, session, member, settings, views.pause_ended())
        return
    day = pauses.choice_day(_CHOICES[callback_data.act], now, settings.zone)
    until = pauses.pause(member, day, settings.zone)
    await session.commit()
    await refresh(query, message, session, member, settings, None)
    await message.answer(views.paused(until, settings.zone))


async def pause_day_typed(
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    state: FSMContext,
) -> None:
    """The typed last day of the pause: set it, or say what's wrong and wait for another."""
    today = utcnow().astimezone(settings.zone).date()
    try:
        day = pauses.parse_day(message.text or "", today=today)
    except PauseError as error:
        await message.answer(views.pause_date_error(error.reason))
        return
    until = pauses.pause(member, day, settings.zone)
    await session.commit()
    await state.clear()
    await message.answer(views.paused(until, settings.zone))


# Consent to be called.


async def call_consent_pressed(
    query: CallbackQuery,
    callback_data: CallConsentCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    state: FSMContext,
) -> None:
    """Ask for the member's own contact, or withdraw the consent (deleting the number)."""
    if callback_data.act == CallConsentAct.REVOKE:
        await call_list.revoke_consent(session, member.id)
        await session.commit()
        await refresh(query, message, session, member, settings, views.consent_revoked())
        return
    if member.profile is None:
        await query.answer(views.needs_consent(), show_alert=True)
        return
    await state.set_state(SettingsFlow.contact)
    await query.answer()
    text, keyboard = views.ask_contact()
    await message.answer(text, reply_markup=keyboard)


async def contact_shared(
    message: Message, session: AsyncSession, member: Member, state: FSMContext
) -> None:
    """Store the shared number, if it is the sender's own."""
    contact = message.contact
    assert contact is not None  # the filter requires one
    if message.from_user is None or contact.user_id != message.from_user.id:
        await message.answer(views.foreign_contact())
        return
    if member.profile is None:
        await state.clear()
        await message.answer(views.needs_consent(), reply_markup=ReplyKeyboardRemove())
        return
    await call_list.give_consent(session, member.id, contact.phone_number, now=utcnow())
    await session.commit()
    await state.clear()
    await message.answer(
        views.consent_stored(contact.phone_number), reply_markup=ReplyKeyboardRemove()
    )


async def not_a_contact(message: Message) -> None:
    """Anything but a contact (and no command) while waiting for one."""
    await message.answer(views.foreign_contact())


# The organisers' call list.


async def show_call_list(message: Message, session: AsyncSession, settings: Settings) -> None:
    """The call list's first page; the names shown are audited."""
    await _call_page(message, session, settings, 0, reader=message.chat.id, fresh=True)


async def call_page_pressed(
    query: CallbackQuery,
    callback_data: CallListCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """Another page of the list, in place; a page past the end shows the last one."""
    page = await _call_page(
        message, session, settings, callback_data.page, reader=query.from_user.id, fresh=False
    )
    await query.answer(views.call_list_gone() if page.clamped else None)


async def _call_page(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    number: int,
    *,
    reader: int,
    fresh: bool,
) -> call_list.CallPage:
    page = await call_list.call_page(
        session, now=utcnow(), months=settings.quiet_months, page=number
    )
    await call_list.record_page_view(session, reader, page)
    await session.commit()
    text, keyboard = views.call_list(page, settings.zone)
    if fresh:
        await message.answer(text, reply_markup=keyboard)
    else:
        await show(message, text, keyboard)
    return page


def create_router() -> Router:
    """Check-in buttons, pause and call consent for every member; the call list guarded."""
    router = private_router(__name__)
    press = router.callback_query.register
    press(check_in_pressed, CheckInCallback.filter(), Shown())
    press(pause_pressed, PauseCallback.filter(), Shown())
    press(call_consent_pressed, CallConsentCallback.filter(), Shown())
    router.message.register(
        pause_day_typed, SettingsFlow.pause_day, F.text, ~F.text.startswith("/")
    )
    router.message.register(contact_shared, SettingsFlow.contact, F.contact)
    router.message.register(not_a_contact, SettingsFlow.contact, ~F.text.startswith("/"))
    organisers = private_router(f"{__name__}.call_list")
    organisers.message.register(show_call_list, Command(*QUIET.aliases))
    organisers.callback_query.register(call_page_pressed, CallListCallback.filter(), Shown())
    guarded = guard(
        organisers,
        roles={Role.ORGANISER},
        refusal=views.refusal,
        commands=[QUIET],
        callbacks=[CallListCallback],
    )
    router.include_router(guarded)
    return router
