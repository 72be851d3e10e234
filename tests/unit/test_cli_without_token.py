"""Only `run` and `check` talk to Telegram: every other command works without BOT_TOKEN, and
ignores a malformed one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import EXPECTATIONS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "kv-musterstadt.yaml"
MISSING = f"Configuration error: BOT_TOKEN is missing; expected {EXPECTATIONS['BOT_TOKEN']}."


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The environment of an admin's shell without BOT_TOKEN; a SQLite file under tmp_path."""
    database = tmp_path / "data" / "mitmachbot.db"
    with _environment(monkeypatch, tmp_path, f"sqlite+aiosqlite:///{database}") as path:
        yield path


@contextmanager
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> Iterator[Path]:
    for name in ("BOT_TOKEN", "TELEGRAM_API_URL", "WEBHOOK_URL", "WEBHOOK_SECRET", "LC_ALL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield tmp_path / "data" / "mitmachbot.db"
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_every_command_but_run_and_check_works_without_a_token(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _environment(monkeypatch, tmp_path, database_url):
        assert main(["migrate"]) == 0
        assert "is at the newest schema" in capsys.readouterr().out
        assert main(["import", str(EXAMPLE), "--dry-run"]) == 0
        assert "dry run of" in capsys.readouterr().out
        assert main(["import", str(EXAMPLE)]) == 0
        assert f"imported {EXAMPLE}:" in capsys.readouterr().out
        assert main(["export", "kv.yaml"]) == 0
        assert Path("kv.yaml").read_text(encoding="utf-8")
        capsys.readouterr()
        assert main(["backup", "copy.db"]) == 0
        backed_up = capsys.readouterr().out
        assert main(["restore", "copy.db", "--yes"]) == 0
        restored = capsys.readouterr().out
    if database_url.startswith("postgresql"):
        assert "pg_dump" in backed_up
        assert "pg_restore" in restored
    else:
        assert "integrity check ok" in backed_up
        assert "restored copy.db" in restored


@pytest.mark.parametrize("command", [["run"], ["run", "--webhook"], ["check"]])
def test_run_and_check_demand_the_token_in_one_line(
    no_token: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(command) == 2
    assert capsys.readouterr().err == MISSING + "\n"
    assert not no_token.exists()  # stopped before touching the database


def test_a_malformed_token_stops_only_run_and_check(
    no_token: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    assert main(["migrate"]) == 0
    assert main(["export"]) == 1  # nothing imported yet: a reason, not a token complaint
    assert "BOT_TOKEN" not in capsys.readouterr().err
    assert main(["check"]) == 2
    assert "BOT_TOKEN is malformed" in capsys.readouterr().err


def test_import_dry_run_from_the_real_command_without_a_token(tmp_path: Path) -> None:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'mitmachbot.db'}",
        "DEFAULT_LOCALE": "en",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(EXAMPLE), "--dry-run"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"{EXAMPLE} is valid" in result.stdout
