"""Notice caps (one per member, kind and subject an hour, across sessions) and invitation tokens
(random, mapped to the member, gone with the profile)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db.session import SessionPool
from bot.services import invitations, notice_caps
from bot.services.invitations import InvitationError
from bot.services.notice_caps import CAP_WINDOW, NoticeKind
from bot.services.profile import withdraw_consent
from models import Invitation, Member, NoticeCap, Profile

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


async def _members(pool: SessionPool, *ids: int, consented: bool = True) -> None:
    async with pool() as session:
        for member_id in ids:
            member = Member(id=member_id, first_name=f"M{member_id}")
            if consented:
                member.profile = Profile(member_id=member_id)
            session.add(member)
        await session.commit()


async def _claim(
    pool: SessionPool, member_id: int, kind: NoticeKind, subject: int = 0, *, at: datetime
) -> bool:
    # A session per claim, committed: what a second instance would see.
    async with pool() as session:
        claimed = await notice_caps.claim(session, member_id, kind, subject, now=at)
        await session.commit()
        return claimed


async def test_one_notice_per_member_kind_and_hour(session_pool: SessionPool) -> None:
    await _members(session_pool, 1, 2)
    office = NoticeKind.OFFICE
    assert await _claim(session_pool, 1, office, at=NOW)
    assert not await _claim(session_pool, 1, office, at=NOW + timedelta(minutes=1))
    assert not await _claim(session_pool, 1, office, at=NOW + CAP_WINDOW - timedelta(seconds=1))
    # Another member, another kind, another subject: each has its own cap.
    assert await _claim(session_pool, 2, office, at=NOW)
    assert await _claim(session_pool, 1, NoticeKind.PROPOSAL, at=NOW)
    assert await _claim(session_pool, 1, NoticeKind.JOINED, 5, at=NOW)
    assert await _claim(session_pool, 1, NoticeKind.JOINED, 6, at=NOW)
    assert not await _claim(session_pool, 1, NoticeKind.JOINED, 5, at=NOW)
    # An hour later the next one may go; expired rows are cleared on the way.
    assert await _claim(session_pool, 1, office, at=NOW + CAP_WINDOW)
    async with session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(NoticeCap)) == 1


async def test_an_uncommitted_claim_is_no_claim(session_pool: SessionPool) -> None:
    await _members(session_pool, 1)
    async with session_pool() as session:
        assert await notice_caps.claim(session, 1, NoticeKind.OFFICE, now=NOW)
        await session.rollback()
    assert await _claim(session_pool, 1, NoticeKind.OFFICE, at=NOW)


async def test_invitation_token_maps_to_the_member_and_goes_with_erasure(
    session_pool: SessionPool,
) -> None:
    await _members(session_pool, 1, 2)
    await _members(session_pool, 3, consented=False)
    async with session_pool() as session:
        anna = await session.get(Member, 1)
        assert anna is not None
        token = await invitations.invite_token(session, anna, now=NOW)
        assert await invitations.invite_token(session, anna, now=NOW) == token  # stable
        ben = await session.get(Member, 2)
        assert ben is not None
        assert await invitations.invite_token(session, ben, now=NOW) != token
        stranger = await session.get(Member, 3)
        assert stranger is not None
        with pytest.raises(InvitationError):
            await invitations.invite_token(session, stranger, now=NOW)
        await session.commit()
    assert len(token) >= 22
    async with session_pool() as session:
        found = await invitations.inviter(session, token)
        assert found is not None
        assert found.id == 1
        assert await invitations.inviter(session, token[:-1] + "x") is None
        assert await invitations.inviter(session, "1") is None
    async with session_pool() as session:
        anna = await session.get(Member, 1)
        assert anna is not None
        assert await withdraw_consent(session, anna)
        await session.commit()
    async with session_pool() as session:
        assert await invitations.inviter(session, token) is None
        assert await session.get(Invitation, 1) is None
        assert await session.get(Invitation, 2) is not None
