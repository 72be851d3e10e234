"""Engines for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db.sqlite import SQLITE_BUSY_TIMEOUT_MS, configure_sqlite, sqlite_connector
from bot.settings import Settings, SettingsError


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for the URL, with SQLite tuned for concurrent handlers."""
    if database_url.startswith("sqlite"):
        engine = create_async_engine(
            database_url,
            echo=echo,
            async_creator=sqlite_connector(database_url),
            # One connection: SQLite has one writer anyway, and queueing for the connection in
            # asyncio is far cheaper than queueing in SQLite's busy handler, which sleeps in
            # steps of up to 100 ms. It also means a session must not wait for a second one
            # while holding its own; see current_session and ReleaseBeforeRequestMiddleware.
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        )
        configure_sqlite(engine)
        return engine
    # A ping per checkout costs a few round trips, but a PostgreSQL restart then costs no
    # member a failed update.
    return create_async_engine(database_url, echo=echo, pool_pre_ping=True)


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
    return create_engine(settings.database_url)
