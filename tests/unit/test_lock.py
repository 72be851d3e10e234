"""The lock files in requirements/ (pip-compile) agree with pyproject.toml, so they can't drift:
every dependency is pinned there with a version pyproject allows. And the time zones ship with
the install, not with the operating system (python:3.11-slim has none)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
APP_LOCK = ROOT / "requirements" / "app.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")


def _name(name: str) -> str:
    """PEP 503's normalised name: ruamel.yaml, ruamel_yaml and Ruamel-YAML are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {
        "app": [Requirement(line) for line in project["dependencies"]],
        "dev": [Requirement(line) for line in project["optional-dependencies"]["dev"]],
    }


def _lock(path: Path) -> dict[str, Version]:
    """name -> pinned version; every line that isn't a comment must be a pin."""
    pins: dict[str, Version] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = PIN.match(stripped)
        assert match, f"{path.name}: not a `name==version` pin: {line!r}"
        pins[_name(match[1])] = Version(match[2])
    return pins


@pytest.mark.parametrize(
    ("lock", "groups"), [(APP_LOCK, ("app",)), (DEV_LOCK, ("app", "dev"))], ids=["app", "dev"]
)
def test_the_lock_pins_every_dependency_within_pyproject(
    lock: Path, groups: tuple[str, ...]
) -> None:
    pins = _lock(lock)
    project = _project()
    for group in groups:
        for requirement in project[group]:
            name = _name(requirement.name)
            assert name in pins, (
                f"{requirement.name} is in pyproject.toml but not in {lock.name}: "
                "run `bash scripts/lock.sh`"
            )
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{lock.name} pins {name}=={pins[name]}, outside pyproject's "
                f"{requirement.specifier}: run `bash scripts/lock.sh`"
            )


def test_development_runs_what_production_runs() -> None:
    app, dev = _lock(APP_LOCK), _lock(DEV_LOCK)
    assert {name: dev.get(name) for name in app} == app


def test_the_runtime_lock_has_no_test_tools() -> None:
    app = _lock(APP_LOCK)
    assert not {_name(r.name) for r in _project()["dev"]} & set(app)


def test_time_zones_come_with_the_install() -> None:
    # An empty PYTHONTZPATH hides the system's zoneinfo: only the tzdata package is left.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import zoneinfo; print(zoneinfo.ZoneInfo('Europe/Berlin').key)",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONTZPATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Europe/Berlin"
