"""Broadcasts to many: counted in SQL, enqueued in batches that resume and never repeat, bounded
binds per statement."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.session import SessionPool
from bot.services import audience as segments
from bot.services import broadcast_draft, broadcasts
from bot.services.broadcast_draft import Draft
from models import (
    Broadcast,
    BroadcastStatus,
    Category,
    Delivery,
    DeliveryStatus,
    Member,
    OptOut,
    Profile,
)
from tests.broadcasting import schedule_broadcast

NOW = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
MEMBERS = 95
BATCH = 10


async def _seed(pool: SessionPool, members: int = MEMBERS) -> None:
    """Members 1..n with a profile; every 7th opted out of announcements, every 11th blocked."""
    async with pool() as session:
        await session.execute(
            insert(Member),
            [
                {"id": member_id, "reachable": member_id % 11 != 0, "created_at": NOW}
                for member_id in range(1, members + 1)
            ],
        )
        await session.execute(
            insert(Profile), [{"member_id": member_id} for member_id in range(1, members + 1)]
        )
        await session.execute(
            insert(OptOut),
            [
                {"member_id": member_id, "category": Category.ANNOUNCEMENTS, "created_at": NOW}
                for member_id in range(7, members + 1, 7)
            ],
        )
        await session.commit()


def _expected(members: int = MEMBERS) -> tuple[set[int], set[int]]:
    """(to send, blocked) for everyone, announcements."""
    chosen = [m for m in range(1, members + 1) if m % 7 != 0]
    return {m for m in chosen if m % 11 != 0}, {m for m in chosen if m % 11 == 0}


async def _start(pool: SessionPool) -> int:
    broadcast_id = await schedule_broadcast(pool, NOW)
    async with pool() as session:
        [started] = await broadcasts.start_due(session, NOW, batch=BATCH)
        await session.commit()
        assert started.id == broadcast_id
        return broadcast_id


async def _rows(pool: SessionPool, broadcast_id: int) -> list[tuple[int, DeliveryStatus]]:
    async with pool() as session:
        rows = await session.execute(
            select(Delivery.recipient_id, Delivery.status).where(Delivery.batch_id == broadcast_id)
        )
        return [(int(recipient), DeliveryStatus(status)) for recipient, status in rows]


async def test_the_preview_counts_in_sql(session_pool: SessionPool) -> None:
    await _seed(session_pool)
    to_send, blocked = _expected()
    async with session_pool() as session:
        reach = await segments.reach(session, segments.Audience(), Category.ANNOUNCEMENTS)
    assert reach == segments.Reach(len(to_send), len(blocked), MEMBERS // 7)


async def test_a_large_broadcast_is_enqueued_in_batches_once(session_pool: SessionPool) -> None:
    await _seed(session_pool)
    broadcast_id = await _start(session_pool)
    to_send, blocked = _expected()
    # The start put the first batch in (members 1-10, 7 opted out) and counted everyone; the
    # rest is still to come.
    assert len(await _rows(session_pool, broadcast_id)) == BATCH - 1
    async with session_pool() as session:
        broadcast = await broadcasts.find(session, broadcast_id)
        assert broadcast.total == len(to_send) + len(blocked)
        assert broadcast.enqueued_through is not None
        progress = await broadcasts.progress(session, broadcast, NOW)
        assert progress.total == broadcast.total
        assert progress.open == broadcast.total - progress.blocked
        # Not done while recipients are missing from the outbox, even with none open there.
        await session.execute(
            Delivery.__table__.update()
            .where(Delivery.batch_id == broadcast_id)
            .values(status=DeliveryStatus.SENT)
        )
        assert not await broadcasts.finish(session, broadcast_id, NOW)
        await session.rollback()
        assert await broadcasts.enqueuing(session) == [broadcast_id]

    # Two instances (or a restarted one and the job) run the remaining batches at once.
    async def run() -> None:
        more = True
        while more:
            async with session_pool() as session:
                more = await broadcasts.enqueue_batch(session, broadcast_id, NOW, batch=BATCH)
                await session.commit()

    await asyncio.gather(run(), run())
    rows = await _rows(session_pool, broadcast_id)
    recipients = [recipient for recipient, _status in rows]
    assert len(recipients) == len(set(recipients))  # nobody twice
    assert {r for r, s in rows if s is DeliveryStatus.PENDING} == to_send
    assert {r for r, s in rows if s is DeliveryStatus.BLOCKED} == blocked
    async with session_pool() as session:
        assert await broadcasts.enqueuing(session) == []
        broadcast = await broadcasts.find(session, broadcast_id)
        assert broadcast.enqueued_through is None
        assert not await broadcasts.enqueue_batch(session, broadcast_id, NOW, batch=BATCH)


async def test_a_restart_resumes_after_the_last_committed_batch(session_pool: SessionPool) -> None:
    await _seed(session_pool)
    broadcast_id = await _start(session_pool)
    async with session_pool() as session:
        assert await broadcasts.enqueue_batch(session, broadcast_id, NOW, batch=BATCH)
        # The process dies before this batch commits.
        await session.rollback()
    assert len(await _rows(session_pool, broadcast_id)) == BATCH - 1
    while True:
        async with session_pool() as session:
            more = await broadcasts.enqueue_batch(session, broadcast_id, NOW, batch=BATCH)
            await session.commit()
        if not more:
            break
    to_send, blocked = _expected()
    recipients = [recipient for recipient, _status in await _rows(session_pool, broadcast_id)]
    assert sorted(recipients) == sorted(to_send | blocked)


async def test_stopping_ends_the_enqueueing(session_pool: SessionPool) -> None:
    await _seed(session_pool)
    broadcast_id = await _start(session_pool)
    async with session_pool() as session:
        await broadcasts.cancel(session, broadcast_id, by=1, now=NOW)
        await session.commit()
        assert not await broadcasts.enqueue_batch(session, broadcast_id, NOW, batch=BATCH)
        assert await broadcasts.enqueuing(session) == []
        broadcast = await broadcasts.find(session, broadcast_id)
        assert broadcast.status is BroadcastStatus.CANCELLED
    statuses = {status for _recipient, status in await _rows(session_pool, broadcast_id)}
    assert DeliveryStatus.PENDING not in statuses


@contextmanager
def _binds(engine: AsyncEngine) -> Iterator[list[int]]:
    """The number of parameters each statement bound (per row of an executemany)."""
    seen: list[int] = []

    def count(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_rest: Any) -> None:
        if isinstance(parameters, list):
            parameters = parameters[0] if parameters else ()
        seen.append(len(parameters or ()))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_binds_do_not_grow_with_the_audience(
    engine: AsyncEngine, session_pool: SessionPool
) -> None:
    await _seed(session_pool, members=2500)
    with _binds(engine) as seen:
        async with session_pool() as session:
            await segments.reach(session, segments.Audience(), Category.ANNOUNCEMENTS)
            broadcast = await broadcasts.schedule(
                session,
                author_id=1,
                source_chat_id=1,
                source_message_id=10,
                content_type="text",
                summary="Hallo",
                category=Category.ANNOUNCEMENTS,
                audience=segments.Audience(),
                scheduled_at=NOW,
            )
            await broadcasts.start_due(session, NOW)
            while await broadcasts.enqueue_batch(session, broadcast.id, NOW):
                pass
            await session.commit()
            count = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.batch_id == broadcast.id)
            )
    assert count == len(set().union(*_expected(2500)))
    assert max(seen) < 30
    async with session_pool() as session:
        assert (await session.get(Broadcast, broadcast.id)) is not None


async def test_a_double_send_at_once_creates_one_broadcast(session_pool: SessionPool) -> None:
    await _seed(session_pool, members=20)
    draft = Draft.of_message(chat_id=1, message_id=77, content_type="text", text="Hallo")

    async def tap() -> int | str:
        # Two instances, each with its own session, pressing at the same moment.
        async with session_pool() as session:
            try:
                broadcast = await broadcast_draft.submit(
                    session, draft, author_id=1, at=None, now=NOW
                )
            except broadcasts.AlreadySubmittedError as exc:
                await session.commit()
                return f"already {exc.broadcast.id}"
            await session.commit()
            return broadcast.id

    first, second = await asyncio.gather(tap(), tap())
    async with session_pool() as session:
        ids = list(await session.scalars(select(Broadcast.id)))
    assert len(ids) == 1
    assert sorted([str(first), str(second)]) == sorted([str(ids[0]), f"already {ids[0]}"])
    rows = await _rows(session_pool, ids[0])
    assert len(rows) == len({recipient for recipient, _status in rows})
