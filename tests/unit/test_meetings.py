"""Attendance: only a group's own next meetings, only with consent, one row per meeting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.db.session import SessionPool
from bot.services import directory, meetings
from bot.services.kv_setup import apply_setup, load_setup
from models import Attendance, Group, Meeting, Member, Profile

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SETUP = """
name: KV
groups:
  - key: st
    name: Stammtisch
    type: stammtisch
    meets: every Thursday 19:00
"""


async def _setup(pool: SessionPool) -> tuple[int, list[datetime]]:
    async with pool() as session:
        await apply_setup(session, load_setup(SETUP))
        for member_id in (1, 2):
            member = Member(id=member_id)
            member.profile = Profile(member_id=member_id)
            session.add(member)
        await session.commit()
        group = await session.scalar(select(Group))
        assert group is not None
        return group.id, directory.next_meetings(group, now=NOW, zone=BERLIN, count=3)


async def _say(pool: SessionPool, member_id: int, group_id: int, at: datetime, going: bool) -> None:
    async with pool() as session:
        await meetings.set_attending(
            session,
            member_id=member_id,
            consented=True,
            group_id=group_id,
            starts_at=at,
            attending=going,
            zone=BERLIN,
            now=NOW,
        )
        await session.commit()


async def test_two_members_at_once_share_one_meeting(session_pool: SessionPool) -> None:
    group_id, upcoming = await _setup(session_pool)
    await asyncio.gather(
        _say(session_pool, 1, group_id, upcoming[0], True),
        _say(session_pool, 2, group_id, upcoming[0], True),
    )
    await _say(session_pool, 1, group_id, upcoming[0], True)  # saying yes twice is still once
    async with session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 1
        assert await session.scalar(select(func.count()).select_from(Attendance)) == 2
        [(meeting, count)] = await meetings.with_attendees(
            session, now=NOW, back=timedelta(days=1), ahead=timedelta(days=30)
        )
        assert (meeting.starts_at, count) == (upcoming[0], 2)
        assert await meetings.attending_keys(session, 1, NOW) == {(group_id, upcoming[0])}
    await _say(session_pool, 1, group_id, upcoming[0], False)
    async with session_pool() as session:
        assert await meetings.attending_keys(session, 1, NOW) == set()
        assert [m.starts_at for m in await meetings.my_meetings(session, 2, NOW)] == [upcoming[0]]


async def test_only_real_meetings_and_only_with_consent(session_pool: SessionPool) -> None:
    group_id, upcoming = await _setup(session_pool)
    bad = [
        (group_id, upcoming[0] + timedelta(minutes=1)),  # not when the group meets
        (group_id, upcoming[0] - timedelta(days=7)),  # already over
        (group_id + 1, upcoming[0]),  # no such group
    ]
    async with session_pool() as session:
        for wrong_group, at in bad:
            with pytest.raises(meetings.MeetingError) as error:
                await meetings.set_attending(
                    session,
                    member_id=1,
                    consented=True,
                    group_id=wrong_group,
                    starts_at=at,
                    attending=True,
                    zone=BERLIN,
                    now=NOW,
                )
            assert error.value.reason == "unknown"
        with pytest.raises(meetings.MeetingError) as error:
            await meetings.set_attending(
                session,
                member_id=1,
                consented=False,
                group_id=group_id,
                starts_at=upcoming[0],
                attending=True,
                zone=BERLIN,
                now=NOW,
            )
        assert error.value.reason == "no_consent"
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 0
