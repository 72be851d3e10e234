"""What the end-to-end tests that start the bot as a process share."""

from __future__ import annotations

import os

import pytest

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
    }
