"""Run Alembic programmatically, so `migrate`, `run` and the tests share one code path."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

logger = logging.getLogger(__name__)

# Several instances starting at once (replicas) migrate one after the other: on PostgreSQL the
# first holds this transaction-level advisory lock, the others wait and then find nothing to do.
_MIGRATION_LOCK = 0x4D69746D  # "Mitm"


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (and the database, if given)."""
    folder = Path(migrations.__file__).resolve().parent
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("path_separator", "os")
    if database_url is not None:
        # Alembic reads options through ConfigParser, which treats % as interpolation.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` over the application's own engine."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
        before = await connection.run_sync(_current_heads)
        await connection.run_sync(_upgrade, revision)
        after = await connection.run_sync(_current_heads)
    if before != after:
        logger.info("database migrated from %s to %s", before or "empty", after)


async def pending_heads(engine: AsyncEngine) -> set[str]:
    """Head revisions the database has not reached yet (empty when it is up to date)."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    async with engine.connect() as connection:
        current = set(await connection.run_sync(_current_heads))
    return heads - current
