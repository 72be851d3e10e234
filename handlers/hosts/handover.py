"""Handing a group's host role to someone else: the host names them, an organiser confirms.

The host types an @username or picks one of the group's members; every organiser gets the
request with confirm / decline buttons (only organisers and admins may press them, checked by
the service). Once confirmed, the group's hosts change, the roles follow, and both hosts are
told and get the command menu their roles now allow.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory, hosting
from bot.services.hosting import HostError
from bot.services.locales import member_locale
from bot.services.roles import effective_roles
from bot.settings import Settings
from bot.telegram.callbacks import HostAction, HostCallback
from bot.telegram.commands import set_member_menu
from bot.telegram.ids import INT32_MAX
from bot.telegram.notify import tell, tell_member
from bot.telegram.screens import Shown, show
from bot.telegram.views import hosts as views
from handlers.hosts.common import TYPED, HostFlow
from models import Group, Member, Role
from models.base import utcnow

logger = logging.getLogger(__name__)


async def _own_group(
    session: AsyncSession, member: Member, roles: frozenset[Role], group_id: int
) -> Group:
    """The group, when the member is one of its own hosts (organisers who don't host it have
    nothing to hand over)."""
    group = await hosting.managed_group(session, member, roles, group_id)
    if member.id not in await directory.host_ids(session, group):
        raise HostError("not_own_host")
    return group


async def handover_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Ask who takes over: an @username, or one of the group's members as buttons."""
    group = await _own_group(session, member, roles, callback_data.group_id)
    candidates = await hosting.candidates(session, group)
    await state.set_state(HostFlow.new_host)
    await state.set_data({"group_id": group.id})
    await query.answer()
    await show(message, *views.ask_new_host(group, candidates))


async def _request(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    group: Group,
    new_id: int,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
) -> None:
    handover, new = await hosting.request_handover(
        session, group, from_member=member, to_member_id=new_id, now=utcnow()
    )
    await state.clear()
    await session.commit()
    logger.info("handover %s of group %s: %s -> %s", handover.id, group.id, member.id, new.id)
    organisers = await directory.organiser_ids(session, settings.admin_ids)
    asked = 0
    for organiser_id in organisers:

        def render(handover_id: int = handover.id) -> tuple[str, InlineKeyboardMarkup]:
            return views.handover_question(handover_id, group, member, new)

        asked += await tell_member(
            bot, i18n, session, organiser_id, default_locale=settings.default_locale, render=render
        )
    if not asked:
        await message.answer(views.no_organisers())
        return
    await message.answer(views.handover_requested(group, new))


async def new_host_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
) -> None:
    """The new host's @username; someone the bot doesn't know is explained and the step waits."""
    data = await state.get_data()
    group_id = data.get("group_id")
    try:
        group = await _own_group(
            session, member, roles, group_id if isinstance(group_id, int) else 0
        )
    except HostError:
        await state.clear()
        raise
    new = await hosting.find_member(session, message.text or "")
    await _request(message, session, settings, member, group, new.id, state, bot, i18n)


async def candidate_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
) -> None:
    """One of the group's members picked as the new host."""
    group = await _own_group(session, member, roles, callback_data.group_id)
    await query.answer()
    await message.delete_reply_markup()
    await _request(message, session, settings, member, group, callback_data.value, state, bot, i18n)


async def _menu(bot: Bot, i18n: I18n, settings: Settings, member: Member) -> None:
    """The command menu the member's roles now allow (a chat never opened has none)."""
    try:
        await set_member_menu(
            bot,
            i18n,
            chat_id=member.id,
            roles=effective_roles(member.id, member.role_set, settings.admin_ids),
            locale=member_locale(
                member, available=i18n.available_locales, default=settings.default_locale
            ),
            chose_language=member.language is not None,
        )
    except TelegramAPIError as exc:
        logger.info("no command menu for member=%s: %s", member.id, exc)


async def decision_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    roles: frozenset[Role],
    bot: Bot,
    i18n: I18n,
) -> None:
    """An organiser confirms or declines; both hosts are told, their menus follow their roles."""
    approve = callback_data.action == HostAction.HANDOVER_YES
    result = await hosting.decide_handover(
        session,
        callback_data.value,
        approve=approve,
        by=query.from_user.id,
        by_roles=roles,
        now=utcnow(),
    )
    await session.commit()
    logger.info(
        "handover %s %s by %s",
        result.handover.id,
        "confirmed" if approve else "declined",
        query.from_user.id,
    )
    await query.answer()
    await show(message, views.handover_decided(result.group, result.new, approved=approve))
    if approve:
        await tell(
            bot,
            i18n,
            result.new.id,
            result.new,
            default_locale=settings.default_locale,
            render=lambda: views.handover_news_new(result.group),
        )
        await _menu(bot, i18n, settings, result.new)
    if result.old is not None:
        old = result.old
        await tell(
            bot,
            i18n,
            old.id,
            old,
            default_locale=settings.default_locale,
            render=lambda: views.handover_news_old(result.group, result.new, approved=approve),
        )
        if result.old_lost_role:
            await _menu(bot, i18n, settings, old)


def create_router() -> Router:
    """Handovers; the feature's router (handlers.hosts) filters the chat."""
    router = Router(name=__name__)
    press = router.callback_query.register
    press(handover_pressed, HostCallback.filter(F.action == HostAction.HANDOVER), Shown())
    press(candidate_pressed, HostCallback.filter(F.action == HostAction.HANDOVER_PICK), Shown())
    press(
        decision_pressed,
        # `value` is a handover's id here (an Integer column): a bigger one is forged.
        HostCallback.filter(
            F.action.in_({HostAction.HANDOVER_YES, HostAction.HANDOVER_NO}) & (F.value <= INT32_MAX)
        ),
        Shown(),
    )
    router.message.register(new_host_typed, HostFlow.new_host, *TYPED)
    return router
