"""The README and .env.example document every setting, and the README every command."""

from __future__ import annotations

import re
from pathlib import Path

from bot.cli import _parser
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")


def _variables() -> list[str]:
    return [name.upper() for name in Settings.model_fields]


def test_the_settings_table_has_every_setting() -> None:
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))
    assert sorted(set(_variables()) - rows) == []


def test_env_example_has_every_setting() -> None:
    named = set(re.findall(r"^(?:# )?([A-Z_]+)=", ENV_EXAMPLE, flags=re.MULTILINE))
    assert sorted(set(_variables()) - named) == []


def test_the_readme_names_every_command_in_both_languages() -> None:
    commands = next(action for action in _parser()._actions if action.dest == "command").choices
    german, english = README.split("# Mitmachbot (English)")
    for part in (german, english):
        for command in commands:
            assert f"`{command}" in part or f"mitmachbot {command}" in part, command
