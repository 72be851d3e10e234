"""Presses before consent are kept, not lost: joining a group or answering a meeting asks for
consent first and is done after it (bot.telegram.pending); "skip the questions" does it at once.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory
from bot.services.directory import GroupError
from bot.services.rsvp import RsvpError
from bot.settings import Settings
from bot.telegram import pending
from bot.telegram.callbacks import (
    GroupAction,
    GroupCallback,
    KeptAction,
    KeptCallback,
    RsvpAction,
    RsvpCallback,
)
from bot.telegram.guards import Consented, private_router
from bot.telegram.pending import Kept
from bot.telegram.screens import Shown
from bot.telegram.views import groups as group_views
from bot.telegram.views import kept as views
from bot.telegram.views import meetings as meeting_views
from bot.telegram.views import start as start_views
from models import Member
from models.base import utcnow


async def ask_consent_keeping(
    message: Message, session: AsyncSession, state: FSMContext, settings: Settings, kept: Kept
) -> bool:
    """Keep `kept` and ask for consent, saying so; False when its group or meeting is gone."""
    what = await pending.describe(session, kept, settings)
    if what is None:
        return False
    await pending.keep(state, kept)
    kv = await directory.kv_name(session, settings.kv_name)
    text, keyboard = start_views.consent_question(kv)
    await message.answer(views.before_consent(what) + "\n\n" + text, reply_markup=keyboard)
    return True


async def join_without_consent(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    """Joining needs consent: the question comes first, and the join is kept for after it."""
    kept = Kept("join", callback_data.group_id)
    if not await ask_consent_keeping(message, session, state, settings, kept):
        refusal = group_views.group_refused(GroupError("unknown_group"))
        await query.answer(refusal, show_alert=True)
        return
    await query.answer()


async def answer_without_consent(
    query: CallbackQuery,
    callback_data: RsvpCallback,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    """An answer to a meeting needs consent: the question first, the answer kept for after it."""
    kept = Kept("rsvp", callback_data.meeting_id, callback_data.action.value, callback_data.value)
    if not await ask_consent_keeping(message, session, state, settings, kept):
        await query.answer(meeting_views.error_text(RsvpError("unknown")), show_alert=True)
        return
    await query.answer()


async def found_without_consent(
    query: CallbackQuery, message: Message, session: AsyncSession, settings: Settings
) -> None:
    """Proposing a Stammtisch stores the proposer's name: consent first."""
    kv = await directory.kv_name(session, settings.kv_name)
    text, keyboard = start_views.consent_question(kv)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def skip_pressed(
    query: CallbackQuery,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Skip the intake's questions: do the kept action now (the intake can be done later)."""
    kept = await pending.take(state)
    if kept is None:
        await query.answer(views.nothing_kept())
        return
    # The intake's buttons go stale; /profil brings the questions back.
    await state.set_state(None)
    await query.answer()
    await pending.carry_out(session, bot, i18n, settings, member, kept, now=utcnow())


def create_router() -> Router:
    """Joins and answers pressed before consent, and doing them at once after it."""
    router = private_router(__name__)
    router.callback_query.filter(Shown())
    press = router.callback_query.register
    press(join_without_consent, GroupCallback.filter(F.action == GroupAction.JOIN), ~Consented())
    press(found_without_consent, GroupCallback.filter(F.action == GroupAction.FOUND), ~Consented())
    answers = (RsvpAction.YES, RsvpAction.MAYBE, RsvpAction.NO, RsvpAction.GUESTS)
    press(answer_without_consent, RsvpCallback.filter(F.action.in_(answers)), ~Consented())
    press(skip_pressed, KeptCallback.filter(F.action == KeptAction.NOW), Consented())
    return router
