"""Id lists that grow with the member count are split: no statement binds more than
IN_CHUNK of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.chunks import IN_CHUNK, chunked
from bot.db.session import SessionPool
from bot.services.members import members_by_id
from bot.services.preferences import opted_out_among
from models import Category, Member, OptOut

NOW = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
MEMBERS = 2500


def test_chunks_keep_order_and_size() -> None:
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked([], 2)) == []
    assert max(len(chunk) for chunk in chunked(range(3001))) == IN_CHUNK


async def test_member_id_lists_are_split(engine: AsyncEngine, session_pool: SessionPool) -> None:
    ids = list(range(1, MEMBERS + 1))
    async with session_pool() as session:
        await session.execute(insert(Member), [{"id": member_id} for member_id in ids])
        await session.execute(
            insert(OptOut),
            [
                {"member_id": member_id, "category": Category.REMINDERS, "created_at": NOW}
                for member_id in ids[::3]
            ],
        )
        await session.commit()
    seen: list[int] = []

    def count(_c: Any, _cur: Any, _statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append(len(parameters or ()))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with session_pool() as session:
            assert await opted_out_among(session, ids, Category.REMINDERS) == set(ids[::3])
            assert set(await members_by_id(session, ids)) == set(ids)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert max(seen) <= IN_CHUNK + 2
