"""Engines for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.db.sqlite import SQLITE_BUSY_TIMEOUT_MS, configure_sqlite, sqlite_connector
from bot.settings import Settings, SettingsError


def create_engine(
    database_url: str, *, echo: bool = False, sqlite_busy_timeout: float | None = None
) -> AsyncEngine:
    """An async engine for the URL, with SQLite tuned for concurrent handlers.

    Statement parameters are left out of error messages and echo: they may be a member's name
    or text, and a failed update's error goes to the log (e.g. after a database outage).

    `sqlite_busy_timeout` (seconds, SQLite only) is how long a writer waits for another
    process's write lock, and an update for the one connection, before giving up.
    """
    if database_url.startswith("sqlite"):
        busy_timeout_ms = (
            SQLITE_BUSY_TIMEOUT_MS
            if sqlite_busy_timeout is None
            else max(1, round(sqlite_busy_timeout * 1000))
        )
        engine = create_async_engine(
            database_url,
            echo=echo,
            hide_parameters=True,
            async_creator=sqlite_connector(database_url, busy_timeout_ms=busy_timeout_ms),
            # One connection: SQLite has one writer anyway, and queueing for the connection in
            # asyncio is far cheaper than queueing in SQLite's busy handler, which sleeps in
            # steps of up to 100 ms. It also means a session must not wait for a second one
            # while holding its own; see current_session and ReleaseBeforeRequestMiddleware.
            pool_size=1,
            max_overflow=0,
            pool_timeout=busy_timeout_ms / 1000,
        )
        configure_sqlite(engine, busy_timeout_ms=busy_timeout_ms)
        return engine
    # No ping per checkout: it cost a round trip (and the event loop's time) on every
    # transaction. Only a connection that sat idle for a while is pinged (see
    # _ping_after_idle): that is when a restart, a failover or a firewall's idle timeout has
    # most likely closed it. A connection that dies while busy fails its statement as
    # "unavailable" (bot.db.availability), SQLAlchemy drops every connection the pool held,
    # and DatabaseRetryMiddleware runs the update again on a fresh one;
    # tests/e2e/test_db_outage.py restarts the server under the bot to show it.
    engine = create_async_engine(database_url, echo=echo, hide_parameters=True)
    _ping_after_idle(engine)
    return engine


# A pooled connection unused this long is pinged before it is handed out again.
IDLE_PING_SECONDS = 10.0
_IDLE_SINCE = "mitmachbot_idle_since"


def _ping_after_idle(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and hands out a fresh one instead.
            raise DisconnectionError("pooled connection died while idle") from exc


def engine_from_settings(settings: Settings) -> AsyncEngine:
    """Engine for the configured database, creating the SQLite folder when needed.

    Raises SettingsError (one line) when that folder can't be created.
    """
    path = settings.sqlite_path()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(
                f"Configuration error: DATABASE_URL: cannot create the folder {path.parent} "
                f"for the SQLite file: {exc.strerror or exc}."
            ) from None
    return create_engine(
        settings.database_url, sqlite_busy_timeout=settings.sqlite_busy_timeout_seconds
    )
