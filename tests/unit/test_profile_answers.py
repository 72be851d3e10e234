"""Intake answers set one option on or off (idempotent); suggestions come a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.db.session import SessionPool
from bot.services import directory
from bot.services.members import Sighting, load_answers, record_sighting
from bot.services.profile import (
    ProfileError,
    give_consent,
    set_activity_type,
    set_free_time_slot,
    set_topic,
)
from models import ActivityType, Group, GroupType, Member, Topic

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def anna(session_pool: SessionPool) -> int:
    async with session_pool() as session:
        session.add_all(
            [
                Topic(id=1, key="umwelt", name="Umwelt"),
                Topic(id=2, key="bildung", name="Bildung", position=1),
                ActivityType(id=1, key="infostand", name="Infostände"),
            ]
        )
        session.add_all(
            Group(key=f"g{i}", name=f"Gruppe {i}", type=GroupType.AG, position=i)
            for i in range(1, 6)
        )
        member, _changed = await record_sighting(session, Sighting(1, "Anna", None, "de"), T0)
        await give_consent(session, member, first_name="Anna", username=None, now=T0)
        await session.commit()
    return 1


async def test_choosing_a_topic_twice_changes_it_once(session_pool: SessionPool, anna: int) -> None:
    async with session_pool() as session:
        member = await session.get(Member, anna)
        assert member is not None
        assert await set_topic(session, member, 2, chosen=True)
        assert not await set_topic(session, member, 2, chosen=True)
        assert await set_topic(session, member, 1, chosen=True)
        await session.commit()
    async with session_pool() as session:
        member = await session.get(Member, anna)
        assert member is not None
        assert member.profile is not None
        await load_answers(session, member.profile)
        assert [topic.name for topic in member.profile.topics] == ["Umwelt", "Bildung"]
        assert await set_topic(session, member, 1, chosen=False)
        assert not await set_topic(session, member, 1, chosen=False)
        assert [topic.name for topic in member.profile.topics] == ["Bildung"]


async def test_unknown_ids_are_refused_on_and_off(session_pool: SessionPool, anna: int) -> None:
    async with session_pool() as session:
        member = await session.get(Member, anna)
        assert member is not None
        for chosen in (True, False):
            with pytest.raises(ProfileError) as error:
                await set_topic(session, member, 99, chosen=chosen)
            assert error.value.reason == "unknown_id"
            with pytest.raises(ProfileError):
                await set_activity_type(session, member, 99, chosen=chosen)
            with pytest.raises(ProfileError):
                set_free_time_slot(member, "midnight", chosen=chosen)


async def test_free_time_slots_on_and_off(session_pool: SessionPool, anna: int) -> None:
    async with session_pool() as session:
        member = await session.get(Member, anna)
        assert member is not None
        assert member.profile is not None
        assert set_free_time_slot(member, "weekend", chosen=True)
        assert not set_free_time_slot(member, "weekend", chosen=True)
        assert set_free_time_slot(member, "weekday_evening", chosen=True)
        assert member.profile.free_time == ["weekday_evening", "weekend"]
        assert set_free_time_slot(member, "weekend", chosen=False)
        assert member.profile.free_time == ["weekday_evening"]


async def test_suggestions_a_page_at_a_time(session_pool: SessionPool, anna: int) -> None:
    async with session_pool() as session:
        member = await session.get(Member, anna)
        assert member is not None

        async def page(number: int) -> directory.SuggestionPage:
            return await directory.suggestion_page(
                session, member, now=T0, zone=ZONE, page=number, size=2
            )

        first, second, last = await page(0), await page(1), await page(2)
        assert (len(first.groups), first.remaining) == (2, 3)
        assert (len(second.groups), second.remaining) == (2, 1)
        assert (len(last.groups), last.remaining) == (1, 0)
        names = [listed.group.name for p in (first, second, last) for listed in p.groups]
        assert sorted(names) == [f"Gruppe {i}" for i in range(1, 6)]
        for past_the_end in (3, -1):
            with pytest.raises(directory.GroupError) as error:
                await page(past_the_end)
            assert error.value.reason == "unknown_page"


async def test_a_dropped_group_is_gone(session_pool: SessionPool, anna: int) -> None:
    del anna
    async with session_pool() as session:
        group = await directory.require_active_group(session, 1)
        group.active = False
        await session.commit()
        with pytest.raises(directory.GroupError) as error:
            await directory.require_active_group(session, 1)
        assert error.value.reason == "unknown_group"
        with pytest.raises(directory.GroupError):
            await directory.require_active_group(session, 4242)
