"""/kalender: the member's dates (meetings, shifts, Gedenktage), as a list, as .ics files, and
as a feed to subscribe to."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import calendar, schedule
from bot.settings import Settings
from bot.telegram.callbacks import CalendarAction, CalendarCallback
from bot.telegram.commands import CALENDAR
from bot.telegram.guards import Consented, private_router
from bot.telegram.screens import Shown
from bot.telegram.views import calendar as views
from models import Member
from models.base import utcnow

# /kalender lists the dates of the next eight weeks (the series' horizon), at most this many;
# the file has all of them, one-off dates further ahead too.
MAX_LISTED = 15


async def show_calendar(
    message: Message, session: AsyncSession, settings: Settings, member: Member
) -> None:
    """The member's next dates with the file and subscription buttons."""
    if not member.consented:
        await message.answer(views.no_consent())
        return
    now = utcnow()
    feed = await calendar.feed_of(session, member.id)
    items = await calendar.member_calendar(
        session, member.id, now=now, until=now + schedule.HORIZON, zone=settings.zone
    )
    text, keyboard = views.overview(
        items,
        shown=MAX_LISTED,
        zone=settings.zone,
        can_subscribe=settings.public_base_url is not None,
        link=calendar.link_stamp(feed) if feed is not None else None,
    )
    await message.answer(text, reply_markup=keyboard)


async def send_all(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """All the member's upcoming dates as one .ics file."""
    now = utcnow()
    items = await calendar.member_calendar(
        session, member.id, now=now, until=now + schedule.MAX_AHEAD, zone=settings.zone
    )
    data = views.personal_ics(
        items,
        kv_name=settings.kv_name,
        zone=settings.zone,
        bot_id=settings.bot_id,
        now=now,
    )
    await query.answer()
    await message.answer_document(
        BufferedInputFile(data, filename=views.all_dates_filename()),
        caption=views.file_caption(len(items)),
    )


async def send_meeting(
    query: CallbackQuery,
    callback_data: CalendarCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """One meeting as an .ics file (meetings are listed for every member in /termine alike)."""
    meeting = await schedule.get_meeting(session, callback_data.item_id)
    data = calendar.meetings_ics(
        [meeting],
        name=settings.kv_name,
        zone=settings.zone,
        domain=calendar.uid_domain(settings.bot_id),
        now=utcnow(),
        cancelled_label=views.cancelled_label(),
    )
    await query.answer()
    await message.answer_document(
        BufferedInputFile(data, filename=views.meeting_filename(meeting, settings.zone)),
        caption=views.meeting_caption(meeting, settings.zone),
    )


async def send_shift(
    query: CallbackQuery,
    callback_data: CalendarCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """One of the member's shifts as an .ics file; any other id gets a polite no."""
    shift = await calendar.member_shift(session, member.id, callback_data.item_id)
    if shift is None:
        await query.answer(views.shift_gone(), show_alert=True)
        return
    data = views.item_ics(
        calendar.ShiftEntry(shift),
        kv_name=settings.kv_name,
        zone=settings.zone,
        bot_id=settings.bot_id,
        now=utcnow(),
    )
    await query.answer()
    await message.answer_document(
        BufferedInputFile(data, filename=views.shift_filename(shift, settings.zone)),
        caption=views.shift_caption(shift, settings.zone),
    )


async def send_memorial(
    query: CallbackQuery,
    callback_data: CalendarCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """One Gedenktag's date as an .ics file (they are the same for every member)."""
    row = await calendar.find_memorial_date(session, callback_data.item_id)
    if row is None:
        await query.answer(views.memorial_gone(), show_alert=True)
        return
    entry = calendar.memorial_entry(row, settings.zone)
    data = views.item_ics(
        entry, kv_name=settings.kv_name, zone=settings.zone, bot_id=settings.bot_id, now=utcnow()
    )
    await query.answer()
    await message.answer_document(
        BufferedInputFile(data, filename=views.memorial_filename(row)),
        caption=views.memorial_caption(entry, settings.zone),
    )


async def show_link(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """A link made now when the member has none; else why it can't be shown again."""
    base = settings.public_base_url
    if base is None:
        await query.answer(views.no_link(), show_alert=True)
        return
    feed = await calendar.feed_of(session, member.id)
    if feed is not None:
        text, keyboard = views.link_exists_text(
            feed.created_at, settings.zone, calendar.link_stamp(feed)
        )
        await query.answer()
        await message.answer(text, reply_markup=keyboard)
        return
    await _send_new_link(query, message, session, member, base, renewed=False)


async def renew_link(
    query: CallbackQuery,
    callback_data: CalendarCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """A new link; the old one stops working with this commit. A button naming a link that was
    replaced since (a double tap, an older message) replaces nothing: the newest link stays."""
    base = settings.public_base_url
    if base is None:
        await query.answer(views.no_link(), show_alert=True)
        return
    feed = await calendar.feed_of(session, member.id)
    replaces = callback_data.item_id
    if feed is not None and replaces and replaces != calendar.link_stamp(feed):
        await query.answer(views.already_renewed())
        return
    renewed = feed is not None
    await _send_new_link(query, message, session, member, base, renewed=renewed)


async def _send_new_link(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    base: str,
    *,
    renewed: bool,
) -> None:
    token = await calendar.new_feed_token(session, member.id, now=utcnow())
    await session.commit()
    await query.answer()
    await message.answer(
        views.link_text(
            calendar.feed_url(base, token),
            public_url=calendar.public_feed_url(base),
            renewed=renewed,
        )
    )


async def refuse_press(query: CallbackQuery) -> None:
    """A press from someone who withdrew their consent meanwhile."""
    await query.answer(views.no_consent(), show_alert=True)


def create_router() -> Router:
    """/kalender and its buttons in the private chat; the buttons need consent. A meeting that
    is gone (ScheduleError) is explained by the meetings router, like everywhere else."""
    router = private_router(__name__)
    router.message.register(show_calendar, Command(*CALENDAR.aliases))
    router.callback_query.register(
        send_meeting, CalendarCallback.filter(F.action == CalendarAction.MEETING), Shown()
    )
    router.callback_query.register(
        send_memorial, CalendarCallback.filter(F.action == CalendarAction.MEMORIAL), Shown()
    )
    buttons = {
        CalendarAction.FILE: send_all,
        CalendarAction.SHIFT: send_shift,
        CalendarAction.LINK: show_link,
        CalendarAction.RENEW: renew_link,
    }
    for action, handler in buttons.items():
        router.callback_query.register(
            handler, CalendarCallback.filter(F.action == action), Shown(), Consented()
        )
    router.callback_query.register(refuse_press, CalendarCallback.filter())
    return router
