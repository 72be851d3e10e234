"""Run Alembic programmatically, so `migrate`, `run` and the tests share one code path.

Alembic is imported only when there is something to migrate: a bot starting against a database
that is up to date (every start but the first after an upgrade) saves its 10 MB and 0.3 s.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

# Several instances starting at once (replicas) migrate one after the other: on PostgreSQL the
# first holds this transaction-level advisory lock, the others wait and then find nothing to do.
_MIGRATION_LOCK = 0x4D69746D  # "Mitm"
# The two lines every migration file has (migrations/script.py.mako writes them).
_REVISION_LINE = re.compile(r'^(down_)?revision: str(?: \| None)? = "([^"]+)"', re.MULTILINE)


def script_head() -> str | None:
    """The newest revision, read from the migration files themselves (no Alembic import);
    None when they don't form one line (Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(migrations.__file__).resolve().parent / "versions").glob("*.py"):
        for down, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def _stamped(connection: Connection) -> tuple[str, ...]:
    if not inspect(connection).has_table("alembic_version"):
        return ()
    return tuple(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


async def up_to_date(engine: AsyncEngine) -> bool:
    """Whether the database stands at the newest revision (one cheap query, no Alembic)."""
    head = script_head()
    if head is None:
        return False
    async with engine.connect() as connection:
        return await connection.run_sync(_stamped) == (head,)


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (and the database, if given)."""
    from alembic.config import Config  # noqa: PLC0415

    folder = Path(migrations.__file__).resolve().parent
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("path_separator", "os")
    if database_url is not None:
        # Alembic reads options through ConfigParser, which treats % as interpolation.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current_heads(connection: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    return tuple(MigrationContext.configure(connection).get_current_heads())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` over the application's own engine."""
    if revision == "head" and await up_to_date(engine):
        return
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
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    async with engine.connect() as connection:
        current = set(await connection.run_sync(_current_heads))
    return heads - current
