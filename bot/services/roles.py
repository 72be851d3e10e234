"""Roles: who may do what. Every privileged handler asks this module, on the server side."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from models import Member, MemberRole, Role

# Roles an admin can hand out; MEMBER is what everybody has and is never stored.
GRANTABLE_ROLES: tuple[Role, ...] = (Role.HOST, Role.ORGANISER, Role.ADMIN)


def effective_roles(
    member_id: int, stored: Iterable[Role], admin_ids: Collection[int]
) -> frozenset[Role]:
    """The member's roles: MEMBER, the stored ones, and ADMIN for ids configured in ADMIN_IDS."""
    roles = {Role.MEMBER, *stored}
    if member_id in admin_ids:
        roles.add(Role.ADMIN)
    return frozenset(roles)


def allows(roles: Collection[Role], required: Collection[Role]) -> bool:
    """Whether someone with `roles` may use a feature open to `required` (empty: everyone).

    Admins may do everything.
    """
    return not required or Role.ADMIN in roles or any(role in roles for role in required)


class RoleChangeError(DomainError):
    """A grant or revoke that must not happen; `reason` is a stable code for the message."""


async def grant_role(
    session: AsyncSession, member: Member, role: Role, *, granted_by: int, now: datetime
) -> bool:
    """Give `role` to `member`; returns False when they already had it. The caller commits."""
    if role not in GRANTABLE_ROLES:
        raise RoleChangeError("not_grantable")
    if role in member.role_set:
        return False
    member.roles.append(MemberRole(role=role, granted_by=granted_by, granted_at=now))
    return True


async def revoke_role(
    session: AsyncSession,
    member: Member,
    role: Role,
    *,
    revoked_by: int,
    admin_ids: Collection[int],
) -> bool:
    """Take `role` from `member`; returns False when they did not have it. The caller commits.

    Admins configured in ADMIN_IDS stay admins whatever is stored, and nobody can take the admin
    role from themselves, so the KV never locks itself out by accident.
    """
    if role not in GRANTABLE_ROLES:
        raise RoleChangeError("not_grantable")
    if role is Role.ADMIN and member.id in admin_ids:
        raise RoleChangeError("configured_admin")
    if role is Role.ADMIN and member.id == revoked_by:
        raise RoleChangeError("self_admin")
    for row in list(member.roles):
        if row.role is role:
            member.roles.remove(row)
            return True
    return False


async def privileged_members(session: AsyncSession) -> list[tuple[Member, frozenset[Role]]]:
    """Members holding any stored role, with those roles, ordered by first name."""
    members = await session.scalars(
        select(Member).where(Member.roles.any()).order_by(Member.first_name, Member.id)
    )
    return [(member, member.role_set) for member in members]
