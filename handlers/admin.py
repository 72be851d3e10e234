"""Roles: admins grant and revoke them from the chat (/rolle) and see who holds which (/rollen).

Only admins get this far: the router is guarded by the role filter built from ROLE.roles
(bot.telegram.guards.guard), for commands, buttons and the conversation step alike.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Message,
    MessageOriginHiddenUser,
    MessageOriginUser,
)
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.locales import member_locale
from bot.services.members import find_member, get_member
from bot.services.roles import (
    RoleChangeError,
    effective_roles,
    grant_role,
    privileged_members,
    revoke_role,
)
from bot.settings import Settings
from bot.telegram.callbacks import RoleCallback
from bot.telegram.commands import ROLE, ROLES, set_member_menu
from bot.telegram.dashboard_button import set_dashboard_button
from bot.telegram.guards import explain, guard, private_router
from bot.telegram.ids import parse_telegram_id
from bot.telegram.notify import tell
from bot.telegram.screens import edit
from bot.telegram.views import admin as views
from models import AuditAction, Member, Role
from models.base import utcnow

logger = logging.getLogger(__name__)

# Telegram's longest username is 32 characters; anything much longer is not a reference.
MAX_REFERENCE_LENGTH = 64


class RoleGrant(StatesGroup):
    """/rolle without a target: waiting for the admin to name the member."""

    waiting_for_member = State()


def _forwarded_user_id(message: Message) -> int | str | None:
    """The id behind a forwarded message; "hidden" when its sender hides their account."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.id
    if isinstance(origin, MessageOriginHiddenUser):
        return "hidden"
    return None


async def _resolve_target(
    message: Message, session: AsyncSession, reference: str | None
) -> Member | str:
    """The member an admin means, or the text explaining why there is none."""
    forwarded = message.reply_to_message or (message if message.forward_origin else None)
    if reference is None and forwarded is not None:
        user_id = _forwarded_user_id(forwarded)
        if user_id == "hidden":
            return views.hidden_account()
        if isinstance(user_id, int):
            member = await get_member(session, user_id)
            return member if member is not None else views.not_met()
        return views.not_a_person()
    if not reference:
        return views.no_reference()
    if len(reference) > MAX_REFERENCE_LENGTH:
        return views.too_long()
    if reference.lstrip("-").isdigit():
        # A Telegram id: ASCII digits within 64 bits, or nobody ("²" and 2^64 are no one).
        member_id = parse_telegram_id(reference)
        member = await get_member(session, member_id) if member_id is not None else None
    else:
        member = await find_member(session, reference)
    return member if member is not None else views.unknown(reference)


async def _show_panel(
    message: Message, session: AsyncSession, member: Member, settings: Settings, *, reader: int
) -> None:
    # Looking a member up shows their roles: in the audit log (no name: the lookup's the fact).
    await audit.record(session, reader, AuditAction.MEMBER_LOOKUP, count=1, subject=None)
    await session.commit()
    roles = effective_roles(member.id, member.role_set, settings.admin_ids)
    text, keyboard = views.role_panel(member, roles)
    await message.answer(text, reply_markup=keyboard)


def _reader(message: Message) -> int:
    assert message.from_user is not None
    return message.from_user.id


async def role_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
) -> None:
    """`/rolle @name`, `/rolle 12345`, `/rolle` replying to a forwarded message, or `/rolle`."""
    reference = (command.args or "").strip() or None
    if reference is None and message.reply_to_message is None:
        await state.set_state(RoleGrant.waiting_for_member)
        await message.answer(views.ask_for_member())
        return
    target = await _resolve_target(message, session, reference)
    if isinstance(target, str):
        await message.answer(target)
        return
    await _show_panel(message, session, target, settings, reader=_reader(message))


async def role_target_given(
    message: Message, session: AsyncSession, settings: Settings, state: FSMContext
) -> None:
    """Second step of /rolle: the admin names the member."""
    reference = None if message.forward_origin else (message.text or "").strip()
    target = await _resolve_target(message, session, reference)
    if isinstance(target, str):
        await message.answer(views.try_again(target))
        return
    await state.clear()
    await _show_panel(message, session, target, settings, reader=_reader(message))


