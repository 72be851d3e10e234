"""Roles: admins grant and revoke them from the chat (/rolle) and see who holds which (/rollen)."""

from __future__ import annotations

import logging
from collections.abc import Collection

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageOriginHiddenUser,
    MessageOriginUser,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.locales import member_locale
from bot.services.members import find_member, get_member
from bot.services.roles import (
    GRANTABLE_ROLES,
    RoleChangeError,
    allows,
    effective_roles,
    grant_role,
    privileged_members,
    revoke_role,
)
from bot.settings import Settings
from bot.telegram.callbacks import RoleCallback
from bot.telegram.commands import ROLE, ROLES, set_member_menu
from bot.telegram.format import esc
from bot.telegram.labels import role_label
from bot.telegram.notify import tell
from models import Member, Role
from models.base import utcnow

logger = logging.getLogger(__name__)

# Telegram's longest username is 32 characters; anything much longer is not a reference.
MAX_REFERENCE_LENGTH = 64


class RoleGrant(StatesGroup):
    """/rolle without a target: waiting for the admin to name the member."""

    waiting_for_member = State()


def _no_permission() -> str:
    return _("Sorry, only admins can do that.")


async def _deny_message(message: Message, roles: Collection[Role]) -> bool:
    if allows(roles, ROLE.roles):
        return False
    await message.answer(_no_permission())
    return True


def _role_panel(member: Member, roles: frozenset[Role]) -> tuple[str, InlineKeyboardMarkup]:
    held = [role_label(role) for role in GRANTABLE_ROLES if role in roles]
    text = _("<b>{name}</b> (id {id}) has these roles: {roles}.").format(
        name=esc(member.first_name),
        id=member.id,
        roles=", ".join(held) if held else role_label(Role.MEMBER),
    )
    text += "\n" + _("Tap a role to give or take it.")
    buttons = []
    for role in GRANTABLE_ROLES:
        has = role in roles
        label = ("✅ " if has else "➕ ") + role_label(role)
        buttons.append(
            [
                InlineKeyboardButton(
                    text=label,
                    callback_data=RoleCallback(
                        member_id=member.id, role=role, grant=not has
                    ).pack(),
                )
            ]
        )
    return text, InlineKeyboardMarkup(inline_keyboard=buttons)


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
            return _(
                "That person hides their account in forwarded messages. "
                "Send their @username or their numeric id instead."
            )
        if isinstance(user_id, int):
            member = await get_member(session, user_id)
            if member is None:
                return _("I haven't met that person yet. Ask them to write /start to me first.")
            return member
        return _("That is not a forwarded message from a person.")
    if not reference:
        return _("Send an @username, a numeric id or a forwarded message.")
    if len(reference) > MAX_REFERENCE_LENGTH:
        return _("That is too long for a username or an id.")
    member = await find_member(session, reference)
    if member is None:
        return _(
            "I don't know {reference}. Ask them to write /start to me first, then try again."
        ).format(reference=esc(reference))
    return member


async def _show_panel(message: Message, member: Member, settings: Settings) -> None:
    roles = effective_roles(member.id, member.role_set, settings.admin_ids)
    text, keyboard = _role_panel(member, roles)
    await message.answer(text, reply_markup=keyboard)


async def role_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    roles: frozenset[Role],
    settings: Settings,
    state: FSMContext,
) -> None:
    """`/rolle @name`, `/rolle 12345`, `/rolle` replying to a forwarded message, or `/rolle`."""
    if await _deny_message(message, roles):
        return
    reference = (command.args or "").strip() or None
    if reference is None and message.reply_to_message is None:
        await state.set_state(RoleGrant.waiting_for_member)
        await message.answer(
            _(
                "Whose roles do you want to change? Send their @username or numeric id, "
                "or forward me a message from them. /cancel stops."
            )
        )
        return
    target = await _resolve_target(message, session, reference)
    if isinstance(target, str):
        await message.answer(target)
        return
    await _show_panel(message, target, settings)


async def role_target_given(
    message: Message,
    session: AsyncSession,
    roles: frozenset[Role],
    settings: Settings,
    state: FSMContext,
) -> None:
    """Second step of /rolle: the admin names the member."""
    if await _deny_message(message, roles):
        await state.clear()
        return
    reference = None if message.forward_origin else (message.text or "").strip()
    target = await _resolve_target(message, session, reference)
    if isinstance(target, str):
        await message.answer(target + "\n" + _("Try again, or /cancel."))
        return
    await state.clear()
    await _show_panel(message, target, settings)


