"""/gruppen: suggestions or the directory, browsing every group (by kind, Stadtteil, topic),
a group's details, joining, the member's own groups and leaving one, asking the office.

Joining tells the group's hosts (bot.telegram.membership); leaving tells nobody. "Talk to the
office" tells the organisers, each privately and in their own language. Proposing a Stammtisch
is handlers/founding.py; presses before consent are handlers/kept.py.
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

from bot.services import directory, notice_caps
from bot.services.directory import GroupError
from bot.services.notice_caps import NoticeKind
from bot.services.profile import ProfileError, joined_group_ids, leave_group
from bot.settings import Settings
from bot.telegram import membership
from bot.telegram.callbacks import GroupAction, GroupCallback
from bot.telegram.commands import GROUPS
from bot.telegram.guards import Consented, explain, private_router
from bot.telegram.labels import group_type_plural
from bot.telegram.notify import Render, tell_member
from bot.telegram.screens import Shown, show
from bot.telegram.views import groups as views
from bot.telegram.views import notice_caps as cap_views
from models import Member
from models.base import utcnow

# Groups per page of a list (the directory, browsing): each has two buttons.
LIST_SIZE = 5


async def show_groups(
    message: Message, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """Suggestions for members who finished the intake; the whole directory for everyone else.
    Browsing every group and the member's own groups are a button away in both."""
    now = utcnow()
    if member.profile is not None and member.profile.intake_completed_at is not None:
        page = await directory.suggestion_page(
            session, member, now=now, zone=settings.zone, page=0, size=views.PAGE_SIZE
        )
        text, keyboard = views.suggestions(page, settings.zone)
        await message.answer(text, reply_markup=keyboard)
        return
    listing = await directory.listing(session, now=now, page=0, size=LIST_SIZE)
    text, keyboard = views.directory(listing, settings.zone)
    await message.answer(text, reply_markup=keyboard)


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
    member: Member,
    settings: Settings,
    bot: Bot,
) -> None:
    """Everything about one group, with a button to join it (or leave it) and its share link."""
    group = await directory.require_active_group(session, callback_data.group_id)
    text, keyboard = await membership.group_card(session, bot, member, group, settings, utcnow())
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def join_pressed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Join the group, tell its hosts, then the chat link and the next meeting's card."""
    await directory.require_active_group(session, callback_data.group_id)
    joined = await membership.join(
        session, bot, i18n, settings, member, callback_data.group_id, now=utcnow()
    )
    if not joined.newly_joined:
        await query.answer(views.already_in())
        return
    await query.answer(views.joined_toast())
    await membership.send(bot, member.id, joined.screens)


async def browse_pressed(query: CallbackQuery, message: Message) -> None:
    """The ways to browse every group, as a new message."""
    await query.answer()
    text, keyboard = views.browse_menu()
    await message.answer(text, reply_markup=keyboard)


async def menu_pressed(query: CallbackQuery, message: Message) -> None:
    """Back to the ways to browse, in place."""
    await query.answer()
    await show(message, *views.browse_menu())


async def kinds_pressed(query: CallbackQuery, message: Message) -> None:
    """The kinds of group to choose from."""
    await query.answer()
    await show(message, *views.kinds_menu())


async def districts_pressed(
    query: CallbackQuery, callback_data: GroupCallback, message: Message, session: AsyncSession
) -> None:
    """The Stadtteile to choose from (and the whole KV), paged."""
    choices = [(district.id, district.name) for district in await directory.districts(session)]
    choices.append((0, views.whole_kv()))
    await query.answer()
    await show(
        message,
        *views.choices_menu(
            views.districts_title(),
            choices,
            GroupAction.DISTRICTS,
            GroupAction.BY_DISTRICT,
            callback_data.page,
        ),
    )


async def topics_pressed(
    query: CallbackQuery, callback_data: GroupCallback, message: Message, session: AsyncSession
) -> None:
    """The topics to choose from, paged."""
    choices = [(topic.id, topic.name) for topic in await directory.topics(session)]
    await query.answer()
    await show(
        message,
        *views.choices_menu(
            views.topics_title(),
            choices,
            GroupAction.TOPICS,
            GroupAction.BY_TOPIC,
            callback_data.page,
        ),
    )


