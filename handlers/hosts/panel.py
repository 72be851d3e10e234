"""/meine_gruppen: the host's groups, a group's next meetings, who comes, how the host hears."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import hosting
from bot.services.hosting import HostError
from bot.settings import Settings
from bot.telegram.callbacks import HostAction, HostCallback
from bot.telegram.commands import MY_GROUPS
from bot.telegram.screens import Shown, show
from bot.telegram.views import hosts as views
from handlers.hosts.common import group_view, meeting_view
from models import Member, Role
from models.base import utcnow


async def my_groups(
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The groups the member hosts (every group for organisers); a polite no for others."""
    groups = await hosting.managed_groups(session, member, roles)
    manager = hosting.is_manager(roles)
    if not groups and not manager:
        await message.answer(views.no_groups())
        return
    # Whatever the host was typing ends here, as with any new screen of the panel.
    await state.clear()
    notice = await hosting.notice_for(session, member.id)
    text, keyboard = views.groups_screen(groups, notice, all_groups=manager)
    await message.answer(text, reply_markup=keyboard)


async def groups_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """Back to the list of groups (page `value`)."""
    groups = await hosting.managed_groups(session, member, roles)
    manager = hosting.is_manager(roles)
    if not groups and not manager:
        raise HostError("not_host")
    notice = await hosting.notice_for(session, member.id)
    text, keyboard = views.groups_screen(
        groups, notice, page=max(callback_data.value, 0), all_groups=manager
    )
    await query.answer()
    await show(message, text, keyboard)


async def group_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """One group: its next meetings with their answers, and what the host can do."""
    group = await hosting.managed_group(session, member, roles, callback_data.group_id)
    await state.clear()
    text, keyboard = await group_view(session, group, member, zone=settings.zone, now=utcnow())
    await query.answer()
    await show(message, text, keyboard)


async def meeting_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """One meeting: who comes (first-timers marked), the counts, and the buttons to change it."""
    meeting = await hosting.managed_meeting(session, member, roles, callback_data.meeting_id)
    await state.clear()
    text, keyboard = await meeting_view(
        session,
        meeting,
        zone=settings.zone,
        now=utcnow(),
        page=callback_data.value,
        reader=member.id,
    )
    await query.answer()
    await show(message, text, keyboard)


async def _require_host(session: AsyncSession, member: Member, roles: frozenset[Role]) -> None:
    if hosting.is_manager(roles):
        return
    if not await hosting.managed_groups(session, member, roles):
        raise HostError("not_host")


async def notice_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """How the host hears of answers: the three ways, the current one marked."""
    await _require_host(session, member, roles)
    current = await hosting.notice_for(session, member.id)
    await query.answer()
    await show(message, *views.notice_screen(current))


async def notice_set(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """Store the way chosen (pressed twice: the same)."""
    await _require_host(session, member, roles)
    notice = views.NOTICES[callback_data.value]
    if await hosting.set_notice(session, member.id, notice):
        await session.commit()
    await query.answer(views.notice_saved())
    await show(message, *views.notice_screen(notice))


def create_router() -> Router:
    """The panel's screens; the feature's router (handlers.hosts) filters the chat."""
    router = Router(name=__name__)
    router.message.register(my_groups, Command(*MY_GROUPS.aliases))
    press = router.callback_query.register
    press(groups_pressed, HostCallback.filter(F.action == HostAction.GROUPS), Shown())
    press(group_pressed, HostCallback.filter(F.action == HostAction.GROUP), Shown())
    press(meeting_pressed, HostCallback.filter(F.action == HostAction.MEETING), Shown())
    press(notice_pressed, HostCallback.filter(F.action == HostAction.NOTICE), Shown())
    press(
        notice_set,
        HostCallback.filter(
            (F.action == HostAction.NOTICE_SET) & F.value.in_(range(len(views.NOTICES)))
        ),
        Shown(),
    )
    return router
