"""Small helpers for building message text safely."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _

from models import Role


def esc(value: object) -> str:
    """Escape anything a user typed (names, usernames, free text) for parse_mode HTML."""
    return html.escape(str(value), quote=False)


def role_label(role: Role) -> str:
    """The role's name in the current locale."""
    labels = {
        Role.MEMBER: _("Member"),
        Role.HOST: _("Host"),
        Role.ORGANISER: _("Organiser"),
        Role.ADMIN: _("Admin"),
    }
    return labels[role]