BROWSED_BY: dict[GroupAction, tuple[directory.BrowseKind, GroupAction]] = {
    GroupAction.BY_TYPE: ("type", GroupAction.KINDS),
    GroupAction.BY_DISTRICT: ("district", GroupAction.DISTRICTS),
    GroupAction.BY_TOPIC: ("topic", GroupAction.TOPICS),
}


async def browsed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """A page of the groups of one kind, Stadtteil or topic, in place."""
    kind, back = BROWSED_BY[callback_data.action]
    value = callback_data.group_id
    page = await directory.browse(
        session, kind, value, now=utcnow(), page=callback_data.page, size=LIST_SIZE
    )
    title = await _browse_title(session, kind, value)
    await query.answer()
    await show(
        message, *views.group_list(title, page, callback_data.action, value, back, settings.zone)
    )


async def _browse_title(session: AsyncSession, kind: directory.BrowseKind, value: int) -> str:
    # directory.browse has checked the value names something.
    if kind == "type":
        return group_type_plural(directory.GROUP_TYPES[value])
    if kind == "district":
        names = {district.id: district.name for district in await directory.districts(session)}
        return names.get(value, views.whole_kv())
    names = {topic.id: topic.name for topic in await directory.topics(session)}
    return names.get(value, "")


async def all_pressed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """A page of every group, in place."""
    page = await directory.listing(session, now=utcnow(), page=callback_data.page, size=LIST_SIZE)
    await query.answer()
    await show(
        message,
        *views.group_list(
            views.all_title(), page, GroupAction.ALL, 0, GroupAction.MENU, settings.zone
        ),
    )


async def _mine(
    session: AsyncSession,
    member: Member,
    settings: Settings,
    note: str | None = None,
    page: int = 0,
) -> views.Screen:
    groups = await directory.member_groups(session, member.id)
    listed = await directory.listed(session, groups, now=utcnow())
    return views.my_groups(listed, settings.zone, note=note, page=page)


async def mine_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """The member's own groups, as a new message."""
    text, keyboard = await _mine(session, member, settings)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def mine_here_pressed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """The member's own groups, in place (Back, "No, stay", « and »)."""
    screen = await _mine(session, member, settings, page=callback_data.page)
    await query.answer()
    await show(message, *screen)


async def leave_pressed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
) -> None:
    """Ask before leaving a group."""
    group = await directory.require_active_group(session, callback_data.group_id)
    if group.id not in await joined_group_ids(session, member.id):
        await query.answer(views.not_in_group())
        return
    await query.answer()
    await show(message, *views.leave_question(group))


async def leave_confirmed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Leave the group (nobody is told) and show the member's groups without it."""
    result = await leave_group(session, member, callback_data.group_id, utcnow())
    await session.commit()
    if not result.left:
        await query.answer(views.not_in_group())
        return
    note = views.left(result.group, result.withdrawn)
    screen = await _mine(session, member, settings, note=note)
    await query.answer()
    await show(message, *screen)


async def office_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """No fitting group: the member would like to talk to someone. Each organiser hears it,
    once an hour at most (bot.services.notice_caps)."""
    if not await notice_caps.claim(session, member.id, NoticeKind.OFFICE, now=utcnow()):
        await query.answer(cap_views.office_already_told(), show_alert=True)
        return
    await session.commit()
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
        await tell_member(
            bot, i18n, session, organiser_id, default_locale=settings.default_locale, render=note
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
    press(office_pressed, on(GroupAction.OFFICE), Consented())
    press(browse_pressed, on(GroupAction.BROWSE))
    press(menu_pressed, on(GroupAction.MENU))
    press(kinds_pressed, on(GroupAction.KINDS))
    press(districts_pressed, on(GroupAction.DISTRICTS))
    press(topics_pressed, on(GroupAction.TOPICS))
    press(all_pressed, on(GroupAction.ALL))
    press(browsed, GroupCallback.filter(F.action.in_(BROWSED_BY)))
    # Only members with consent have groups; for the others the list is simply empty.
    press(mine_pressed, on(GroupAction.MINE))
    press(mine_here_pressed, on(GroupAction.MINE_HERE))
    press(leave_pressed, on(GroupAction.LEAVE), Consented())
    press(leave_confirmed, on(GroupAction.LEAVE_OK), Consented())
    # A group dropped from the setup since the list was shown, or a page past the end.
    explain(router, GroupError, views.group_refused, alert=True)
    explain(router, ProfileError, views.profile_refused, alert=True)
    return router
