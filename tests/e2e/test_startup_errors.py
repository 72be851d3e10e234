"""Start-up: a misconfiguration is one line and exit code 2; what isn't ready yet is waited for.

Most cases run `bot.cli.main` in this process (a process start costs seconds, mostly for
importing aiogram); a few run the real `mitmachbot` command to show what an operator sees.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot import cli, startup
from bot.app import build_application, run_webhook
from bot.settings import Settings
from tests.conftest import PG_SKIP_REASON, TEST_DATABASE_URL
from tests.driver import free_port
from tests.e2e.test_process import COMMAND, START_TIMEOUT, BotProcess
from tests.fakebotapi import FakeBotAPI

pytestmark = pytest.mark.e2e

TOKEN = "123456789:AAF0abcdefghijklmnopqrstuvwxyz0123456"
# Until a process's first attempt: importing aiogram alone takes 5 s on a quiet machine and
# has taken over 60 s on a busy one.
FIRST_ATTEMPT_TIMEOUT = 180.0


def _closed_port() -> int:
    """A port nobody listens on (connections are refused)."""
    return free_port()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment `main` reads, starting from nothing but a token and an unreachable
    Bot API; the test fills in the rest. Logging is put back afterwards (main configures it)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{_closed_port()}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/data/bot.db",
        "WEBHOOK_LISTEN": "",
        "STARTUP_WAIT_SECONDS": "0",
    }
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield env
    root.handlers[:] = handlers
    root.setLevel(level)


def _main(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> int:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cli.main(list(args))


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _not_a_database(tmp_path: Path) -> str:
    path = tmp_path / "notes.db"
    path.write_bytes(b"These are meeting notes, not a SQLite database. " * 20)
    return f"sqlite+aiosqlite:///{path}"


def _under_a_file(tmp_path: Path) -> str:
    (tmp_path / "plain-file").write_text("x")
    return f"sqlite+aiosqlite:///{tmp_path}/plain-file/data/bot.db"


SETTINGS_CASES = [
    ("WEBHOOK_LISTEN", "0.0.0.0:http", "WEBHOOK_LISTEN is malformed", "(the port is not a number)"),
    ("WEBHOOK_LISTEN", "127.0.0.1:70000", "WEBHOOK_LISTEN is malformed", "(port 70000 is out of"),
    ("NEWCOMER_DAYS", "many", "NEWCOMER_DAYS is malformed; expected a whole", "number of days"),
    ("SHIFT_REMINDER_MINUTES", "-5", "SHIFT_REMINDER_MINUTES is malformed", "minutes"),
    ("MEMORIAL_GRACE_HOURS", "1.5", "MEMORIAL_GRACE_HOURS is malformed; expected a whole", "hours"),
    ("STARTUP_WAIT_SECONDS", "-1", "STARTUP_WAIT_SECONDS is malformed", "don't wait"),
    ("STARTUP_WAIT_SECONDS", "soon", "STARTUP_WAIT_SECONDS is malformed", "don't wait"),
    ("SEND_RATE", "fast", "SEND_RATE is malformed; expected messages per second", "at most 30"),
    (
        "DATABASE_URL",
        "postgresql+asyncpg://bot@db:fivefourthreetwo/bot",
        "DATABASE_URL is malformed; expected a SQLAlchemy URL",
        "(the port is not a number)",
    ),
    (
        "DATABASE_URL",
        "postgresql+asyncpg://bot@db:99999/bot",
        "DATABASE_URL is malformed",
        "(port 99999 is out of range).",
    ),
    (
        "DATABASE_URL",
        "mysql://bot@db/bot",
        "DATABASE_URL is malformed",
        "postgresql+asyncpg://user@host/db.",
    ),
    (
        "DATABASE_URL",
        "postgresql://bot@db/bot",
        "DATABASE_URL is malformed",
        "asyncpg://user@host/db.",
    ),
    (
        "TELEGRAM_API_URL",
        "ftp://api.example.org",
        "TELEGRAM_API_URL is malformed",
        "like https://api.telegram.org.",
    ),
    ("BOT_TOKEN", "123:abc", "BOT_TOKEN is malformed; expected the token", "digits"),
    ("ADMIN_IDS", "12,ada", "ADMIN_IDS is malformed", "like 12345,67890."),
]


@pytest.mark.parametrize("command", ["run", "migrate", "check"])
@pytest.mark.parametrize(("name", "value", "expected", "found"), SETTINGS_CASES)
def test_a_malformed_setting_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_env: dict[str, str],
    command: str,
    name: str,
    value: str,
    expected: str,
    found: str,
) -> None:
    code = _main(monkeypatch, {**cli_env, name: value}, command)
    if name == "BOT_TOKEN" and command == "migrate":
        # Only run and check use the token: migrate ignores even a malformed one.
        assert code == 0
        assert "BOT_TOKEN" not in capsys.readouterr().err
        return
    line = _one_line(capsys.readouterr().err)
    assert code == 2
    assert line.startswith(f"Configuration error: {expected}"), line
    assert line.endswith(".")
    assert found in line
    assert value not in line  # a secret may stand where a setting was expected


DATABASE_CASES: list[tuple[Callable[[Path], str], str]] = [
    (
        _under_a_file,
        r"DATABASE_URL: cannot create the folder .*plain-file/data .*: Not a directory",
    ),
    (_not_a_database, r"DATABASE_URL sqlite\+aiosqlite:///.*notes\.db: file is not a database"),
    (lambda tmp: f"sqlite+aiosqlite:///{tmp}", r"DATABASE_URL .*: unable to open database file"),
]


@pytest.mark.parametrize("command", ["run", "migrate", "import", "export"])
@pytest.mark.parametrize(("url", "expected"), DATABASE_CASES, ids=["folder", "not-db", "dir"])
def test_a_sqlite_file_that_cant_be_used_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_env: dict[str, str],
    tmp_path: Path,
    command: str,
    url: Callable[[Path], str],
    expected: str,
) -> None:
    args = [command]
    if command == "import":
        setup = Path(__file__).parents[2] / "examples" / "kv-musterstadt.yaml"
        args.append(str(setup))
    code = _main(monkeypatch, {**cli_env, "DATABASE_URL": url(tmp_path)}, *args)
    line = _one_line(capsys.readouterr().err)
    assert code == 2
    assert re.fullmatch(f"Configuration error: {expected}\\.", line), line


def test_check_reports_the_database_in_its_own_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    code = _main(monkeypatch, {**cli_env, "DATABASE_URL": _not_a_database(tmp_path)}, "check")
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^database\s+FAIL file is not a database$", out, re.MULTILINE), out
    assert re.search(r"^telegram\s+FAIL TelegramNetworkError", out, re.MULTILINE), out
    assert "Traceback" not in out

    code = _main(monkeypatch, {**cli_env, "DATABASE_URL": _under_a_file(tmp_path)}, "check")
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^database\s+FAIL .*cannot create the folder", out, re.MULTILINE), out


@pytest.fixture
def pg_base() -> str:
    if not TEST_DATABASE_URL:
        pytest.skip(PG_SKIP_REASON)
    return TEST_DATABASE_URL


@pytest.mark.parametrize("command", ["run", "migrate"])
def test_postgresql_refusing_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_env: dict[str, str],
    pg_base: str,
    command: str,
) -> None:
    missing = make_url(pg_base).set(database=f"mm_startup_missing_{uuid.uuid4().hex[:8]}")
    url = missing.render_as_string(hide_password=False)
    code = _main(monkeypatch, {**cli_env, "DATABASE_URL": url}, command)
    line = _one_line(capsys.readouterr().err)
    assert code == 2
    assert re.fullmatch(
        r"Configuration error: DATABASE_URL postgresql\+asyncpg://.*/mm_startup_missing_\w+: "
        r'database "mm_startup_missing_\w+" does not exist\.',
        line,
    ), line

    stranger = make_url(pg_base).set(username="mm_startup_nobody", password="secret-pw")
    url = stranger.render_as_string(hide_password=False)
    code = _main(monkeypatch, {**cli_env, "DATABASE_URL": url}, command)
    line = _one_line(capsys.readouterr().err)
    assert code == 2
    assert line.startswith("Configuration error: DATABASE_URL postgresql+asyncpg://"), line
    # "role ... does not exist" or "password authentication failed", as the server is set up.
    assert "mm_startup_nobody" in line
    assert "secret-pw" not in line


def test_an_unreachable_database_fails_after_the_wait(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cli_env: dict[str, str]
) -> None:
    url = f"postgresql+asyncpg://bot:pw@127.0.0.1:{_closed_port()}/bot"
    code = _main(monkeypatch, {**cli_env, "DATABASE_URL": url}, "migrate")
    line = _one_line(capsys.readouterr().err)
    assert code == 1
    assert re.fullmatch(
        r"Not ready: the database postgresql\+asyncpg://bot:\*\*\*@127\.0\.0\.1:\d+/bot did not "
        r"answer and STARTUP_WAIT_SECONDS is 0: ConnectionRefusedError: .*\.",
        line,
    ), line

    # export doesn't wait at all, and says so in one line as well.
    env = {**cli_env, "DATABASE_URL": url, "STARTUP_WAIT_SECONDS": "60"}
    code = _main(monkeypatch, env, "export")
    line = _one_line(capsys.readouterr().err)
    assert code == 1
    assert re.fullmatch(
        r"Not ready: the database postgresql\+asyncpg://bot:\*\*\*@127\.0\.0\.1:\d+/bot: "
        r"ConnectionRefusedError: .*\.",
        line,
    ), line


def test_an_unreachable_bot_api_is_retried_then_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cli_env: dict[str, str]
) -> None:
    code = _main(monkeypatch, {**cli_env, "STARTUP_WAIT_SECONDS": "1.5"}, "run")
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert "Traceback" not in "\n".join(lines)
    retries = [line for line in lines if " WARNING bot.startup " in line]
    assert len(retries) == 2, lines  # after 0 s and 1 s; the third attempt at 1.5 s is the last
    assert "not ready (attempt 1: TelegramNetworkError: " in retries[0]
    assert "next attempt in 1.0 s, giving up after 1.5 s" in retries[0]
    assert "next attempt in 0.5 s, giving up after 1.5 s" in retries[1]
    assert re.fullmatch(
        r"Not ready: the Bot API at http://127\.0\.0\.1:\d+ did not answer within 1\.5 s "
        r"\(STARTUP_WAIT_SECONDS\): TelegramNetworkError: .*\.",
        lines[-1],
    ), lines
    assert len(lines) == 3, lines


async def test_a_refused_token_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_env: dict[str, str],
    tmp_path: Path,
    fake_api: FakeBotAPI,
) -> None:
    env = {**cli_env, "TELEGRAM_API_URL": fake_api.api_url, "STARTUP_WAIT_SECONDS": "30"}
    # main runs its own event loop: in a thread, so this loop's fake server keeps answering.
    code = await asyncio.to_thread(_main, monkeypatch, env, "run")
    line = _one_line(capsys.readouterr().err)
    assert code == 2
    assert line == (
        f"Configuration error: BOT_TOKEN or TELEGRAM_API_URL: the Bot API at {fake_api.api_url} "
        "refuses getMe: Unauthorized."
    )
    # Nothing was written before the token was checked, not even the schema.
    with sqlite3.connect(tmp_path / "data" / "bot.db") as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []

    # A URL where no Bot API answers (404) is as final.
    wrong = f"{fake_api.api_url}/no-bot-api-here"
    env = {**env, "BOT_TOKEN": fake_api.token, "TELEGRAM_API_URL": wrong}
    code = await asyncio.to_thread(_main, monkeypatch, env, "run")
    line = _one_line(capsys.readouterr().err)
    assert code == 2
    assert line == (
        f"Configuration error: BOT_TOKEN or TELEGRAM_API_URL: the Bot API at {wrong} "
        "refuses getMe: Not Found."
    )


async def test_webhook_mode_names_a_webhook_url_telegram_refuses(
    settings: Settings, fake_api: FakeBotAPI
) -> None:
    port = free_port()
    webhook_settings = settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/hook",
            "webhook_secret": SecretStr("webhook-secret_0123"),
            "webhook_listen": f"127.0.0.1:{port}",
            "startup_wait_seconds": 30.0,
        }
    )
    # One 502 is waited out; the 400 after it is final.
    fake_api.fail("setWebhook", status=502, description="Bad Gateway")
    fake_api.fail(
        "setWebhook", status=400, description="Bad Request: bad webhook: HTTPS url must be provided"
    )
    app = await build_application(webhook_settings, migrate=False)
    try:
        with pytest.raises(startup.StartupError) as caught:
            await run_webhook(app, stop=asyncio.Event())
    finally:
        await app.close()
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        "Configuration error: WEBHOOK_URL: Telegram refuses setWebhook: "
        "Bad Request: bad webhook: HTTPS url must be provided."
    )
    assert len([r for r in fake_api.requests if r.method == "setWebhook"]) == 2


async def test_an_address_the_machine_lacks_is_exit_2_a_taken_port_exit_1(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_env: dict[str, str],
    settings: Settings,
    fake_api: FakeBotAPI,
) -> None:
    # 192.0.2.1 is TEST-NET-1: no machine has it.
    env = {
        **cli_env,
        "BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_URL": fake_api.api_url,
        "WEBHOOK_LISTEN": "192.0.2.1:8080",
    }
    code = await asyncio.to_thread(_main, monkeypatch, env, "run")
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert "Traceback" not in "\n".join(lines)
    assert lines[-1].startswith("cannot listen on 192.0.2.1:8080: "), lines
    assert lines[-1].endswith(
        "Set WEBHOOK_LISTEN to a free host:port, or leave it empty to run without the web "
        "server (calendar feeds, /healthz)."
    )

    # Webhook mode: a port another process holds (exit code 1, see test_process for polling).
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        webhook_settings = settings.model_copy(
            update={
                "webhook_url": "https://bot.example.org/hook",
                "webhook_secret": SecretStr("webhook-secret_0123"),
                "webhook_listen": f"127.0.0.1:{port}",
            }
        )
        app = await build_application(webhook_settings, migrate=False)
        try:
            with pytest.raises(startup.ListenError) as caught:
                await run_webhook(app, stop=asyncio.Event())
        finally:
            await app.close()
    assert caught.value.in_use
    assert str(caught.value).startswith(f"cannot listen on 127.0.0.1:{port}: ")
    assert not any(r.method == "setWebhook" for r in fake_api.requests)


def test_what_waiting_can_mend_is_told_apart() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed")
    starting = asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    too_many = asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")
    missing = asyncpg.exceptions.InvalidCatalogNameError('database "x" does not exist')
    password = asyncpg.exceptions.InvalidPasswordError("password authentication failed")
    for error in (refused, socket.gaierror(-2, "Name or service not known"), TimeoutError()):
        assert startup.database_problem(error) == startup.Problem(True, startup._describe(error))
    for error in (starting, too_many):
        assert startup.database_problem(error) == startup.Problem(True, str(error))
    for error in (missing, password):
        assert startup.database_problem(error) == startup.Problem(False, str(error))
    assert startup.database_problem(ValueError("a bug")) is None


# --- as an operator sees it: the real command ------------------------------------------------


async def _command(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), timeout=START_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_the_command_ends_with_one_line_and_exit_2(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_URL": fake_api.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/data/bot.db",
        "WEBHOOK_LISTEN": "",
    }
    # Neither imports aiogram (seconds); a refused token, which needs it, is tested above.
    results = await asyncio.gather(
        _command({**base, "WEBHOOK_LISTEN": "0.0.0.0:port"}, tmp_path, "run"),
        _command({**base, "DATABASE_URL": _not_a_database(tmp_path)}, tmp_path, "run"),
    )
    expected = [
        "Configuration error: WEBHOOK_LISTEN is malformed; expected host:port for the bot's web "
        "server, like 0.0.0.0:8080 (empty: none in polling mode) (the port is not a number).",
        "Configuration error: DATABASE_URL sqlite+aiosqlite:///",
    ]
    for (code, err), start in zip(results, expected, strict=True):
        assert code == 2, err
        assert _one_line(err).startswith(start), err


class LateListener:
    """Forwards a port to another one, but only from `start()` on: until then, connections to
    it are refused, like a server that isn't up yet."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            finally:
                sink.close()

        await asyncio.gather(
            pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True
        )


