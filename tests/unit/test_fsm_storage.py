"""The SQLAlchemy FSM storage keeps state and data, survives a new instance, joins a session."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select

from bot.db import SessionPool, current_session
from bot.fsm_storage import SqlAlchemyStorage
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
