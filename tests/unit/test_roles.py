"""Roles: effective roles, who may use what, and the grant/revoke rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.db.session import SessionPool
from bot.services.members import Sighting, record_sighting
from bot.services.profile import give_consent
from bot.services.roles import (
    RoleChangeError,
    allows,
    effective_roles,
    grant_role,
    privileged_members,
    revoke_role,
)
from models import Member, Role

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_everyone_is_a_member_and_admin_ids_are_admins() -> None:
    assert effective_roles(1, (), admin_ids=()) == {Role.MEMBER}
    assert effective_roles(1, (Role.HOST,), admin_ids={1}) == {Role.MEMBER, Role.HOST, Role.ADMIN}
    assert effective_roles(2, (), admin_ids={1}) == {Role.MEMBER}


@pytest.mark.parametrize(
    ("roles", "required", "expected"),
    [
        ({Role.MEMBER}, set(), True),
        ({Role.MEMBER}, {Role.ADMIN}, False),
        ({Role.MEMBER, Role.HOST}, {Role.ORGANISER}, False),
        ({Role.MEMBER, Role.ORGANISER}, {Role.ORGANISER, Role.HOST}, True),
        ({Role.MEMBER, Role.ADMIN}, {Role.ORGANISER}, True),
    ],
)
def test_allows(roles: set[Role], required: set[Role], expected: bool) -> None:
    assert allows(roles, required) is expected


async def _member(pool: SessionPool, member_id: int, name: str) -> None:
    """A member who agreed, so the bot keeps their name."""
    async with pool() as session:
        member, _changed = await record_sighting(
            session, Sighting(member_id, name, None, None), NOW
        )
        await give_consent(session, member, first_name=name, username=None, now=NOW)
        await session.commit()


async def test_grant_and_revoke_round_trip(session_pool: SessionPool) -> None:
    await _member(session_pool, 1, "Anna")
    async with session_pool() as session:
        member = await session.get(Member, 1)
        assert member is not None
        assert await grant_role(session, member, Role.ORGANISER, granted_by=99, now=NOW) is True
        assert await grant_role(session, member, Role.ORGANISER, granted_by=99, now=NOW) is False
        await session.commit()
    async with session_pool() as session:
        listed = await privileged_members(session)
        assert [(m.id, roles) for m, roles in listed] == [(1, {Role.ORGANISER})]
        member = listed[0][0]
        assert member.roles[0].granted_by == 99
        assert (
            await revoke_role(session, member, Role.ORGANISER, revoked_by=99, admin_ids=()) is True
        )
        assert (
            await revoke_role(session, member, Role.ORGANISER, revoked_by=99, admin_ids=()) is False
        )
        await session.commit()
    async with session_pool() as session:
        assert await privileged_members(session) == []


async def test_member_role_is_not_grantable(session_pool: SessionPool) -> None:
    await _member(session_pool, 1, "Anna")
    async with session_pool() as session:
        member = await session.get(Member, 1)
        assert member is not None
        with pytest.raises(RoleChangeError, match="not_grantable"):
            await grant_role(session, member, Role.MEMBER, granted_by=99, now=NOW)


async def test_configured_and_own_admin_role_cannot_be_revoked(session_pool: SessionPool) -> None:
    await _member(session_pool, 1, "Anna")
    async with session_pool() as session:
        member = await session.get(Member, 1)
        assert member is not None
        await grant_role(session, member, Role.ADMIN, granted_by=99, now=NOW)
        with pytest.raises(RoleChangeError, match="configured_admin"):
            await revoke_role(session, member, Role.ADMIN, revoked_by=99, admin_ids={1})
        with pytest.raises(RoleChangeError, match="self_admin"):
            await revoke_role(session, member, Role.ADMIN, revoked_by=1, admin_ids=())
        assert Role.ADMIN in member.role_set


async def test_roles_are_ordered_by_name(session_pool: SessionPool) -> None:
    for member_id, name in ((1, "Zora"), (2, "Anna"), (3, "Mehmet")):
        await _member(session_pool, member_id, name)
    async with session_pool() as session:
        for member_id in (1, 2):
            member = await session.get(Member, member_id)
            assert member is not None
            await grant_role(session, member, Role.HOST, granted_by=99, now=NOW)
        await session.commit()
    async with session_pool() as session:
        assert [m.first_name for m, _ in await privileged_members(session)] == ["Anna", "Zora"]
