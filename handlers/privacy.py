"""/datenschutz: what is stored and why, show everything stored about me, erase it."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import (
    calendar,
    directory,
    erasure,
    help_calls,
    invitations,
    memorials,
    rsvp,
    shifts,
)
from bot.services.preferences import opted_out_categories
from bot.settings import Settings
from bot.telegram.callbacks import PrivacyAction, PrivacyCallback
from bot.telegram.commands import PRIVACY
from bot.telegram.guards import private_router
from bot.telegram.screens import Shown, drop_buttons, edit
from bot.telegram.views import privacy as views
from models import Member
from models.base import utcnow

logger = logging.getLogger(__name__)


async def show_privacy(
    message: Message, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """What is stored, why, how long, who sees it; and the buttons to see and delete it."""
    kv = await directory.kv_name(session, settings.kv_name)
    contact = await directory.privacy_contact(session)
    # Without consent only the id and the language are kept: nothing to show or delete.
    has_data = member.consented or member.first_name is not None
    text, keyboard = views.overview(kv, contact, has_data=has_data)
    await message.answer(text, reply_markup=keyboard)


async def show_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Everything stored about the member, as a new message (several for a long history)."""
    feed = await calendar.feed_of(session, member.id)
    texts = views.my_data(
        member,
        groups=await directory.member_groups(session, member.id),
        answers=await rsvp.member_meetings(session, member.id, now=utcnow(), include_no=True),
        switched_off=await opted_out_categories(session, member.id),
        zone=settings.zone,
        calendar_link_since=feed.created_at if feed is not None else None,
        invitation_since=await invitations.made_on(session, member.id),
        shifts=await shifts.member_shifts(session, member.id),
        help_calls=await help_calls.calls_received(session, member.id),
        memorial_answers=await memorials.member_answers(session, member.id),
    )
    await query.answer()
    for text in texts:
        await message.answer(text)


async def ask_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Ask before erasing; a host or organiser is asked to hand over first."""
    held = await erasure.roles_held(session, member.id, settings)
    text, keyboard = views.confirm_erase(held)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def keep_pressed(query: CallbackQuery, message: Message) -> None:
    """The member changed their mind."""
    await query.answer()
    await edit(message, views.kept(), None)


async def erase_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    callback_data: PrivacyCallback,
) -> None:
    """Erase everything stored about the member, the member row included; a later /start
    begins as new. "Yes" from a member who holds roles meanwhile asks to hand over first;
    "delete anyway" drops the roles too (organisers hear of groups left without a host).

    Pressed again (a double tap, an old question) there is nothing left: a toast says so, and
    the message keeps what the first press wrote, only its buttons go.
    """
    # The update's bookkeeping re-created a bare row for a member erased before: that is no
    # data of theirs, so a second press says "nothing to delete" (and the row goes again).
    had_data = not _bare(member)
    if callback_data.action == PrivacyAction.ERASE and had_data:
        held = await erasure.roles_held(session, member.id, settings)
        if held.any:
            await query.answer()
            await edit(message, *views.confirm_erase(held))
            return
    erased = await erasure.erase_member(
        session, member.id, now=utcnow(), admin_ids=settings.admin_ids
    )
    await session.commit()
    await state.clear()
    erased = erased and had_data
    logger.info("member erased their data" if erased else "erase pressed: nothing to delete")
    if not erased:
        await query.answer(views.erased(erased))
        await drop_buttons(message)
        return
    await query.answer()
    await edit(message, views.erased(erased), None)


def _bare(member: Member) -> bool:
    """A member row holding nothing but the id and languages (as the bookkeeping makes it)."""
    return (
        member.profile is None
        and not member.roles
        and member.first_name is None
        and member.username is None
        and member.language is None
    )


def create_router() -> Router:
    """Privacy in the private chat; open to everyone, consent or not."""
    router = private_router(__name__)
    router.message.register(show_privacy, Command(*PRIVACY.aliases))
    pressed = router.callback_query.register
    pressed(show_pressed, PrivacyCallback.filter(F.action == PrivacyAction.SHOW), Shown())
    pressed(ask_pressed, PrivacyCallback.filter(F.action == PrivacyAction.ASK), Shown())
    pressed(keep_pressed, PrivacyCallback.filter(F.action == PrivacyAction.KEEP), Shown())
    pressed(erase_pressed, PrivacyCallback.filter(F.action == PrivacyAction.ERASE), Shown())
    pressed(erase_pressed, PrivacyCallback.filter(F.action == PrivacyAction.ERASE_ALL), Shown())
    return router
