"""The Alembic migrations and the models describe the same schema, on every backend."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import migrations
from models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"


async def test_database_is_at_head(engine: AsyncEngine) -> None:
    assert await migrations.pending_heads(engine) == set()


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    await migrations.upgrade(engine)
    assert await migrations.pending_heads(engine) == set()


def _downgrade(connection: Connection) -> None:
    config = migrations.alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_downgrade_to_base_and_up_again(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade)
    assert await migrations.pending_heads(engine) != set()
    await migrations.upgrade(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_diff) == []
