"""The SQLAlchemy FSM storage keeps state and data, survives a new instance, joins a session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.fsm_storage import SqlAlchemyStorage
from bot.db.session import SessionPool, current_session
from models import FsmRecord


class Form(StatesGroup):
    name = State()
    topic = State()


KEY = StorageKey(bot_id=1, chat_id=10, user_id=10)
OTHER = StorageKey(bot_id=1, chat_id=11, user_id=11, thread_id=5, destiny="other")


async def _rows(pool: SessionPool) -> int:
    async with pool() as session:
        return int(await session.scalar(select(func.count()).select_from(FsmRecord)) or 0)


async def test_state_and_data_round_trip(session_pool: SessionPool) -> None:
    storage = SqlAlchemyStorage(session_pool)
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    await storage.set_state(KEY, Form.name)
    await storage.set_data(KEY, {"topics": [1, 2], "name": "Anna <b>"})
    assert await storage.get_state(KEY) == Form.name.state
    assert await storage.get_data(KEY) == {"topics": [1, 2], "name": "Anna <b>"}
    assert await storage.update_data(KEY, {"step": 2}) == {
        "topics": [1, 2],
        "name": "Anna <b>",
        "step": 2,
    }
    # Another key is independent, including thread and destiny.
    assert await storage.get_state(OTHER) is None
    await storage.set_state(OTHER, "x:y")
    assert await storage.get_state(KEY) == Form.name.state


async def test_a_new_storage_instance_sees_the_conversation(session_pool: SessionPool) -> None:
    await SqlAlchemyStorage(session_pool).set_state(KEY, Form.topic)
    await SqlAlchemyStorage(session_pool).set_data(KEY, {"a": 1})
    restarted = SqlAlchemyStorage(session_pool)
    assert await restarted.get_state(KEY) == Form.topic.state
    assert await restarted.get_data(KEY) == {"a": 1}


async def test_clearing_removes_the_row(session_pool: SessionPool) -> None:
    storage = SqlAlchemyStorage(session_pool)
    await storage.set_state(KEY, Form.name)
    await storage.set_data(KEY, {"a": 1})
    await storage.set_state(KEY, None)
    assert await _rows(session_pool) == 1  # data is still there
    await storage.set_data(KEY, {})
    assert await _rows(session_pool) == 0
    await storage.set_state(KEY, None)  # clearing nothing is fine
    assert await _rows(session_pool) == 0


async def test_inside_an_update_it_commits_with_the_update_session(
    session_pool: SessionPool,
) -> None:
    storage = SqlAlchemyStorage(session_pool)
    async with session_pool() as session:
        token = current_session.set(session)
        try:
            await storage.set_state(KEY, Form.name)
            assert await storage.get_state(KEY) == Form.name.state
        finally:
            current_session.reset(token)
    # Committed by the storage through the shared session, visible to a fresh one.
    assert await SqlAlchemyStorage(session_pool).get_state(KEY) == Form.name.state


@contextmanager
def _statements(session: AsyncSession) -> Iterator[list[str]]:
    """The kinds of SQL statement (SELECT, INSERT, ...) the session's engine runs meanwhile."""
    seen: list[str] = []

    def spy(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", spy)


async def test_within_an_update_a_row_is_read_once_and_unchanged_writes_are_skipped(
    session_pool: SessionPool,
) -> None:
    storage = SqlAlchemyStorage(session_pool)
    await storage.set_state(KEY, Form.name)
    async with session_pool() as session:
        token = current_session.set(session)
        try:
            with _statements(session) as statements:
                assert await storage.get_state(KEY) == Form.name.state  # as the FSM middleware
                assert await storage.get_data(KEY) == {}
                await storage.set_state(KEY, Form.name)  # no change: no statement
                assert statements == ["SELECT"]
                await storage.set_state(KEY, Form.topic)
                assert await storage.update_data(KEY, {"step": 1}) == {"step": 1}
                assert await storage.get_state(KEY) == Form.topic.state  # known, not re-read
                await storage.set_state(KEY, None)
                await storage.set_data(KEY, {})  # the conversation ended: the row goes
                await storage.set_state(KEY, None)  # nothing left to clear: no statement
                assert statements == ["SELECT", "INSERT", "INSERT", "INSERT", "DELETE"]
        finally:
            current_session.reset(token)
    assert await _rows(session_pool) == 0


async def test_data_handed_out_is_a_copy(session_pool: SessionPool) -> None:
    storage = SqlAlchemyStorage(session_pool)
    await storage.set_data(KEY, {"topics": [1]})
    async with session_pool() as session:
        token = current_session.set(session)
        try:
            data = await storage.get_data(KEY)
            data["topics"].append(2)
            assert await storage.get_data(KEY) == {"topics": [1]}
        finally:
            current_session.reset(token)
    assert await SqlAlchemyStorage(session_pool).get_data(KEY) == {"topics": [1]}
