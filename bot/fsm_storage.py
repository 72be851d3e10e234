"""aiogram FSM storage on SQLAlchemy: conversation state survives restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import SessionPool, current_session
from models import FsmRecord
from models.base import utcnow

# Marks "leave this part as it is" in _write, where None is a real value.
_KEEP = object()


def _key_columns(key: StorageKey) -> dict[str, Any]:
    return {
        "bot_id": key.bot_id,
        "chat_id": key.chat_id,
        "user_id": key.user_id,
        "thread_id": key.thread_id or 0,
        "business_connection_id": key.business_connection_id or "",
        "destiny": key.destiny,
    }


def _primary_key(key: StorageKey) -> tuple[Any, ...]:
    return tuple(_key_columns(key).values())


class SqlAlchemyStorage(BaseStorage):
    """State and data per storage key in the `fsm_records` table.

    Inside an update the storage joins the update's session (see bot.db.current_session) and
    commits it, so a state change lands together with whatever the handler wrote for the same
    action, and SQLite never sees two writers from one update. Outside an update (start-up,
    jobs) it uses a session of its own.
    """

    def __init__(self, session_pool: SessionPool) -> None:
        self._pool = session_pool

    @asynccontextmanager
    async def _session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        shared = current_session.get()
        if shared is not None:
            yield shared
            if write:
                await shared.commit()
            return
        async with self._pool() as session:
            yield session
            if write:
                await session.commit()

    async def _load(self, session: AsyncSession, key: StorageKey) -> FsmRecord | None:
        return await session.get(FsmRecord, _primary_key(key))

    async def _write(self, key: StorageKey, *, state: Any = _KEEP, data: Any = _KEEP) -> None:
        async with self._session(write=True) as session:
            record = await self._load(session, key)
            new_state = (record.state if record else None) if state is _KEEP else state
            new_data = (dict(record.data) if record else {}) if data is _KEEP else dict(data)
            if new_state is None and not new_data:
                # An ended conversation leaves no row behind.
                if record is not None:
                    await session.delete(record)
                return
            if record is None:
                session.add(FsmRecord(**_key_columns(key), state=new_state, data=new_data))
                return
            record.state = new_state
            # A new dict object, so the JSON column is seen as changed.
            record.data = new_data
            record.updated_at = utcnow()

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the conversation state (None ends the conversation step, data stays)."""
        await self._write(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        """The conversation state, or None."""
        async with self._session(write=False) as session:
            record = await self._load(session, key)
            return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the conversation data."""
        await self._write(key, data=data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """A copy of the conversation data."""
        async with self._session(write=False) as session:
            record = await self._load(session, key)
            return dict(record.data) if record else {}

    async def close(self) -> None:
        """Nothing to release: the engine belongs to the application."""
