"""/gruppen: suggestions or the directory, a group's details, joining, asking the office.

Joining tells the group's hosts; "start a group" and "talk to the office" tell the organisers,
each privately and in their own language.
"""

from __future__ import annotations

import contextlib
from functools import partial

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory
from bot.services.directory import GroupError
from bot.services.members import get_member
from bot.services.profile import join_group
from bot.settings import Settings
from bot.telegram.callbacks import GroupAction, GroupCallback
from bot.telegram.commands import GROUPS
from bot.telegram.guards import Consented, explain, private_router
from bot.telegram.notify import Render, tell
from bot.telegram.screens import Shown
from bot.telegram.views import groups as views
from bot.telegram.views import start as start_views
from models import Member
from models.base import utcnow

# How many dates a group's details list.
DETAIL_DATES = 3


async def show_groups(
    message: Message, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """Suggestions for members who finished the intake; the whole directory for everyone else."""
    now = utcnow()
    if member.profile is not None and member.profile.intake_completed_at is not None:
        page = await directory.suggestion_page(
            session, member, now=now, zone=settings.zone, page=0, size=views.PAGE_SIZE
        )
        text, keyboard = views.suggestions(page, settings.zone)
        await message.answer(text, reply_markup=keyboard)
        return
    groups = await directory.listing(session, now=now, zone=settings.zone)
    text, directory_keyboard = views.directory(groups, settings.zone)
    await message.answer(text, reply_markup=directory_keyboard)


async def more_pressed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """The next page of suggestions, as a new message under the last."""
    page = await directory.suggestion_page(
        session,
        member,
        now=utcnow(),
        zone=settings.zone,
        page=callback_data.page,
        size=views.PAGE_SIZE,
    )
    text, keyboard = views.suggestions(page, settings.zone)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def details_pressed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """Everything about one group, with a button to join it."""
    group = await directory.require_active_group(session, callback_data.group_id)
    upcoming = directory.next_meetings(group, now=utcnow(), zone=settings.zone, count=DETAIL_DATES)
    text, keyboard = views.details(group, directory.meeting_rule(group), upcoming, settings.zone)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def join_pressed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Join the group and tell its hosts; joining again changes nothing and tells nobody."""
    group = await directory.require_active_group(session, callback_data.group_id)
    now = utcnow()
    result = await join_group(session, member, group.id, now)
    await session.commit()
    if not result.newly_joined:
        await query.answer(views.already_in())
        return
    hosts = [
        host_id for host_id in await directory.host_ids(session, group) if host_id != member.id
    ]
    upcoming = directory.next_meetings(group, now=now, zone=settings.zone)
    await query.answer(views.joined_toast())
    # The warm handoff: each host hears privately, in their language, who joined.
    note = partial(views.host_note, member, group, first_group=result.first_group)
    told = [await _tell(bot, i18n, session, settings, host_id, note) for host_id in hosts]
    next_meeting = upcoming[0] if upcoming else None
    await message.answer(views.joined(group, next_meeting, settings.zone, hosts_told=any(told)))


async def join_without_consent(
    query: CallbackQuery, message: Message, session: AsyncSession, settings: Settings
) -> None:
    """Joining needs consent: the question comes first."""
    kv = await directory.kv_name(session, settings.kv_name)
    text, keyboard = start_views.consent_question(kv)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def found_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """No fitting group: the member would like to start one. Each organiser hears it."""
    note = partial(views.founding_note, member)
    await _ask_office(query, message, session, settings, bot, i18n, note)


async def office_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """No fitting group: the member would like to talk to someone. Each organiser hears it."""
    note = partial(views.office_note, member)
    await _ask_office(query, message, session, settings, bot, i18n, note)


async def _ask_office(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    note: Render,
) -> None:
    organisers = await directory.organiser_ids(session, settings.admin_ids)
    await query.answer(views.office_thanks())
    # Asked once is enough: the buttons go, so a second press can't ask again.
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)
    for organiser_id in organisers:
        await _tell(bot, i18n, session, settings, organiser_id, note)


async def _tell(
    bot: Bot,
    i18n: I18n,
    session: AsyncSession,
    settings: Settings,
    recipient_id: int,
    render: Render,
) -> bool:
    recipient = await get_member(session, recipient_id)
    return await tell(
        bot, i18n, recipient_id, recipient, default_locale=settings.default_locale, render=render
    )


def create_router() -> Router:
    """/gruppen and the buttons under suggestions, the directory and details."""
    router = private_router(__name__)
    router.callback_query.filter(Shown())
    router.message.register(show_groups, Command(*GROUPS.aliases))

    def on(action: GroupAction) -> CallbackQueryFilter:
        return GroupCallback.filter(F.action == action)

    press = router.callback_query.register
    press(
        more_pressed,
        GroupCallback.filter((F.action == GroupAction.MORE) & (F.page >= 1)),
        Consented(),
    )
    press(details_pressed, on(GroupAction.DETAILS))
    press(join_pressed, on(GroupAction.JOIN), Consented())
    press(join_without_consent, on(GroupAction.JOIN), ~Consented())
    press(found_pressed, on(GroupAction.FOUND), Consented())
    press(office_pressed, on(GroupAction.OFFICE), Consented())
    # A group dropped from the setup since the list was shown, or a page past the end.
    explain(router, GroupError, views.group_refused, alert=True)
    return router
