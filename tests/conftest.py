"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Application, build_application
from bot.db import migrations
from bot.db.engine import create_engine
from bot.db.session import SessionPool, create_session_pool
from bot.settings import Settings
from models import Base
from tests.driver import BotDriver, free_port
from tests.fakebotapi import FakeBotAPI, FakeUser, SpecMissingWarning, load_spec

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
PG_SKIP_REASON = (
    "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1/test); "
    ".ci/run sets it when the server answers"
)
BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    """Say once, at the top of the run, which databases and which Bot API spec the tests use."""
    backends = (
        "SQLite and PostgreSQL"
        if TEST_DATABASE_URL
        else f"SQLite only; the PostgreSQL variants skip: {PG_SKIP_REASON}"
    )
    config.stash[_BACKENDS_KEY] = backends
    # Loading the spec here (it is cached) gives its warning once, in the warnings summary
    # (shown with -q too), instead of inside whichever test happens to start a server first.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpecMissingWarning)
        spec = load_spec()
    for warning in caught:
        if isinstance(warning.message, SpecMissingWarning):
            config.issue_config_time_warning(warning.message, stacklevel=2)
    config.stash[_SPEC_KEY] = f"{spec.path} ({spec.version or 'no version'})" if spec else None


_BACKENDS_KEY = pytest.StashKey[str]()
_SPEC_KEY = pytest.StashKey[str | None]()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Visible in every run, so a CI log shows whether PostgreSQL and the spec were used."""
    lines = [f"mitmachbot databases: {config.stash[_BACKENDS_KEY]}"]
    spec = config.stash[_SPEC_KEY]
    if spec is not None:
        # A missing spec is reported once, as a warning, rather than here as well.
        lines.append(f"mitmachbot Bot API spec: {spec}")
    return lines


def _run_async(coro: Coroutine[Any, Any, None]) -> None:
    """Session fixtures are sync (one per run, outside any test's loop) but set up async things."""
    asyncio.run(coro)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy, which is much faster than migrating."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrations.upgrade(engine)
        # Closing the last connection folds the WAL into the main file, so a copy has it all.
        await engine.dispose()

    _run_async(build())
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated once, dropped at the end."""
    if not TEST_DATABASE_URL:
        pytest.skip(PG_SKIP_REASON)
    base = make_url(TEST_DATABASE_URL)
    name = f"mitmachbot_test_{uuid.uuid4().hex[:10]}"
    url = base.set(database=name).render_as_string(hide_password=False)

    async def admin(statement: str) -> None:
        engine = create_engine(TEST_DATABASE_URL)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    async def migrate() -> None:
        engine = create_engine(url)
        await migrations.upgrade(engine)
        await engine.dispose()

    try:
        _run_async(admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        pytest.skip(f"PostgreSQL at {base.render_as_string()} does not answer: {exc}")
    _run_async(migrate())
    yield url
    _run_async(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A migrated, empty database for one test, on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "mitmachbot.db"
        shutil.copyfile(sqlite_template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    url = request.getfixturevalue("postgres_url")
    _run_async(_truncate_all(url))
    yield url


async def _truncate_all(url: str) -> None:
    """Empty every table and start every id at 1 again.

    DELETE, not TRUNCATE: a test leaves a few rows in a few tables, and TRUNCATE gives each of
    the 50-odd tables new files on disk every time (about 0.4 s per test); deleting from empty
    tables costs next to nothing.
    """
    engine = create_engine(url)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
        await connection.execute(
            text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'")
        )
    await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test database's engine."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_pool(engine: AsyncEngine) -> SessionPool:
    """Sessions on the test database."""
    return create_session_pool(engine)


# --- the bot against the fake Bot API server -------------------------------------------------

KV_NAME = 'KV "Nord" <Test> & Co'


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API on 127.0.0.1; any request breaking the spec fails the test."""
    async with FakeBotAPI() as server:
        yield server
        assert server.violations == [], "requests broke the Bot API spec:\n" + "\n".join(
            server.violations
        )


@pytest.fixture
def admin_user(fake_api: FakeBotAPI) -> FakeUser:
    """A person listed in ADMIN_IDS."""
    return fake_api.add_user(first_name="Ada", username="ada_admin", language_code="de")


@pytest.fixture
def settings(fake_api: FakeBotAPI, database_url: str, admin_user: FakeUser) -> Settings:
    """Settings pointing at the fake server and the test database."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=fake_api.token,
        telegram_api_url=fake_api.api_url,
        database_url=database_url,
        admin_ids=frozenset({admin_user.id}),
        kv_name=KV_NAME,
        default_locale="de",
        # The web server runs with long polling too: a port of its own, so tests running at
        # the same time (and other checkouts' test runs) don't collide.
        webhook_listen=f"127.0.0.1:{free_port()}",
        # Tests press faster than any human; the flood gate has tests of its own
        # (tests/unit/test_flood.py, tests/handlers/test_safeguards.py).
        flood_burst=1000,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Application]:
    """The real application (database already migrated by the fixtures)."""
    application = await build_application(settings, migrate=False)
    yield application
    await application.close()


@pytest.fixture
def driver(app: Application, fake_api: FakeBotAPI) -> BotDriver:
    """Feeds updates straight into the dispatcher and returns what the bot sent meanwhile."""
    return BotDriver(app, fake_api)
