"""Claiming meeting posts for an edit: one chat at a time, once per gap, once across instances."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db.session import SessionPool
from bot.services import meeting_posts
from bot.services.meeting_posts import EDIT_GAP
from models import Group, GroupType, Meeting, MeetingPost

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
CHAT = -1001000000001
OTHER_CHAT = -1001000000002


async def _meetings(pool: SessionPool, count: int) -> list[int]:
    async with pool() as session:
        group = Group(key="mitte", name="Stammtisch Mitte", type=GroupType.STAMMTISCH)
        session.add(group)
        await session.flush()
        meetings = [
            Meeting(
                group_id=group.id,
                occurrence=NOW + timedelta(days=7 * n + 1),
                starts_at=NOW + timedelta(days=7 * n + 1),
            )
            for n in range(count)
        ]
        session.add_all(meetings)
        await session.commit()
        return [meeting.id for meeting in meetings]


async def _post(
    pool: SessionPool, meeting_id: int, chat_id: int, *, edited_at: datetime | None, dirty: bool
) -> None:
    async with pool() as session:
        session.add(
            MeetingPost(
                meeting_id=meeting_id,
                chat_id=chat_id,
                message_id=meeting_id * 10,
                revision=1 if dirty else 0,
                shown_revision=0,
                edited_at=edited_at,
                created_at=NOW - timedelta(minutes=1),
            )
        )
        await session.commit()


async def _claim(pool: SessionPool, chat_id: int, now: datetime) -> meeting_posts.Claim | None:
    async with pool() as session:
        claim = await meeting_posts.claim_edit(session, chat_id, now=now)
        await session.commit()
        return claim


async def test_one_edit_per_chat_per_gap(session_pool: SessionPool) -> None:
    first, second, third = await _meetings(session_pool, 3)
    await _post(session_pool, first, CHAT, edited_at=NOW - timedelta(minutes=1), dirty=True)
    await _post(session_pool, second, CHAT, edited_at=NOW - timedelta(minutes=2), dirty=True)
    await _post(session_pool, third, OTHER_CHAT, edited_at=None, dirty=False)
    async with session_pool() as session:
        assert await meeting_posts.dirty_chats(session, now=NOW) == [CHAT]

    claim = await _claim(session_pool, CHAT, NOW)
    assert claim is not None
    assert claim.meeting_id == second  # waited longest
    # The chat was just edited: neither post, nor the chat, is due within the gap.
    assert await _claim(session_pool, CHAT, NOW + EDIT_GAP - timedelta(milliseconds=1)) is None
    async with session_pool() as session:
        assert await meeting_posts.dirty_chats(session, now=NOW + timedelta(seconds=1)) == []
        await meeting_posts.mark_shown(session, second, CHAT, 1)
        await session.commit()
    later = await _claim(session_pool, CHAT, NOW + EDIT_GAP)
    assert later is not None
    assert later.meeting_id == first
    # Nothing out of date is left.
    async with session_pool() as session:
        await meeting_posts.mark_shown(session, first, CHAT, 1)
        await session.commit()
        assert await meeting_posts.dirty_chats(session, now=NOW + timedelta(minutes=5)) == []
    assert await _claim(session_pool, CHAT, NOW + timedelta(minutes=5)) is None


async def test_shown_revision_never_goes_back(session_pool: SessionPool) -> None:
    [meeting_id] = await _meetings(session_pool, 1)
    await _post(session_pool, meeting_id, CHAT, edited_at=None, dirty=True)
    async with session_pool() as session:
        await meeting_posts.mark_shown(session, meeting_id, CHAT, 5)
        await meeting_posts.mark_shown(session, meeting_id, CHAT, 3)
        await session.commit()
        post = await session.scalar(select(MeetingPost))
        assert post is not None
        assert post.shown_revision == 5


async def test_held_back_chats_wait_for_telegram(session_pool: SessionPool) -> None:
    [meeting_id] = await _meetings(session_pool, 1)
    await _post(session_pool, meeting_id, CHAT, edited_at=None, dirty=True)
    async with session_pool() as session:
        await meeting_posts.hold_back(session, CHAT, NOW + timedelta(seconds=30))
        await session.commit()
    assert await _claim(session_pool, CHAT, NOW + timedelta(seconds=32)) is None
    assert await _claim(session_pool, CHAT, NOW + timedelta(seconds=33)) is not None


async def test_instances_claiming_at_once_edit_a_chat_once(session_pool: SessionPool) -> None:
    ids = await _meetings(session_pool, 4)
    for meeting_id in ids:
        await _post(session_pool, meeting_id, CHAT, edited_at=None, dirty=True)
    claims = await asyncio.gather(*(_claim(session_pool, CHAT, NOW) for _ in range(6)))
    assert len([claim for claim in claims if claim is not None]) == 1
