"""/termine: the next meetings of all groups; a meeting's card; answering yes / maybe / no."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import rsvp, schedule
from bot.services.rsvp import RsvpError
from bot.services.schedule import ScheduleError
from bot.settings import Settings
from bot.telegram.callbacks import RsvpAction, RsvpCallback
from bot.telegram.commands import DATES
from bot.telegram.guards import explain, private_router
from bot.telegram.screens import Shown, edit
from bot.telegram.views import meetings as views
from bot.telegram.views.meeting_card import meeting_card
from models import Member, RsvpAnswer
from models.base import utcnow

# How far ahead /termine looks, and how many dates it lists at most.
DATES_AHEAD = timedelta(days=28)
MAX_DATES = 15

ANSWERS = {
    RsvpAction.YES: RsvpAnswer.YES,
    RsvpAction.MAYBE: RsvpAnswer.MAYBE,
    RsvpAction.NO: RsvpAnswer.NO,
}


async def show_dates(
    message: Message, session: AsyncSession, settings: Settings, member: Member
) -> None:
    """The next meetings (cancelled ones as such), the member's answers marked, each opening
    its card; without consent the dates only, and a pointer to /start."""
    now = utcnow()
    upcoming = await schedule.upcoming(session, now=now, until=now + DATES_AHEAD, limit=MAX_DATES)
    answers = (
        await rsvp.member_answers(session, member.id, [m.id for m in upcoming])
        if member.consented
        else {}
    )
    text, keyboard = views.dates(upcoming, answers, can_answer=member.consented, zone=settings.zone)
    await message.answer(text, reply_markup=keyboard)


async def show_card(
    query: CallbackQuery,
    callback_data: RsvpCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """One meeting with its counts and the answer buttons, as a new message."""
    if not member.consented:
        raise RsvpError("no_consent")
    meeting = await schedule.get_meeting(session, callback_data.meeting_id)
    counts = (await rsvp.counts(session, [meeting]))[meeting.id]
    answer = (await rsvp.member_answers(session, member.id, [meeting.id])).get(meeting.id)
    text, keyboard = meeting_card(meeting, counts, settings.zone, answer=answer)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def answer_pressed(
    query: CallbackQuery,
    callback_data: RsvpCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    wake_outbox: Callable[[], None] | None = None,
) -> None:
    """Record the answer the button names (or the number of guests), then update the card.

    Each button says what it sets, so a repeated tap changes nothing. Whoever moved up from
    the waiting list meanwhile is told through the outbox.
    """
    now = utcnow()
    if callback_data.action == RsvpAction.GUESTS:
        kind, guests = RsvpAnswer.YES, callback_data.value
        if member.consented:
            await schedule.get_meeting(session, callback_data.meeting_id)  # forged: refused
            current = await rsvp.member_answers(session, member.id, [callback_data.meeting_id])
            before = current.get(callback_data.meeting_id)
            if before is None or before.answer != RsvpAnswer.YES:
                # A guests button left over from an earlier yes: it doesn't say yes again.
                await query.answer(views.guests_need_yes(), show_alert=True)
                return
    else:
        kind, guests = ANSWERS[callback_data.action], None
    try:
        result = await rsvp.answer(
            session,
            meeting_id=callback_data.meeting_id,
            member_id=member.id,
            consented=member.consented,
            answer=kind,
            guests=guests,
            now=now,
        )
    except RsvpError as error:
        if error.reason == "cancelled":
            # The card still offers buttons: show it as it stands now (the alert follows).
            meeting = await schedule.get_meeting(session, callback_data.meeting_id)
            counts = (await rsvp.counts(session, [meeting]))[meeting.id]
            await edit(message, *meeting_card(meeting, counts, settings.zone))
        raise
    await session.commit()  # the meeting's lock ends here; the rest only reads
    position = await rsvp.waiting_position(session, result.attendance)
    if result.promoted and wake_outbox is not None:
        wake_outbox()
    await query.answer(views.answer_noted(result.attendance, position=position))
    counts = (await rsvp.counts(session, [result.meeting]))[result.meeting.id]
    text, keyboard = meeting_card(result.meeting, counts, settings.zone, answer=result.attendance)
    await edit(message, text, keyboard)


def create_router() -> Router:
    """The dates in the private chat; a refused answer is explained as an alert."""
    router = private_router(__name__)
    router.message.register(show_dates, Command(*DATES.aliases))
    router.callback_query.register(
        show_card, RsvpCallback.filter(F.action == RsvpAction.SHOW), Shown()
    )
    router.callback_query.register(answer_pressed, RsvpCallback.filter(), Shown())
    explain(router, RsvpError, views.error_text, alert=True)
    explain(router, ScheduleError, views.error_text, alert=True)
    return router
