"""Retention of departed members with a fixed clock: who blocked the bot or left every KV group
is erased after MEMBER_RETENTION_MONTHS unless seen since; the job logs counts, never who."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from bot.app import Application
from bot.context import JobContext
from bot.db.session import SessionPool
from bot.services import departures, erasure
from bot.services.members import set_reachable
from jobs.retention import erase_departed
from models import Member, Profile

NOW = datetime(2027, 6, 1, 3, 30, tzinfo=UTC)
MONTHS_25 = NOW - relativedelta(months=25)
MONTHS_23 = NOW - relativedelta(months=23)


async def _add(
    session_pool: SessionPool, member_id: int, *, departed: datetime | None, seen: datetime
) -> None:
    async with session_pool() as session:
        member = Member(
            id=member_id,
            first_name=f"M{member_id}",
            departed_at=departed,
            last_seen_at=seen,
            created_at=MONTHS_25 - relativedelta(months=1),
        )
        member.profile = Profile(member_id=member_id, topics=[], activity_types=[])
        session.add(member)
        await session.commit()


async def _left(session_pool: SessionPool) -> set[int]:
    async with session_pool() as session:
        return set(await session.scalars(select(Member.id)))


@pytest.fixture
async def population(session_pool: SessionPool) -> None:
    # Blocked the bot 25 months ago, not seen since: goes.
    await _add(session_pool, 101, departed=MONTHS_25, seen=MONTHS_25)
    # Left every KV group 25 months ago, not seen since: goes.
    await _add(session_pool, 102, departed=MONTHS_25, seen=MONTHS_25)
    # Departed 23 months ago: stays a while longer.
    await _add(session_pool, 103, departed=MONTHS_23, seen=MONTHS_23)
    # Left the groups 25 months ago but still writes to the bot: stays.
    await _add(session_pool, 104, departed=MONTHS_25, seen=NOW - relativedelta(months=1))
    # Never departed, quiet for years: an active member by this rule, stays.
    await _add(session_pool, 105, departed=None, seen=NOW - relativedelta(months=30))


async def test_departed_members_are_erased_after_the_retention_period(
    session_pool: SessionPool, population: None
) -> None:
    async with session_pool() as session:
        erased = await erasure.erase_departed(session, now=NOW, after=relativedelta(months=24))
        await session.commit()
    assert erased == 2
    assert await _left(session_pool) == {103, 104, 105}
    async with session_pool() as session:
        assert await session.get(Profile, 101) is None
        # A second run finds nobody.
        assert await erasure.erase_departed(session, now=NOW, after=relativedelta(months=24)) == 0


async def test_the_daily_job_logs_counts_only(
    app: Application, population: None, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = JobContext(app.session_pool, app.bot, app.i18n, app.settings)
    assert app.settings.member_retention_months == 24
    with caplog.at_level(logging.DEBUG):
        assert await erase_departed(ctx, now=NOW) == 2
    assert await _left(app.session_pool) == {103, 104, 105}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "erased 2 departed members" in logged
    for member_id in ("101", "102"):
        assert member_id not in logged
    assert "M101" not in logged


async def test_the_daily_job_erases_in_chunks(
    app: Application, population: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One member per transaction: the job goes on until a chunk comes back short.
    monkeypatch.setattr("jobs.retention.CHUNK", 1)
    ctx = JobContext(app.session_pool, app.bot, app.i18n, app.settings)
    assert await erase_departed(ctx, now=NOW) == 2
    assert await _left(app.session_pool) == {103, 104, 105}


async def test_blocking_and_coming_back(session_pool: SessionPool) -> None:
    await _add(session_pool, 201, departed=None, seen=NOW)
    async with session_pool() as session:
        # The outbox's 403 and my_chat_member both end here.
        assert await set_reachable(session, 201, reachable=False)
        await session.commit()
    async with session_pool() as session:
        member = await session.get(Member, 201)
        assert member is not None
        assert member.departed_at is not None
        assert not member.reachable
        assert await set_reachable(session, 201, reachable=True)
        await session.commit()
    async with session_pool() as session:
        member = await session.get(Member, 201)
        assert member is not None
        assert member.departed_at is None


async def test_marking_departed_keeps_the_first_date(session_pool: SessionPool) -> None:
    await _add(session_pool, 301, departed=None, seen=NOW)
    async with session_pool() as session:
        assert await departures.mark_departed(session, 301, now=MONTHS_23)
        assert not await departures.mark_departed(session, 301, now=NOW)
        await session.commit()
    async with session_pool() as session:
        member = await session.get(Member, 301)
        assert member is not None
        assert member.departed_at == MONTHS_23
        assert await departures.mark_returned(session, 301)
        assert not await departures.mark_returned(session, 301)
