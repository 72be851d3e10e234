"""End to end, as deployed: the `mitmachbot` command in a subprocess against the fake server."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.fakebotapi import FakeBotAPI, FakeUser

pytestmark = pytest.mark.e2e

# Start-up imports aiogram and runs the migrations; generous, because CI machines are busy.
START_TIMEOUT = 60.0
COMMAND = shutil.which("mitmachbot", path=str(Path(sys.executable).parent)) or "mitmachbot"


class BotProcess:
    """One `mitmachbot` process; its log goes to a file the test can read."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.log_path = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                COMMAND, *args, env=self.env, cwd=self.cwd, stdout=log, stderr=log
            )

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), timeout=30)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


async def _start_polling(fake_api: FakeBotAPI, bot: BotProcess) -> None:
    """Start `mitmachbot run` and wait for its first getUpdates."""
    calls = fake_api.get_updates_calls
    await bot.start("run")
    try:
        await fake_api.wait_until(lambda: fake_api.get_updates_calls > calls, timeout=START_TIMEOUT)
    except AssertionError:
        pytest.fail(f"the bot did not start polling; its log:\n{bot.log()}")


async def test_run_polling_greets_and_logs_one_line_per_update(
    spawn: Callable[..., BotProcess], fake_api: FakeBotAPI
) -> None:
    bot = spawn()
    await _start_polling(fake_api, bot)
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await anna.send_message("/start")
    greeting = await fake_api.wait_for_message(anna.id, timeout=15)
    assert greeting.text.startswith("Hallo Anna!")
    assert "Ich bin der Bot von KV Testhausen." in greeting.text
    consent = await fake_api.wait_for_message(anna.id, timeout=15)
    assert consent.text.startswith("Bevor wir loslegen")
    assert await bot.stop() == 0
    log = bot.log()
    assert re.search(
        r" INFO mitmachbot\.updates update=\d+ type=message handler=handlers\.start\.start "
        r"outcome=handled duration_ms=\d+\.\d",
        log,
    ), log
    assert "Anna" not in log
    assert "Traceback" not in log


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_a_restart_mid_conversation_loses_nothing(
    spawn: Callable[..., BotProcess],
    fake_api: FakeBotAPI,
    admin_user: FakeUser,
    how: signal.Signals,
) -> None:
    first = spawn()
    await _start_polling(fake_api, first)
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    await anna.send_message("/start")
    await fake_api.wait_for_message(anna.id, timeout=15)
    consent = await fake_api.wait_for_message(anna.id, timeout=15)
    await anna.press(consent, dict(consent.buttons)["Einverstanden"])
    await fake_api.wait_for_message(anna.id, timeout=15)  # the first intake step

    await admin_user.send_message("/rolle")
    question = await fake_api.wait_for_message(admin_user.id, timeout=15)
    assert question.text.startswith("Wessen Rollen möchtest du ändern?")
    code = await first.stop(how)
    assert code == (0 if how is signal.SIGTERM else -signal.SIGKILL)

    second = spawn()
    await _start_polling(fake_api, second)
    await admin_user.send_message("@anna_k")
    panel = await fake_api.wait_for_message(admin_user.id, timeout=15)
    assert panel.text.startswith(f"Anna (ID {anna.id}) hat diese Rolle: Mitglied.")
    # Whatever Telegram redelivered after the restart was not answered twice.
    questions = [m for m in fake_api.sent_to(admin_user.id) if m.text.startswith("Wessen")]
    assert len(questions) == 1
    assert await second.stop() == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_webhook(
    spawn: Callable[..., BotProcess], bot_env: dict[str, str], fake_api: FakeBotAPI
) -> None:
    port = _free_port()
    secret = "process-secret_0123456789"
    bot_env.update(
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET=secret,
        WEBHOOK_LISTEN=f"127.0.0.1:{port}",
    )
    bot = spawn()
    await bot.start("run", "--webhook")
    try:
        registration = await fake_api.wait_for_request("setWebhook", timeout=START_TIMEOUT)
    except AssertionError:
        pytest.fail(f"no setWebhook; the bot's log:\n{bot.log()}")
    assert registration.params["secret_token"] == secret
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    await anna.send_message("/start")
    reply = await fake_api.wait_for_message(anna.id, timeout=15)
    assert reply.text.startswith("Hello Anna!")
    await fake_api.wait_for_message(anna.id, timeout=15)  # the consent question
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            f"http://127.0.0.1:{port}/telegram",
            json={"update_id": 1},
            headers={"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"},
        ) as response,
    ):
        assert response.status == 401
    assert await bot.stop() == 0


async def test_a_taken_port_ends_start_up_with_one_line(
    fake_api: FakeBotAPI, bot_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            COMMAND,
            "run",
            env={**bot_env, "WEBHOOK_LISTEN": f"127.0.0.1:{port}"},
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(process.communicate(), timeout=START_TIMEOUT)
    assert process.returncode == 1
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith(f"cannot listen on 127.0.0.1:{port}: "), lines
    assert "Set WEBHOOK_LISTEN to a free host:port" in lines[-1]
    assert not any("Traceback" in line for line in lines), lines


async def test_migrate_and_check(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    # Runs once, not per backend: it brings its own fresh SQLite file.
    bot_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_URL": fake_api.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/fresh/bot.db",
    }

    async def run(*args: str, env: dict[str, str] = bot_env) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            COMMAND,
            *args,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=START_TIMEOUT)
        assert process.returncode is not None
        return process.returncode, out.decode()

    code, out = await run("check")
    assert code == 1
    assert "migrations are pending: run `mitmachbot migrate`" in out

    code, out = await run("migrate")
    assert code == 0, out
    assert (tmp_path / "fresh" / "bot.db").exists()

    code, out = await run("check")
    assert code == 0, out
    assert re.search(r"^telegram\s+ok\s+\(@mitmachbot_test_bot, id \d+\)$", out, re.MULTILINE), out
    assert re.search(r"^database\s+ok", out, re.MULTILINE), out

    broken = dict(
        bot_env,
        BOT_TOKEN="987654321:AAH-not-the-token-the-server-knows-xx",
        DATABASE_URL="postgresql+asyncpg://nobody:pw@127.0.0.1:1/none",
    )
    code, out = await run("check", env=broken)
    assert code == 1
    assert re.search(r"^telegram\s+FAIL .*Unauthorized", out, re.MULTILINE), out
    assert re.search(r"^database\s+FAIL", out, re.MULTILINE), out
    assert "pw@" not in out  # the password is masked
