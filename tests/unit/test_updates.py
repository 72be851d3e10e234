"""Update ids are claimed once and forgotten after a day."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.db.session import SessionPool
from bot.services.updates import REMEMBER_FOR, claim_update, prune_processed_updates
from models import ProcessedUpdate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _claim(pool: SessionPool, update_id: int, now: datetime = NOW) -> bool:
    async with pool() as session:
        claimed = await claim_update(session, update_id, now)
        await session.commit()
        return claimed


async def test_an_update_is_claimed_once(session_pool: SessionPool) -> None:
    assert await _claim(session_pool, 100) is True
    assert await _claim(session_pool, 100) is False
    assert await _claim(session_pool, 101) is True


async def test_concurrent_claims_have_one_winner(session_pool: SessionPool) -> None:
    results = await asyncio.gather(*(_claim(session_pool, 7) for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def test_prune_forgets_only_old_ids(session_pool: SessionPool) -> None:
    await _claim(session_pool, 1, NOW - REMEMBER_FOR - timedelta(minutes=1))
    await _claim(session_pool, 2, NOW - REMEMBER_FOR + timedelta(minutes=1))
    async with session_pool() as session:
        removed = await prune_processed_updates(session, NOW)
        await session.commit()
        left = await session.scalars(select(ProcessedUpdate.update_id))
        assert removed == 1
        assert list(left) == [2]
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1
