"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from bot.settings import Settings

# How long a SQLite writer waits for another before giving up. Transactions here are short, so
# hitting this means something is stuck, not busy.
SQLITE_BUSY_TIMEOUT_MS = 30_000

SessionPool = async_sessionmaker[AsyncSession]

# The session of the update being handled, so the FSM storage can join its transaction instead of
# opening a second connection that would wait for the first one's write lock on SQLite.
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction starts (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and later writes fails at once with "database is
        # locked" when another connection wrote in between; taking the write lock up front makes
        # concurrent handlers queue on busy_timeout instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for the URL, with SQLite tuned for concurrent handlers."""
    if database_url.startswith("sqlite"):
        engine = create_async_engine(
            database_url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # One connection: SQLite has one writer anyway, and queueing for the connection in
            # asyncio is far cheaper than queueing in SQLite's busy handler, which sleeps in
            # steps of up to 100 ms. It also means a session must not wait for a second one
            # while holding its own; see current_session and ReleaseBeforeRequestMiddleware.
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(database_url, echo=echo, pool_pre_ping=True)


def create_session_pool(engine: AsyncEngine) -> SessionPool:
    """Session factory; objects stay readable after commit so replies need no new transaction."""
    return async_sessionmaker(engine, expire_on_commit=False)


def engine_from_settings(settings: Settings) -> AsyncEngine:
    """Engine for the configured database, creating the SQLite folder when needed."""
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return create_engine(settings.database_url)


def dialect_insert(session: AsyncSession) -> Any:
    """The dialect's INSERT construct, which knows ON CONFLICT on SQLite and PostgreSQL alike."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415

        return insert
    from sqlalchemy.dialects.sqlite import insert  # noqa: PLC0415

    return insert


class ReleaseBeforeRequestMiddleware(BaseRequestMiddleware):
    """Commit the update's open transaction before every Bot API request.

    A transaction held across network I/O would hold SQLite's write lock (every transaction
    takes it, see _configure_sqlite) and PostgreSQL row locks for as long as Telegram takes to
    answer, serialising all other updates behind it. Committing first also means a member is
    never told "saved" before it is.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """End the current update's transaction, then make the request."""
        session = current_session.get()
        if session is not None and session.in_transaction():
            await session.commit()
        return await make_request(bot, method)