async def grant_pressed(
    query: CallbackQuery,
    callback_data: RoleCallback,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    """Give the role the button names (RoleChangeError is explained below)."""
    member = await get_member(session, callback_data.member_id)
    if member is None:
        await query.answer(views.button_gone())
        return
    changed = await grant_role(
        session, member, callback_data.role, granted_by=query.from_user.id, now=utcnow()
    )
    await _record_change(session, query, callback_data, changed)
    await session.commit()
    await _after_change(query, member, callback_data, changed, settings, i18n, bot)


async def revoke_pressed(
    query: CallbackQuery,
    callback_data: RoleCallback,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    """Take the role the button names (RoleChangeError is explained below)."""
    member = await get_member(session, callback_data.member_id)
    if member is None:
        await query.answer(views.button_gone())
        return
    changed = await revoke_role(
        session,
        member,
        callback_data.role,
        revoked_by=query.from_user.id,
        admin_ids=settings.admin_ids,
    )
    await _record_change(session, query, callback_data, changed)
    await session.commit()
    await _after_change(query, member, callback_data, changed, settings, i18n, bot)


async def _record_change(
    session: AsyncSession, query: CallbackQuery, change: RoleCallback, changed: bool
) -> None:
    """A role given or taken is in the audit log, in the change's transaction."""
    if changed:
        verb = "granted" if change.grant else "revoked"
        await audit.record(
            session,
            query.from_user.id,
            AuditAction.ROLE_CHANGE,
            count=1,
            subject=f"{change.role.value} {verb}",
        )


async def _after_change(
    query: CallbackQuery,
    member: Member,
    change: RoleCallback,
    changed: bool,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    """Answer the press, show the panel as it is now, and tell the member about a change."""
    member_roles = effective_roles(member.id, member.role_set, settings.admin_ids)
    if changed:
        logger.info(
            "role %s %s member=%s by=%s",
            change.role.value,
            "granted" if change.grant else "revoked",
            member.id,
            query.from_user.id,
        )
    await query.answer(views.saved(changed))
    if isinstance(query.message, Message):
        text, keyboard = views.role_panel(member, member_roles)
        await edit(query.message, text, keyboard)
    if changed:
        await _tell_member(bot, i18n, member, member_roles, change, settings)


async def _tell_member(
    bot: Bot,
    i18n: I18n,
    member: Member,
    member_roles: frozenset[Role],
    change: RoleCallback,
    settings: Settings,
) -> None:
    """Let the member know, in their language, and give them the menu their roles allow."""

    def render() -> tuple[str, None]:
        return views.role_news(change.role, granted=change.grant)

    # Someone who never opened the private chat gets neither message nor menu; the change stands.
    if await tell(
        bot, i18n, member.id, member, default_locale=settings.default_locale, render=render
    ):
        locale = member_locale(
            member, available=i18n.available_locales, default=settings.default_locale
        )
        await set_member_menu(
            bot,
            i18n,
            chat_id=member.id,
            roles=member_roles,
            locale=locale,
            chose_language=member.language is not None,
        )
        # The dashboard's button comes with the organiser role and goes with it.
        await set_dashboard_button(
            bot, i18n, settings, chat_id=member.id, roles=member_roles, locale=locale, reset=True
        )


async def list_roles(message: Message, session: AsyncSession, settings: Settings) -> None:
    """Who holds which role, admins from ADMIN_IDS included."""
    lines: list[str] = []
    listed: set[int] = set()
    for member, stored in await privileged_members(session):
        held = effective_roles(member.id, stored, settings.admin_ids)
        configured = member.id in settings.admin_ids
        lines.append(views.role_line(member, held, configured=configured))
        listed.add(member.id)
    for admin_id in sorted(settings.admin_ids - listed):
        known = await get_member(session, admin_id)
        if known is None:
            lines.append(views.unmet_admin_line(admin_id))
        else:
            lines.append(views.role_line(known, {Role.ADMIN}, configured=True))
    await audit.record(session, _reader(message), AuditAction.ROLE_LIST, count=len(lines))
    await session.commit()
    for text in views.role_list(lines):
        await message.answer(text)


def create_router() -> Router:
    """Role management in the private chat, for admins only; everyone else gets one refusal."""
    router = private_router(__name__)
    router.message.register(role_command, Command(*ROLE.aliases))
    router.message.register(list_roles, Command(*ROLES.aliases))
    router.message.register(role_target_given, RoleGrant.waiting_for_member)
    router.callback_query.register(grant_pressed, RoleCallback.filter(F.grant))
    router.callback_query.register(revoke_pressed, RoleCallback.filter(~F.grant))
    explain(router, RoleChangeError, views.error_text, alert=True)
    # /rolle and /rollen are for the same people (admins), so one filter guards both.
    return guard(
        router,
        roles=ROLE.roles,
        refusal=views.refusal,
        commands=[ROLE, ROLES],
        callbacks=[RoleCallback],
        states=[RoleGrant],
    )
