"""Update ids are claimed once and forgotten after a day; a claim whose process is gone is
taken over once, one whose process lives is left to it; finished updates are marked done."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.db.session import SessionPool
from bot.services.leases import Holder, this_process
from bot.services.updates import (
    REMEMBER_FOR,
    Duplicate,
    UpdateLedger,
    claim_update,
    mark_done,
    prune_processed_updates,
    resolve_duplicate,
)
from models import ProcessedUpdate
from tests.update_claims import claimed_by, gone_here, hold_presence, live_elsewhere

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


GONE_HERE, ELSEWHERE = gone_here(), live_elsewhere()


async def _claimed_by(
    pool: SessionPool, update_id: int, holder: Holder, *, done: bool = False
) -> None:
    await claimed_by(pool, update_id, holder, at=NOW)
    if done:
        async with pool() as session:
            await mark_done(session, [update_id], NOW)
            await session.commit()


async def _resolve(pool: SessionPool, update_id: int, *, handling_here: bool = False) -> Duplicate:
    async with pool() as session:
        verdict = await resolve_duplicate(
            session, update_id, NOW + timedelta(seconds=5), handling_here=handling_here
        )
        await session.commit()
        return verdict


async def _owner(pool: SessionPool, update_id: int) -> str | None:
    async with pool() as session:
        return await session.scalar(
            select(ProcessedUpdate.owner).where(ProcessedUpdate.update_id == update_id)
        )


async def test_a_done_or_ownerless_claim_is_a_duplicate(session_pool: SessionPool) -> None:
    await _claimed_by(session_pool, 1, ELSEWHERE, done=True)
    assert await _resolve(session_pool, 1) is Duplicate.SKIP
    # Claimed before owners were recorded (an upgrade): counts as done.
    async with session_pool() as session:
        session.add(ProcessedUpdate(update_id=2, received_at=NOW))
        await session.commit()
    assert await _resolve(session_pool, 2) is Duplicate.SKIP
    # A claim that is gone altogether (pruned meanwhile): nothing to do either.
    assert await _resolve(session_pool, 3) is Duplicate.SKIP


async def test_this_process_skips_what_it_finished_and_waits_for_what_it_handles(
    session_pool: SessionPool,
) -> None:
    await _claimed_by(session_pool, 1, this_process())
    assert await _resolve(session_pool, 1, handling_here=True) is Duplicate.BUSY
    assert await _resolve(session_pool, 1, handling_here=False) is Duplicate.SKIP


async def test_a_live_owner_keeps_its_update(session_pool: SessionPool) -> None:
    await hold_presence(session_pool, ELSEWHERE, expires_at=NOW + timedelta(minutes=1))
    await _claimed_by(session_pool, 1, ELSEWHERE)
    assert await _resolve(session_pool, 1) is Duplicate.BUSY
    assert await _owner(session_pool, 1) == ELSEWHERE.id


async def test_a_gone_owner_s_update_is_taken_over_once(session_pool: SessionPool) -> None:
    # On this host: its pid runs no more (known at once, whatever its lease says).
    await hold_presence(session_pool, GONE_HERE, expires_at=NOW + timedelta(minutes=1))
    await _claimed_by(session_pool, 1, GONE_HERE)
    # On another host: its lease expired.
    await hold_presence(session_pool, ELSEWHERE, expires_at=NOW)
    await _claimed_by(session_pool, 2, ELSEWHERE)
    for update_id in (1, 2):
        assert await _resolve(session_pool, update_id) is Duplicate.TAKEN_OVER
        assert await _owner(session_pool, update_id) == this_process().id
        # Now this process's own: a further redelivery waits for it or is skipped.
        assert await _resolve(session_pool, update_id, handling_here=True) is Duplicate.BUSY


async def test_of_two_instances_taking_over_one_wins(session_pool: SessionPool) -> None:
    await _claimed_by(session_pool, 1, GONE_HERE)
    first, second = Holder("host-a", 1, "aaaaaaaaaaaa"), Holder("host-b", 2, "bbbbbbbbbbbb")
    # Both alive (their presence leases): the second finds the update the first's now.
    await hold_presence(session_pool, first, expires_at=NOW + timedelta(minutes=1))
    await hold_presence(session_pool, second, expires_at=NOW + timedelta(minutes=1))
    async with session_pool() as one, session_pool() as two:
        later = NOW + timedelta(seconds=5)
        won = await resolve_duplicate(one, 1, later, handling_here=False, holder=first)
        await one.commit()
        lost = await resolve_duplicate(two, 1, later, handling_here=False, holder=second)
        await two.commit()
    assert (won, lost) == (Duplicate.TAKEN_OVER, Duplicate.BUSY)
    assert await _owner(session_pool, 1) == first.id


async def test_the_ledger_marks_finished_updates_done(session_pool: SessionPool) -> None:
    ledger = UpdateLedger(session_pool, every=0.05)
    for update_id in (1, 2, 3):
        await _claimed_by(session_pool, update_id, this_process())
    ledger.started(1)
    ledger.started(2)
    ledger.started(3)
    assert ledger.handling(1)
    ledger.finished(1)
    ledger.finished(2, done=False)  # cut off: left for a takeover
    assert not ledger.handling(1)
    assert not ledger.handling(2)
    ledger.start()
    await asyncio.sleep(0.2)
    assert ledger.unflushed == 0
    ledger.finished(3)
    await ledger.stop()  # flushes what is left
    async with session_pool() as session:
        rows = await session.execute(select(ProcessedUpdate.update_id, ProcessedUpdate.done_at))
        done = {update_id for update_id, done_at in rows if done_at is not None}
    assert done == {1, 3}
