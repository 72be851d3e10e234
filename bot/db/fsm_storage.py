"""aiogram FSM storage on SQLAlchemy: conversation state survives restarts."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy import and_, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_statement
from bot.db.session import SessionPool, current_session
from models import FsmRecord
from models.base import utcnow

# Marks "leave this part as it is" in _write, where None is a real value.
_KEEP = object()

_TABLE = FsmRecord.__table__
_KEY_COLUMNS = ("bot_id", "chat_id", "user_id", "thread_id", "business_connection_id", "destiny")
# Built once: the statements only take the key's values as parameters.
_WHERE_KEY = and_(*(_TABLE.c[name] == bindparam(f"key_{name}") for name in _KEY_COLUMNS))
# For a query that reads a key's row along with other things (the update's bookkeeping, see
# bot.services.members.see_update): join FSM_TABLE on FSM_WHERE_KEY, pass key_parameters(key),
# and hand what was read to SqlAlchemyStorage.remember.
FSM_TABLE = _TABLE
FSM_WHERE_KEY = _WHERE_KEY
_SELECT = select(_TABLE.c.state, _TABLE.c.data).where(_WHERE_KEY)
_DELETE = delete(_TABLE).where(_WHERE_KEY)
# Where a session keeps what it read and wrote, see SqlAlchemyStorage._snapshot.
_CACHE_KEY = "fsm_snapshots"


def _key_columns(key: StorageKey) -> dict[str, Any]:
    return {
        "bot_id": key.bot_id,
        "chat_id": key.chat_id,
        "user_id": key.user_id,
        "thread_id": key.thread_id or 0,
        "business_connection_id": key.business_connection_id or "",
        "destiny": key.destiny,
    }


def _upsert(insert: Any) -> Any:
    statement = insert(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=list(_KEY_COLUMNS),
        set_={name: statement.excluded[name] for name in ("state", "data", "updated_at")},
    )


def _key_parameters(columns: Mapping[str, Any]) -> dict[str, Any]:
    return {f"key_{name}": value for name, value in columns.items()}


def key_parameters(key: StorageKey) -> dict[str, Any]:
    """The parameters of FSM_WHERE_KEY for `key`."""
    return _key_parameters(_key_columns(key))


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """A storage key's row as stored: state and data, or no row at all."""

    state: str | None
    data: dict[str, Any]


_NO_ROW = _Snapshot(None, {})


class SqlAlchemyStorage(BaseStorage):
    """State and data per storage key in the `fsm_records` table.

    Inside an update the storage joins the update's session (see bot.db.current_session) and
    commits it, so a state change lands together with whatever the handler wrote for the same
    action, and SQLite never sees two writers from one update. Outside an update (start-up,
    jobs) it uses a session of its own.

    A key's row is read at most once per session: the session remembers what was read and
    written, and a write that changes nothing touches no row (clearing a conversation that has
    none is free). That relies on aiogram's model: a key's state is changed by that key's
    updates, which the FSM middleware runs one at a time, holding the key's lock for the whole
    update.
    """

    def __init__(self, session_pool: SessionPool) -> None:
        self._pool = session_pool

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        shared = current_session.get()
        if shared is not None:
            yield shared
            return
        async with self._pool() as session:
            yield session

    @staticmethod
    def _snapshots(session: AsyncSession) -> dict[tuple[Any, ...], _Snapshot]:
        snapshots: dict[tuple[Any, ...], _Snapshot] | None = session.info.get(_CACHE_KEY)
        if snapshots is None:
            snapshots = session.info[_CACHE_KEY] = {}
        return snapshots

    async def _snapshot(self, session: AsyncSession, key: StorageKey) -> _Snapshot:
        snapshots = self._snapshots(session)
        columns = _key_columns(key)
        primary_key = tuple(columns.values())
        snapshot = snapshots.get(primary_key)
        if snapshot is None:
            connection = await session.connection()
            row = (await connection.execute(_SELECT, _key_parameters(columns))).first()
            snapshot = _NO_ROW if row is None else _Snapshot(row.state, dict(row.data or {}))
            snapshots[primary_key] = snapshot
        return snapshot

    def remember(
        self, session: AsyncSession, key: StorageKey, state: str | None, data: Any
    ) -> None:
        """Take `key`'s row as read by another query in `session` (None, None: no row), so the
        storage does not read it again in this session."""
        columns = _key_columns(key)
        snapshot = _NO_ROW if state is None and not data else _Snapshot(state, dict(data or {}))
        self._snapshots(session)[tuple(columns.values())] = snapshot

    async def _write(self, key: StorageKey, *, state: Any = _KEEP, data: Any = _KEEP) -> None:
        async with self._session() as session:
            current = await self._snapshot(session, key)
            new_state = current.state if state is _KEEP else state
            new_data = current.data if data is _KEEP else copy.deepcopy(dict(data))
            columns = _key_columns(key)
            if new_state == current.state and new_data == current.data:
                # Nothing to store; still end the transaction like a write would, so whatever
                # the handler wrote before lands now, as it would have with a real change.
                if session.in_transaction():
                    await session.commit()
                return
            connection = await session.connection()
            if new_state is None and not new_data:
                # An ended conversation leaves no row behind.
                await connection.execute(_DELETE, _key_parameters(columns))
                written = _NO_ROW
            else:
                await connection.execute(
                    dialect_statement(session, _upsert),
                    {**columns, "state": new_state, "data": new_data, "updated_at": utcnow()},
                )
                written = _Snapshot(new_state, new_data)
            await session.commit()
            self._snapshots(session)[tuple(columns.values())] = written

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the conversation state (None ends the conversation step, data stays)."""
        await self._write(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        """The conversation state, or None."""
        async with self._session() as session:
            return (await self._snapshot(session, key)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the conversation data."""
        await self._write(key, data=data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """A copy of the conversation data."""
        async with self._session() as session:
            data = (await self._snapshot(session, key)).data
            return copy.deepcopy(data) if data else {}

    async def close(self) -> None:
        """Nothing to release: the engine belongs to the application."""
