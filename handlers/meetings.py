"""/termine: the next meetings of all groups, and saying you come (or no longer come)."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import meetings
from bot.services.meetings import MeetingError
from bot.settings import Settings
from bot.telegram.callbacks import MeetingCallback
from bot.telegram.commands import DATES
from bot.telegram.guards import explain, private_router
from bot.telegram.screens import Shown, edit
from bot.telegram.views import meetings as views
from models import Member
from models.base import utcnow

# How far ahead /termine looks, and how many dates it lists at most.
DATES_AHEAD = timedelta(days=28)
MAX_DATES = 15


async def _dates(
    session: AsyncSession, settings: Settings, member: Member
) -> tuple[str, InlineKeyboardMarkup | None]:
    now = utcnow()
    upcoming = await meetings.upcoming(
        session, now=now, zone=settings.zone, ahead=DATES_AHEAD, limit=MAX_DATES
    )
    # Only members who agreed may say they come; the others see the dates alone.
    going = await meetings.attending_keys(session, member.id, now) if member.consented else set()
    return views.dates(upcoming, going, can_answer=member.consented, zone=settings.zone)


async def show_dates(
    message: Message, session: AsyncSession, settings: Settings, member: Member
) -> None:
    """The next meetings, each with a button to say you come."""
    text, keyboard = await _dates(session, settings, member)
    await message.answer(text, reply_markup=keyboard)


async def attendance_pressed(
    query: CallbackQuery,
    callback_data: MeetingCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """Record what the button says (coming or not), then show the dates again.

    The service refuses (MeetingError, explained below) without consent and for a time that
    is not one of the group's next meetings.
    """
    await meetings.set_attending(
        session,
        member_id=member.id,
        consented=member.consented,
        group_id=callback_data.group_id,
        starts_at=meetings.meeting_start(callback_data.at),
        attending=callback_data.going,
        zone=settings.zone,
        now=utcnow(),
    )
    await session.commit()
    await query.answer(views.answer_noted(callback_data.going))
    text, keyboard = await _dates(session, settings, member)
    await edit(message, text, keyboard)


def create_router() -> Router:
    """The dates in the private chat; a refused answer is explained as an alert."""
    router = private_router(__name__)
    router.message.register(show_dates, Command(*DATES.aliases))
    router.callback_query.register(attendance_pressed, MeetingCallback.filter(), Shown())
    explain(router, MeetingError, views.error_text, alert=True)
    return router
