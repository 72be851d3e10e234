"""LOG_FORMAT=json as deployed: every line the `mitmachbot` process writes is one JSON object,
and the update's summary line carries its update id."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.e2e.test_process import BotProcess, _start_polling
from tests.fakebotapi import FakeBotAPI

pytestmark = pytest.mark.e2e


async def test_json_log_lines_parse_and_carry_the_update_id(
    spawn: Callable[..., BotProcess], bot_env: dict[str, str], fake_api: FakeBotAPI
) -> None:
    bot_env["LOG_FORMAT"] = "json"
    bot = spawn()
    await _start_polling(fake_api, bot)
    anna = fake_api.add_user(first_name="Annalena", username="secret_handle", language_code="de")
    update = await anna.send_message("/start")
    greeting = await fake_api.wait_for_message(anna.id, timeout=15)
    assert greeting.text.startswith("Hallo Annalena!")
    assert await bot.stop() == 0
    log = bot.log()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert lines, log
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
    [summary] = [
        line
        for line in lines
        if line["logger"] == "mitmachbot.updates" and line.get("update_id") == update["update_id"]
    ]
    assert summary["level"] == "INFO"
    assert summary["message"].startswith(
        "type=message handler=handlers.start.start outcome=handled"
    )
    assert "Annalena" not in log
    assert "secret_handle" not in log
