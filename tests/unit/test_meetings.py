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


@pytest.mark.parametrize("timestamp", [99999999999999, -99999999999999])
def test_a_forged_timestamp_is_an_unknown_meeting(timestamp: int) -> None:
    with pytest.raises(meetings.MeetingError) as error:
        meetings.meeting_start(timestamp)
    assert error.value.reason == "unknown"


def test_a_timestamp_is_a_utc_start() -> None:
    assert meetings.meeting_start(int(NOW.timestamp())) == NOW


TWO_GROUPS = """
name: KV
groups:
  - key: st
    name: Stammtisch
    type: stammtisch
    meets: every Thursday 19:00
  - key: ag
    name: AG
    type: ag
    meets: every Thursday 19:00
  - key: bg
    name: Basisgruppe
    type: basisgruppe
    meets: first Monday of the month 18:30
"""


async def test_upcoming_is_soonest_first_within_reach_and_capped(
    session_pool: SessionPool,
) -> None:
    async with session_pool() as session:
        await apply_setup(session, load_setup(TWO_GROUPS))
        await session.commit()
        dates = await meetings.upcoming(
            session, now=NOW, zone=BERLIN, ahead=timedelta(days=14), limit=10
        )
        # Tuesday 1 Dec 2026: Thursdays 3rd and 10th, groups at the same time in file order,
        # the Monday (7th) between them; nothing after two weeks.
        assert [(at.astimezone(BERLIN).day, group.name) for at, group in dates] == [
            (3, "Stammtisch"),
            (3, "AG"),
            (7, "Basisgruppe"),
            (10, "Stammtisch"),
            (10, "AG"),
        ]
        capped = await meetings.upcoming(
            session, now=NOW, zone=BERLIN, ahead=timedelta(days=14), limit=2
        )
        assert capped == dates[:2]
