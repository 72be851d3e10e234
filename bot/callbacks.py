"""Callback data factories: short versioned prefixes, ids only; handlers reload and re-check."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from models import Role


class LanguageCallback(CallbackData, prefix="lang1"):
    """A language button of /sprache."""

    code: str


class RoleCallback(CallbackData, prefix="role1"):
    """Give (grant=True) or take a role from a member, pressed in an admin's role panel."""

    member_id: int
    role: Role
    grant: bool
