"""Hosting: who may manage a group, notice preferences, and what a confirmed handover changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.db.session import SessionPool
from bot.services import hosting
from bot.services.hosting import HostError
from models import (
    Group,
    GroupHost,
    GroupType,
    HandoverStatus,
    HostNotice,
    Member,
    MemberRole,
    Profile,
    Role,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _setup(pool: SessionPool) -> None:
    """Anna hosts Mitte by id and Nord by @username; Ben is a member; Olga an organiser."""
    async with pool() as session:
        for member_id, name, username, role in (
            (1, "Anna", "anna_k", Role.HOST),
            (2, "Ben", "ben_b", None),
            (3, "Olga", None, Role.ORGANISER),
        ):
            member = Member(id=member_id, first_name=name, username=username)
            member.profile = Profile(member_id=member_id)
            if role is not None:
                member.roles = [MemberRole(role=role)]
            session.add(member)
        session.add_all(
            [
                Group(
                    id=10,
                    key="mitte",
                    name="Mitte",
                    type=GroupType.STAMMTISCH,
                    hosts=[GroupHost(telegram_id=1)],
                ),
                Group(
                    id=11,
                    key="nord",
                    name="Nord",
                    type=GroupType.STAMMTISCH,
                    hosts=[GroupHost(username="anna_k")],
                ),
                Group(id=12, key="sued", name="Süd", type=GroupType.AG),
            ]
        )
        await session.commit()


async def test_who_may_manage_which_group(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    async with session_pool() as session:
        anna = await session.get(Member, 1)
        ben = await session.get(Member, 2)
        assert anna is not None
        assert ben is not None
        host_roles = frozenset({Role.MEMBER, Role.HOST})
        assert [g.name for g in await hosting.managed_groups(session, anna, host_roles)] == [
            "Mitte",
            "Nord",
        ]
        assert await hosting.managed_groups(session, ben, frozenset({Role.MEMBER})) == []
        organiser = frozenset({Role.MEMBER, Role.ORGANISER})
        assert len(await hosting.managed_groups(session, ben, organiser)) == 3
        assert (await hosting.managed_group(session, anna, host_roles, 11)).name == "Nord"
        with pytest.raises(HostError, match="not_host"):
            await hosting.managed_group(session, anna, host_roles, 12)
        for forged in (0, -5, 2**31, 2**63 + 1):
            with pytest.raises(HostError, match="unknown"):
                await hosting.managed_group(session, anna, host_roles, forged)
        with pytest.raises(HostError, match="unknown"):
            await hosting.managed_meeting(session, anna, host_roles, 2**40)


async def test_notice_defaults_to_daily_and_is_stored(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    async with session_pool() as session:
        assert await hosting.notice_for(session, 1) == HostNotice.DAILY
        assert await hosting.set_notice(session, 1, HostNotice.DAY_BEFORE) is True
        await session.commit()
    async with session_pool() as session:
        assert await hosting.notice_for(session, 1) == HostNotice.DAY_BEFORE
        assert await hosting.set_notice(session, 1, HostNotice.DAY_BEFORE) is False


async def test_a_handover_keeps_the_role_of_a_host_with_another_group(
    session_pool: SessionPool,
) -> None:
    await _setup(session_pool)
    async with session_pool() as session:
        anna = await session.get(Member, 1)
        mitte = await session.get(Group, 10)
        assert anna is not None
        assert mitte is not None
        with pytest.raises(HostError, match="self"):
            await hosting.request_handover(
                session, mitte, from_member=anna, to_member_id=1, now=NOW
            )
        with pytest.raises(HostError, match="unknown_member"):
            await hosting.request_handover(
                session, mitte, from_member=anna, to_member_id=2**40, now=NOW
            )
        first, _ben = await hosting.request_handover(
            session, mitte, from_member=anna, to_member_id=2, now=NOW
        )
        # A second request supersedes the first.
        handover, _ben = await hosting.request_handover(
            session, mitte, from_member=anna, to_member_id=2, now=NOW
        )
        assert first.status == HandoverStatus.DECLINED
        await session.commit()
        handover_id = handover.id
    async with session_pool() as session:
        with pytest.raises(HostError, match="not_organiser"):
            await hosting.decide_handover(
                session, handover_id, approve=True, by=2, by_roles={Role.MEMBER}, now=NOW
            )
        result = await hosting.decide_handover(
            session, handover_id, approve=True, by=3, by_roles={Role.ORGANISER}, now=NOW
        )
        await session.commit()
        assert result.new_got_role is True
        # Anna still hosts Nord (by @username): she keeps the host role.
        assert result.old_lost_role is False
    async with session_pool() as session:
        mitte = await session.get(Group, 10)
        anna = await session.get(Member, 1)
        ben = await session.get(Member, 2)
        assert mitte is not None
        assert anna is not None
        assert ben is not None
        assert [(h.telegram_id, h.username) for h in mitte.hosts] == [(2, None)]
        assert Role.HOST in anna.role_set
        assert Role.HOST in ben.role_set
        with pytest.raises(HostError, match="handover_done"):
            await hosting.decide_handover(
                session, handover_id, approve=False, by=3, by_roles={Role.ORGANISER}, now=NOW
            )
