"""Roles (/rolle, /rollen): the role panel of one member, the list of who holds which role."""

from __future__ import annotations

from collections.abc import Collection

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.roles import GRANTABLE_ROLES, RoleChangeError
from bot.telegram.callbacks import RoleCallback
from bot.telegram.format import esc, join_names, member_label, part_label, split_message
from bot.telegram.labels import role_label
from models import Member, Role


def refusal() -> str:
    """The answer to anyone but an admin, for commands, buttons and the conversation alike."""
    return _("Sorry, only admins can do that.")


def role_panel(member: Member, roles: Collection[Role]) -> tuple[str, InlineKeyboardMarkup]:
    """The member's roles, and a button per grantable role that gives or takes it."""
    held = [role_label(role) for role in GRANTABLE_ROLES if role in roles] or [
        role_label(Role.MEMBER)
    ]
    text = _("{member} has this role: {roles}.", "{member} has these roles: {roles}.", len(held))
    text = text.format(member=member_label(member), roles=join_names(held))
    text += "\n" + _("Tap a role to give or take it.")
    buttons = [
        [
            InlineKeyboardButton(
                text=("✅ " if role in roles else "➕ ") + role_label(role),
                # What the press sets, not "flip": a second press of an old panel is harmless.
                callback_data=RoleCallback(
                    member_id=member.id, role=role, grant=role not in roles
                ).pack(),
            )
        ]
        for role in GRANTABLE_ROLES
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=buttons)


def ask_for_member() -> str:
    """/rolle without a target: whom do you mean?"""
    return _(
        "Whose roles do you want to change? Send their @username or numeric id, "
        "or forward me a message from them. /cancel stops."
    )


def try_again(problem: str) -> str:
    """A problem with the named member, in the second step of /rolle."""
    return problem + "\n" + _("Try again, or /cancel.")


def hidden_account() -> str:
    """A forwarded message whose sender hides their account."""
    return _(
        "That person hides their account in forwarded messages. "
        "Send their @username or their numeric id instead."
    )


def not_met() -> str:
    """A forwarded message from someone who never wrote to the bot."""
    return _("I haven't met that person yet. Ask them to write /start to me first.")


def not_a_person() -> str:
    """A reply to something that is no forwarded message from a person."""
    return _("That is not a forwarded message from a person.")


def no_reference() -> str:
    """Neither a name nor an id nor a forward."""
    return _("Send an @username, a numeric id or a forwarded message.")


def too_long() -> str:
    """A reference longer than any username or id."""
    return _("That is too long for a username or an id.")


def unknown(reference: str) -> str:
    """A username or id the bot doesn't know."""
    return _("I don't know {reference}. Ask them to write /start to me first.").format(
        reference=esc(reference)
    )


def button_gone() -> str:
    """A role button for someone the bot no longer knows."""
    return _("This button is no longer valid.")


def saved(changed: bool) -> str:
    """The short answer to a role button."""
    return _("Saved.") if changed else _("Nothing to change.")


def error_text(error: RoleChangeError) -> str:
    """Why a grant or revoke was refused."""
    reasons = {
        "configured_admin": _(
            "Admins listed in ADMIN_IDS stay admins; that can only be changed there."
        ),
        "self_admin": _("You can't take the admin role from yourself."),
        # Only an old or forged button asks for a role that can't be granted.
        "not_grantable": _("This button is no longer valid."),
    }
    return reasons.get(error.reason, _("That role can't be changed."))


def role_news(role: Role, *, granted: bool) -> tuple[str, None]:
    """What the member hears about a change of their roles."""
    if granted:
        text = _("You now have the role {role}. /help shows what you can do with it.")
    else:
        text = _("Your role {role} has been taken back. Thank you for your work!")
    return text.format(role=role_label(role)), None


def role_line(member: Member, roles: Collection[Role], *, configured: bool) -> str:
    """One line of /rollen; `configured` marks an admin from ADMIN_IDS."""
    labels = join_names(role_label(role) for role in GRANTABLE_ROLES if role in roles)
    line = f"• {member_label(member)}: {labels}"
    return line + " (ADMIN_IDS)" if configured else line


def unmet_admin_line(admin_id: int) -> str:
    """An admin from ADMIN_IDS who never wrote to the bot."""
    label = _("ID {id} (not met yet)").format(id=admin_id)
    return f"• {label}: {role_label(Role.ADMIN)} (ADMIN_IDS)"


def role_list(lines: list[str]) -> list[str]:
    """/rollen: everyone holding a role (in several messages when one can't hold them all),
    or a note that nobody does."""
    if not lines:
        return [_("Nobody holds a role yet.")]
    title = _("Roles in this KV:")
    parts = split_message(lambda part, parts: title + part_label(part, parts) + "\n", lines)
    return [text for text, _run in parts]