async def role_toggled(
    query: CallbackQuery,
    callback_data: RoleCallback,
    session: AsyncSession,
    roles: frozenset[Role],
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    """Grant or revoke, after checking again that the presser is an admin."""
    if not allows(roles, ROLE.roles):
        await query.answer(_no_permission(), show_alert=True)
        return
    member = await get_member(session, callback_data.member_id)
    if member is None or callback_data.role not in GRANTABLE_ROLES:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    try:
        if callback_data.grant:
            changed = await grant_role(
                session, member, callback_data.role, granted_by=query.from_user.id, now=utcnow()
            )
        else:
            changed = await revoke_role(
                session,
                member,
                callback_data.role,
                revoked_by=query.from_user.id,
                admin_ids=settings.admin_ids,
            )
    except RoleChangeError as exc:
        await session.rollback()
        reasons = {
            "configured_admin": _("{name} is an admin through ADMIN_IDS; change it there.").format(
                name=member.first_name
            ),
            "self_admin": _("You can't take the admin role from yourself."),
        }
        await query.answer(
            reasons.get(exc.reason, _("That role can't be changed.")), show_alert=True
        )
        return
    await session.commit()
    member_roles = effective_roles(member.id, member.role_set, settings.admin_ids)
    if changed:
        logger.info(
            "role %s %s member=%s by=%s",
            callback_data.role.value,
            "granted" if callback_data.grant else "revoked",
            member.id,
            query.from_user.id,
        )
    await query.answer(_("Saved.") if changed else _("Nothing to change."))
    if isinstance(query.message, Message):
        text, keyboard = _role_panel(member, member_roles)
        await query.message.edit_text(text, reply_markup=keyboard)
    if changed:
        await _tell_member(bot, i18n, member, member_roles, callback_data, settings)


async def _tell_member(
    bot: Bot,
    i18n: I18n,
    member: Member,
    member_roles: frozenset[Role],
    change: RoleCallback,
    settings: Settings,
) -> None:
    """Let the member know, in their language, and give them the menu their roles allow."""

    def render() -> tuple[str, InlineKeyboardMarkup | None]:
        text = (
            _("You now have the role {role}. /help shows what you can do with it.")
            if change.grant
            else _("Your role {role} has been taken back. Thank you for your work!")
        ).format(role=role_label(change.role))
        return text, None

    # Someone who never opened the private chat gets neither message nor menu; the change stands.
    if await tell(
        bot, i18n, member.id, member, default_locale=settings.default_locale, render=render
    ):
        await set_member_menu(
            bot,
            i18n,
            chat_id=member.id,
            roles=member_roles,
            locale=member_locale(
                member, available=i18n.available_locales, default=settings.default_locale
            ),
            chose_language=member.language is not None,
        )


async def list_roles(
    message: Message, session: AsyncSession, roles: frozenset[Role], settings: Settings
) -> None:
    """Who holds which role, admins from ADMIN_IDS included."""
    if await _deny_message(message, roles):
        return
    lines: list[str] = []
    listed: set[int] = set()
    for member, stored in await privileged_members(session):
        held = effective_roles(member.id, stored, settings.admin_ids) - {Role.MEMBER}
        labels = ", ".join(role_label(role) for role in GRANTABLE_ROLES if role in held)
        lines.append(f"• {esc(member.first_name)} (id {member.id}): {labels}")
        listed.add(member.id)
    for admin_id in sorted(settings.admin_ids - listed):
        known = await get_member(session, admin_id)
        name = esc(known.first_name) if known else _("not met yet")
        lines.append(f"• {name} (id {admin_id}): {role_label(Role.ADMIN)} (ADMIN_IDS)")
    if not lines:
        await message.answer(_("Nobody holds a role yet."))
        return
    await message.answer(_("Roles in this KV:") + "\n\n" + "\n".join(lines))


def create_router() -> Router:
    """Role management in the private chat; every handler re-checks the admin role itself."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(role_command, Command(*ROLE.aliases))
    router.message.register(list_roles, Command(*ROLES.aliases))
    router.message.register(role_target_given, RoleGrant.waiting_for_member)
    router.callback_query.register(role_toggled, RoleCallback.filter())
    return router
