"""What the end-to-end tests that start the bot as a process share."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.driver import free_port
from tests.e2e.test_process import BotProcess
from tests.fakebotapi import FakeBotAPI, FakeUser


@pytest.fixture
def bot_env(fake_api: FakeBotAPI, database_url: str, admin_user: FakeUser) -> dict[str, str]:
    """The environment a deployment would set, and nothing from the developer's shell."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_URL": fake_api.api_url,
        "DATABASE_URL": database_url,
        "ADMIN_IDS": str(admin_user.id),
        "KV_NAME": "KV Testhausen",
        "LOG_LEVEL": "INFO",
        # Tests press faster than any human; the flood gate is tested on its own.
        "FLOOD_BURST": "1000",
    }


@pytest.fixture
async def spawn(
    bot_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[Callable[..., BotProcess]]:
    """Make bot processes (each name its own log); any still running at the end are killed."""
    made: list[BotProcess] = []

    def make(name: str = "bot") -> BotProcess:
        # Each process's web server gets its own port, unless the test chose one.
        env = {"WEBHOOK_LISTEN": f"127.0.0.1:{free_port()}", **bot_env}
        process = BotProcess(env, tmp_path, tmp_path / f"{name}.log")
        made.append(process)
        return process

    yield make
    for process in made:
        if process.process is not None:
            await process.stop(signal.SIGKILL)
