"""Settings: defaults, parsing, and one clear line (exit code 2) for every bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings, SettingsError, load_settings

TOKEN = "123456789:AAH-fake-token-for-tests-0123456789ab"
VARIABLES = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "ADMIN_IDS",
    "KV_NAME",
    "TIMEZONE",
    "DEFAULT_LOCALE",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEBHOOK_LISTEN",
    "PUBLIC_URL",
    "LOG_LEVEL",
    "NEWCOMER_DAYS",
    "SEND_RATE",
    "PAID_BROADCAST",
    "DELIVERY_LEASE_SECONDS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable from the developer's shell or .env leaks into these tests."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = load_settings(bot_token=TOKEN)
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite+aiosqlite:///./data/mitmachbot.db"
    assert settings.sqlite_path() == Path("data/mitmachbot.db")
    assert settings.timezone == "Europe/Berlin"
    assert settings.default_locale == "de"
    assert settings.admin_ids == frozenset()
    assert settings.webhook_host_port == ("0.0.0.0", 8080)
    assert settings.bot_id == 123456789
    assert (settings.newcomer_days, settings.send_rate, settings.paid_broadcast) == (
        14,
        25.0,
        False,
    )
    assert settings.delivery_lease_seconds == 120
    assert settings.redis_url is None
    assert TOKEN not in repr(settings)


def test_environment_and_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\nKV_NAME=KV from file\nADMIN_IDS=1\n")
    monkeypatch.setenv("ADMIN_IDS", " 5, 7 ,")
    monkeypatch.setenv("DEFAULT_LOCALE", "EN")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/tg/hook")
    monkeypatch.setenv("DELIVERY_LEASE_SECONDS", "5")
    settings = Settings()
    assert settings.delivery_lease_seconds == 5
    assert settings.kv_name == "KV from file"
    assert settings.admin_ids == {5, 7}
    assert settings.default_locale == "en"
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.webhook_path == "/tg/hook"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BOT_TOKEN", "", "BOT_TOKEN is malformed"),
        ("BOT_TOKEN", "123:abc", "BOT_TOKEN is malformed"),
        ("BOT_TOKEN", f'"{TOKEN}"', "BOT_TOKEN is malformed"),
        ("TELEGRAM_API_URL", "api.telegram.org", "TELEGRAM_API_URL is malformed"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL is malformed"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL is malformed"),
        ("REDIS_URL", "http://localhost:6379", "REDIS_URL is malformed"),
        ("ADMIN_IDS", "12, anna", "ADMIN_IDS is malformed"),
        ("KV_NAME", "x" * 101, "KV_NAME is malformed"),
        ("TIMEZONE", "Berlin", "TIMEZONE is malformed"),
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE is malformed"),
        ("WEBHOOK_URL", "ftp://x", "WEBHOOK_URL is malformed"),
        ("WEBHOOK_SECRET", "has space", "WEBHOOK_SECRET is malformed"),
        ("WEBHOOK_LISTEN", "8080", "WEBHOOK_LISTEN is malformed"),
        ("PUBLIC_URL", "bot.example.org", "PUBLIC_URL is malformed"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL is malformed"),
        ("NEWCOMER_DAYS", "0", "NEWCOMER_DAYS is malformed"),
        ("SEND_RATE", "50", "SEND_RATE is malformed"),
        ("SEND_RATE", "-1", "SEND_RATE is malformed"),
        ("PAID_BROADCAST", "maybe", "PAID_BROADCAST is malformed"),
        ("DELIVERY_LEASE_SECONDS", "4", "DELIVERY_LEASE_SECONDS is malformed"),
        ("DELIVERY_LEASE_SECONDS", "2.5", "DELIVERY_LEASE_SECONDS is malformed"),
        ("DELIVERY_LEASE_SECONDS", "two minutes", "DELIVERY_LEASE_SECONDS is malformed"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    if variable != "BOT_TOKEN":
        monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"Configuration error: {expected}; expected ")
    assert "\n" not in message


def test_web_server_and_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(bot_token=TOKEN)
    assert settings.web_server
    assert settings.public_base_url is None
    settings = load_settings(bot_token=TOKEN, webhook_url="https://bot.example.org/tg/hook")
    assert settings.public_base_url == "https://bot.example.org"
    monkeypatch.setenv("PUBLIC_URL", "https://kalender.example.org/")
    monkeypatch.setenv("WEBHOOK_LISTEN", "")
    settings = load_settings(bot_token=TOKEN, webhook_url="https://bot.example.org/tg/hook")
    assert settings.public_base_url == "https://kalender.example.org"
    assert not settings.web_server


def test_webhook_mode_needs_the_web_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/tg")
    monkeypatch.setenv("WEBHOOK_SECRET", "secret")
    monkeypatch.setenv("WEBHOOK_LISTEN", "")
    assert main(["run", "--webhook"]) == 2
    assert "WEBHOOK_LISTEN is empty" in capsys.readouterr().err


def test_missing_token_stops_with_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Configuration error: BOT_TOKEN is missing; expected the token")
    assert len(err.splitlines()) == 1


def test_webhook_mode_needs_url_and_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    assert main(["run", "--webhook"]) == 2
    assert "WEBHOOK_URL is missing" in capsys.readouterr().err


def test_console_script_help_for_every_command() -> None:
    for args in ([], ["run"], ["migrate"], ["check"]):
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "usage: mitmachbot" in result.stdout
    run_help = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--help"], capture_output=True, text=True, check=True
    )
    assert "--webhook" in run_help.stdout


def test_bad_setting_from_the_real_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "BOT_TOKEN": TOKEN, "TIMEZONE": "Mars/Olympus"},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Configuration error: TIMEZONE is malformed; expected an IANA time zone name, "
        "like Europe/Berlin."
    )