async def _wait_for_line(read: Callable[[], str], pattern: str, what: str) -> str:
    """Wait until `read()` holds a line matching `pattern` (the process has tried and failed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FIRST_ATTEMPT_TIMEOUT
    while (found := re.search(pattern, read())) is None:
        if loop.time() > deadline:
            pytest.fail(f"no {what} within {FIRST_ATTEMPT_TIMEOUT:g} s; the log:\n{read()}")
        await asyncio.sleep(0.1)
    return found.group(0)


async def test_the_bot_waits_for_a_bot_api_that_starts_late(
    spawn: Callable[..., BotProcess], bot_env: dict[str, str], fake_api: FakeBotAPI
) -> None:
    late = LateListener(urlsplit(fake_api.api_url).port or 80)
    bot_env.update(TELEGRAM_API_URL=f"http://127.0.0.1:{late.port}", STARTUP_WAIT_SECONDS="60")
    bot = spawn()
    await bot.start("run")
    try:
        # Two failed attempts, then the Bot API "comes up".
        retry = await _wait_for_line(
            bot.log, r".* bot\.startup .* not ready \(attempt 2: .*", "second attempt"
        )
        await late.start()
        try:
            await fake_api.wait_until(lambda: fake_api.get_updates_calls > 0, timeout=START_TIMEOUT)
        except AssertionError:
            pytest.fail(f"the bot did not start polling; its log:\n{bot.log()}")
        assert any(r.method == "getMe" for r in fake_api.requests)
        assert await bot.stop() == 0
    finally:
        await late.stop()
    assert re.fullmatch(
        r"\S+ \S+ WARNING bot\.startup update=- the Bot API at http://127\.0\.0\.1:\d+ not "
        r"ready \(attempt 2: TelegramNetworkError: .*\); next attempt in 2\.0 s, giving up after "
        r"60 s",
        retry,
    ), retry
    assert "Traceback" not in bot.log()


async def test_migrate_waits_for_postgresql_that_starts_late(
    postgres_url: str, tmp_path: Path
) -> None:
    late = LateListener(make_url(postgres_url).port or 5432)
    url = make_url(postgres_url).set(host="127.0.0.1", port=late.port)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": TOKEN,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "STARTUP_WAIT_SECONDS": "60",
    }
    log = tmp_path / "migrate.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            COMMAND, "migrate", env=env, cwd=tmp_path, stdout=sink, stderr=sink
        )
    try:
        await _wait_for_line(log.read_text, r".* not ready \(attempt 1: .*", "first attempt")
        await late.start()
        await asyncio.wait_for(process.wait(), timeout=START_TIMEOUT)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        await late.stop()
    output = log.read_text()
    assert process.returncode == 0, output
    assert "is at the newest schema" in output
    assert "Traceback" not in output
    assert re.search(
        r" WARNING bot\.startup update=- the database postgresql\+asyncpg://\S+ not ready "
        r"\(attempt 1: ConnectionRefusedError: .*\); next attempt in 1\.0 s",
        output,
    ), output
