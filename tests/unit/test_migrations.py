"""The Alembic migrations and the models describe the same schema, on every backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def test_the_head_read_from_the_files_is_alembics() -> None:
    scripts = ScriptDirectory.from_config(migrations.alembic_config())
    assert [migrations.script_head()] == scripts.get_heads()


async def test_an_up_to_date_database_is_not_migrated_again(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alembic stays unimported on an ordinary start: upgrade() returns before it would run.
    assert await migrations.up_to_date(engine)

    def refuse(*_args: object) -> None:
        raise AssertionError("Alembic ran on a database at head")

    monkeypatch.setattr(migrations, "_upgrade", refuse)
    await migrations.upgrade(engine)


async def test_a_database_behind_is_not_up_to_date(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade)
    assert not await migrations.up_to_date(engine)
    await migrations.upgrade(engine)
    assert await migrations.up_to_date(engine)


def test_a_running_bot_does_not_import_alembic(tmp_path: Path) -> None:
    # In a process of its own (the tests import Alembic): building the bot against a migrated
    # database leaves Alembic out of the process.
    script = (
        "import asyncio, sys\n"
        "from bot.app import build_application\n"
        "from bot.settings import Settings\n"
        "async def main():\n"
        f"    url = 'sqlite+aiosqlite:///{tmp_path}/bot.db'\n"
        "    settings = Settings(_env_file=None, bot_token='123456789:' + 'A' * 35,\n"
        "                        database_url=url, webhook_listen='')\n"
        "    for _ in range(2):\n"
        "        sys.modules.pop('alembic', None)\n"
        "        app = await build_application(settings)\n"
        "        await app.close()\n"
        "    print('alembic' in sys.modules)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"
