"""Engines for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
    # transaction. A restart of PostgreSQL still costs no member an update: the first statement
    # on a dead pooled connection fails as "unavailable" (bot.db.availability), SQLAlchemy
    # then drops every connection the pool held (a disconnect invalidates the whole pool), and
    # DatabaseRetryMiddleware runs the update again on a fresh one; tests/e2e/test_db_outage.py
    # restarts the server under the bot to show it.
    return create_async_engine(database_url, echo=echo, hide_parameters=True)


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
