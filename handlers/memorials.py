"""Gedenktage: /gedenktage lists the next dates; a date's card; answering the KV's event."""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import memorials
from bot.services.memorials import MemorialError
from bot.settings import Settings
from bot.telegram.callbacks import MemorialAct, MemorialCallback
from bot.telegram.commands import MEMORIALS
from bot.telegram.guards import explain, private_router
from bot.telegram.screens import Shown, edit
from bot.telegram.views import memorials as views
from models import Member, RsvpAnswer
from models.base import utcnow

# How far ahead /gedenktage looks.
LIST_AHEAD = timedelta(days=366)

ANSWERS = {
    MemorialAct.YES: RsvpAnswer.YES,
    MemorialAct.MAYBE: RsvpAnswer.MAYBE,
    MemorialAct.NO: RsvpAnswer.NO,
}


async def show_list(message: Message, session: AsyncSession, settings: Settings) -> None:
    """The next memorial dates with the KV's events, each opening its card."""
    now = utcnow()
    rows = await memorials.upcoming(
        session, now=now, zone=settings.zone, until=now + LIST_AHEAD, limit=views.MAX_LISTED
    )
    text, keyboard = views.listing(rows, settings.zone)
    await message.answer(text, reply_markup=keyboard)


async def show_card(
    query: CallbackQuery,
    callback_data: MemorialCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """The date's card with its answers so far, as a new message (the answer buttons too)."""
    row = await memorials.find_date(session, callback_data.date_id)
    if row is None:
        raise MemorialError("unknown")
    answer = await memorials.member_answer(session, row.id, member.id) if member.consented else None
    counts = await memorials.counts(session, row.id)
    text, keyboard = views.card(row, counts, settings.zone, answer=answer, now=utcnow())
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def answer_pressed(
    query: CallbackQuery,
    callback_data: MemorialCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """Record the answer the button names, then update the card in place.

    Each button says what it sets, so a repeated tap changes nothing.
    """
    now = utcnow()
    try:
        result = await memorials.answer(
            session,
            date_id=callback_data.date_id,
            member_id=member.id,
            consented=member.consented,
            answer=ANSWERS[callback_data.act],
            now=now,
        )
    except MemorialError as error:
        if error.reason == "past":
            # The card still offers buttons: show it closed (the alert follows).
            row = await memorials.find_date(session, callback_data.date_id)
            if row is not None:
                counts = await memorials.counts(session, row.id)
                answer = await memorials.member_answer(session, row.id, member.id)
                await edit(message, *views.card(row, counts, settings.zone, answer=answer, now=now))
        raise
    await session.commit()
    await query.answer(views.answer_noted(result.answer))
    row = await memorials.find_date(session, callback_data.date_id)
    if row is None:
        return
    counts = await memorials.counts(session, row.id)
    # Under a reminder too: the card shows all the reminder did, with the counts as they are.
    text, keyboard = views.card(row, counts, settings.zone, answer=result.answer, now=now)
    await edit(message, text, keyboard)


def create_router() -> Router:
    """Gedenktage in the private chat; a refused answer is explained as an alert."""
    router = private_router(__name__)
    router.message.register(show_list, Command(*MEMORIALS.aliases))
    router.callback_query.register(
        show_card, MemorialCallback.filter(F.act == MemorialAct.SHOW), Shown()
    )
    router.callback_query.register(answer_pressed, MemorialCallback.filter(), Shown())
    explain(router, MemorialError, views.error_text, alert=True)
    return router
