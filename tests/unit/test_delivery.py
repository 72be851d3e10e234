"""The outbox: claims are atomic and disjoint, leases expire, results are recorded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db.session import SessionPool
from bot.services.delivery import (
    batch_counts,
    cancel_batch,
    claim_due,
    enqueue,
    enqueue_once,
    enqueue_once_many,
    mark_many,
    mark_result,
    mark_sent,
    next_due,
    reclaim_expired,
    release,
    renew_claims,
)
from models import Delivery, DeliveryStatus

NOW = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


async def _enqueue(
    pool: SessionPool,
    recipients: range | list[int],
    *,
    due_at: datetime = NOW,
    batch_id: int | None = None,
) -> None:
    async with pool() as session:
        enqueue(
            session,
            list(recipients),
            kind="test",
            payload={"n": 1},
            due_at=due_at,
            batch_id=batch_id,
        )
        await session.commit()


async def _statuses(pool: SessionPool) -> dict[int, DeliveryStatus]:
    async with pool() as session:
        rows = await session.execute(select(Delivery.recipient_id, Delivery.status))
        return {recipient: DeliveryStatus(status) for recipient, status in rows}


async def test_claim_only_due_rows_once(session_pool: SessionPool) -> None:
    await _enqueue(session_pool, [1, 2, 2, 3])  # duplicates collapse
    await _enqueue(session_pool, [4], due_at=NOW + timedelta(hours=1))
    async with session_pool() as session:
        first = await claim_due(session, now=NOW, limit=2, instance="a")
        second = await claim_due(session, now=NOW, limit=10, instance="a")
        third = await claim_due(session, now=NOW, limit=10, instance="a")
        assert await next_due(session) == NOW + timedelta(hours=1)
    assert [row.recipient_id for row in first] == [1, 2]
    assert [row.recipient_id for row in second] == [3]
    assert third == []
    assert all(row.status is DeliveryStatus.SENDING for row in first + second)


async def test_concurrent_claims_are_disjoint(session_pool: SessionPool) -> None:
    await _enqueue(session_pool, range(1, 301))

    async def claimer(name: str) -> list[int]:
        got: list[int] = []
        while True:
            async with session_pool() as session:
                rows = await claim_due(session, now=NOW, limit=7, instance=name)
            if not rows:
                return got
            got += [row.recipient_id for row in rows]

    results = await asyncio.gather(*(claimer(f"i{n}") for n in range(4)))
    claimed = [recipient for result in results for recipient in result]
    assert sorted(claimed) == list(range(1, 301))  # everyone once, nobody twice


async def test_results_and_expired_leases(session_pool: SessionPool) -> None:
    await _enqueue(session_pool, [1, 2, 3, 4])
    async with session_pool() as session:
        rows = await claim_due(session, now=NOW, limit=10, instance="a")
        ids = {row.recipient_id: row.id for row in rows}
        await mark_sent(session, [ids[1]], now=NOW)
        await mark_result(session, ids[2], status=DeliveryStatus.BLOCKED, reason="blocked")
        await mark_result(
            session,
            ids[3],
            status=DeliveryStatus.PENDING,
            reason="502 Bad Gateway",
            retry_at=NOW + timedelta(seconds=2),
        )
        await session.commit()
        # 4 stays SENDING: its sender "died". Not yet reclaimable, then reclaimable.
        assert (
            await reclaim_expired(
                session, now=NOW + timedelta(seconds=30), lease=timedelta(minutes=2)
            )
            == 0
        )
        assert (
            await reclaim_expired(
                session, now=NOW + timedelta(minutes=3), lease=timedelta(minutes=2)
            )
            == 1
        )
        await session.commit()
    assert await _statuses(session_pool) == {
        1: DeliveryStatus.SENT,
        2: DeliveryStatus.BLOCKED,
        3: DeliveryStatus.PENDING,
        4: DeliveryStatus.PENDING,
    }
    async with session_pool() as session:
        retry = await session.scalar(select(Delivery).where(Delivery.recipient_id == 3))
        assert retry is not None
        assert (retry.attempts, retry.last_error) == (1, "502 Bad Gateway")
        assert retry.due_at == NOW + timedelta(seconds=2)
        later = await claim_due(session, now=NOW + timedelta(minutes=3), limit=10, instance="b")
    assert sorted(row.recipient_id for row in later) == [3, 4]


async def test_cancel_and_count_a_batch(session_pool: SessionPool) -> None:
    await _enqueue(session_pool, [1, 2, 3], batch_id=7)
    await _enqueue(session_pool, [4], batch_id=8)
    async with session_pool() as session:
        [row, *_] = await claim_due(session, now=NOW, limit=1, instance="a")
        await mark_sent(session, [row.id], now=NOW)
        assert await cancel_batch(session, 7) == 2
        await session.commit()
        counts = await batch_counts(session, 7)
    assert counts[DeliveryStatus.SENT] == 1
    assert counts[DeliveryStatus.CANCELLED] == 2
    assert counts[DeliveryStatus.PENDING] == 0


async def test_release_and_renew_touch_only_the_own_claims(session_pool: SessionPool) -> None:
    await _enqueue(session_pool, [1, 2, 3, 4])
    async with session_pool() as session:
        mine = await claim_due(session, now=NOW, limit=2, instance="a")
        theirs = await claim_due(session, now=NOW, limit=2, instance="b")
        ids = [row.id for row in mine + theirs]
        later = NOW + timedelta(minutes=1)
        # "a" still holds its rows a minute later; "b"'s rows are not "a"'s to renew.
        assert await renew_claims(session, ids, instance="a", now=later) == 2
        await session.commit()
        assert (
            await reclaim_expired(
                session, now=NOW + timedelta(minutes=2), lease=timedelta(seconds=90)
            )
            == 2
        ), "only b's claims ran out"
        await session.commit()
        assert await release(session, ids, instance="a") == 2
        await session.commit()
        rows = {row.recipient_id: row for row in await session.scalars(select(Delivery))}
    assert all(row.status is DeliveryStatus.PENDING for row in rows.values())
    assert all(row.claimed_by is None and row.claimed_at is None for row in rows.values())
    assert all(row.attempts == 0 and row.due_at == NOW for row in rows.values())


async def test_mark_many_gives_a_final_status_without_an_attempt(
    session_pool: SessionPool,
) -> None:
    await _enqueue(session_pool, [1, 2, 3])
    async with session_pool() as session:
        rows = await claim_due(session, now=NOW, limit=10, instance="a")
        await mark_many(
            session, [rows[0].id, rows[1].id], status=DeliveryStatus.CANCELLED, reason="opted out"
        )
        await mark_many(session, [], status=DeliveryStatus.BLOCKED, reason="unreachable")
        await session.commit()
        stored = {row.recipient_id: row for row in await session.scalars(select(Delivery))}
    assert [(stored[n].status, stored[n].last_error, stored[n].attempts) for n in (1, 2)] == [
        (DeliveryStatus.CANCELLED, "opted out", 0)
    ] * 2
    assert stored[1].claimed_by is None
    assert stored[3].status is DeliveryStatus.SENDING


async def test_many_keyed_rows_are_queued_once(session_pool: SessionPool) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    keyed = [(member_id, f"bulk:{member_id}") for member_id in range(1, 1203)]
    async with session_pool() as session:
        assert await enqueue_once(session, 7, key="bulk:7", kind="k", payload={}, due_at=now)
        added = await enqueue_once_many(
            session, keyed, kind="k", payload={"shift_id": 3}, due_at=now, category="reminders"
        )
        again = await enqueue_once_many(session, keyed, kind="k", payload={}, due_at=now)
        await session.commit()
        rows = list(await session.scalars(select(Delivery).order_by(Delivery.recipient_id)))
    # More than two chunks; the row queued before and a second run add nothing.
    assert (added, again) == (1201, 0)
    assert len(rows) == 1202
    assert rows[-1].payload == {"shift_id": 3}
    assert rows[-1].category == "reminders"
    assert {row.status for row in rows} == {DeliveryStatus.PENDING}
