"""Which errors mean "the database is unavailable right now": real errors, made for real."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db.availability import describe_unavailable, is_database_unavailable
from bot.db.engine import create_engine
from tests.conftest import PG_SKIP_REASON, TEST_DATABASE_URL
from tests.driver import free_port


async def _raised(action: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await action()
    except Exception as error:  # the error is what the test looks at
        return error
    raise AssertionError("no error was raised")


async def test_sqlite_writer_lock_and_the_queue_behind_it(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_busy_timeout=0.2)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("INSERT INTO t VALUES (1)"))

    try:
        errors = await asyncio.gather(*(_raised(write) for _ in range(2)))
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The first waits for the lock and gets SQLITE_BUSY; the second waits for the one
    # connection and gets the pool's timeout.
    assert {type(error).__name__ for error in errors} == {"OperationalError", "TimeoutError"}
    assert all(is_database_unavailable(error) for error in errors)
    assert "database is locked" in " ".join(describe_unavailable(error) for error in errors)
    await engine.dispose()


async def test_a_constraint_violation_is_a_fault_not_an_outage(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")

    async def insert_twice() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))

    error = await _raised(insert_twice)
    assert isinstance(error, IntegrityError)
    assert not is_database_unavailable(error)
    await engine.dispose()


async def test_postgres_not_listening() -> None:
    # asyncpg's connect raises a bare ConnectionRefusedError, which SQLAlchemy passes on.
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")

    async def query() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    error = await _raised(query)
    assert isinstance(error, ConnectionRefusedError)
    assert is_database_unavailable(error)
    await engine.dispose()


def test_other_errors_are_not_outages() -> None:
    # The same exception types, raised outside the database driver.
    assert not is_database_unavailable(ConnectionRefusedError(111, "refused"))
    assert not is_database_unavailable(TimeoutError())
    assert not is_database_unavailable(TelegramNetworkError(GetMe(), "connection refused"))
    assert not is_database_unavailable(ValueError("bad input"))
    assert not is_database_unavailable(sqlite3.OperationalError("no such table: x"))


def test_a_bare_sqlite_busy_counts() -> None:
    error = sqlite3.OperationalError("database is locked")
    assert is_database_unavailable(error)


# --- PostgreSQL, made unavailable for real ------------------------------------------------------


@pytest.fixture
async def pg_scratch() -> Any:
    if not TEST_DATABASE_URL:
        pytest.skip(PG_SKIP_REASON)
    name = f"mm_outage_{uuid.uuid4().hex[:10]}"
    admin = create_engine(TEST_DATABASE_URL)

    async def run(statement: str) -> None:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))

    await run(f'CREATE DATABASE "{name}"')
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    yield name, url, run
    await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.dispose()


async def test_postgres_closed_to_connections_and_killed(pg_scratch: Any) -> None:
    name, url, admin = pg_scratch
    engine = create_engine(url)
    kill = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )

    async def query() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    await query()  # one connection in the pool
    await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await admin(kill)
    # No pre-ping (bot.db.engine): the pooled connection's first statement finds it dead,
    # which drops the pool's connections; the next, new one is refused: SQLSTATE 55000.
    dead = await _raised(query)
    closed = await _raised(query)
    await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    async def kill_soon() -> None:
        await asyncio.sleep(0.2)
        await admin(kill)

    async def killed_during_a_statement() -> None:
        async with engine.connect() as connection:
            killer = asyncio.create_task(kill_soon())
            try:
                await connection.execute(text("SELECT pg_sleep(2)"))
            finally:
                await killer

    async def killed_between_statements() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            await admin(kill)
            await connection.execute(text("SELECT 1"))

    during = await _raised(killed_during_a_statement)
    between = await _raised(killed_between_statements)
    for error in (dead, closed, during, between):
        assert is_database_unavailable(error), describe_unavailable(error)
    assert "55000" in describe_unavailable(closed)
    await engine.dispose()


async def test_postgres_errors_that_are_not_outages(pg_scratch: Any) -> None:
    name, url, _admin = pg_scratch
    missing_url = make_url(url).set(database=f"{name}_missing")
    missing = create_engine(missing_url.render_as_string(hide_password=False))

    async def connect_missing() -> None:
        async with missing.connect() as connection:
            await connection.execute(text("SELECT 1"))

    engine = create_engine(url)

    async def bad_sql() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT * FROM no_such_table"))

    # A missing database doesn't come back by itself; a syntax or schema error is a fault.
    assert not is_database_unavailable(await _raised(connect_missing))
    assert not is_database_unavailable(await _raised(bad_sql))
    await missing.dispose()
    await engine.dispose()


async def test_postgres_pool_timeout(pg_scratch: Any) -> None:
    _name, url, _admin = pg_scratch
    engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)

    async def second_connection() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async with engine.connect() as held:
        await held.execute(text("SELECT 1"))
        error = await _raised(second_connection)
    assert is_database_unavailable(error)
    await engine.dispose()


async def test_error_messages_carry_no_parameters(tmp_path: Path) -> None:
    # A failed update's error is logged; its statement's values may be a member's words.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")

    async def insert_twice() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x TEXT PRIMARY KEY)"))
            for _ in range(2):
                await connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": "Geheimnis"})

    error = await _raised(insert_twice)
    assert "Geheimnis" not in str(error)
    await engine.dispose()
