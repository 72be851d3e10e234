"""Sessions: the factory, and the session of the update being handled."""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

SessionPool = async_sessionmaker[AsyncSession]

# The session of the update being handled, so the FSM storage can join its transaction instead of
# opening a second connection that would wait for the first one's write lock on SQLite.
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


def create_session_pool(engine: AsyncEngine) -> SessionPool:
    """Session factory; objects stay readable after commit so replies need no new transaction."""
    return async_sessionmaker(engine, expire_on_commit=False)
