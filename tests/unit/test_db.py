"""SQLite is tuned for concurrent handlers; timestamps come back as aware UTC on every backend."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from bot.db import engine as engine_module
from bot.db.engine import create_engine, engine_from_settings
from bot.db.session import SessionPool
from bot.settings import load_settings
from models import Member
from models.base import UTCDateTime


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000}


async def test_concurrent_read_then_write_transactions_do_not_fail(tmp_path: Path) -> None:
    """The pattern that fails with deferred transactions: read, pause, write, from many tasks."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        await connection.exec_driver_sql("INSERT INTO counter VALUES (0)")

    async def increment() -> None:
        async with engine.begin() as connection:
            value = (await connection.exec_driver_sql("SELECT n FROM counter")).scalar_one()
            await asyncio.sleep(0)  # let the other tasks interleave
            await connection.exec_driver_sql(f"UPDATE counter SET n = {value + 1}")

    try:
        await asyncio.gather(*(increment() for _ in range(25)))
        async with engine.connect() as connection:
            total = (await connection.exec_driver_sql("SELECT n FROM counter")).scalar_one()
    finally:
        await engine.dispose()
    assert total == 25  # no lost update, no "database is locked"


async def test_timestamps_are_aware_utc(session_pool: SessionPool) -> None:
    pool = session_pool
    berlin = timezone(timedelta(hours=2))
    local = datetime(2026, 7, 1, 14, 0, tzinfo=berlin)
    async with pool() as session:
        session.add(Member(id=1, first_name="A", created_at=local, last_seen_at=local))
        await session.commit()
    async with pool() as session:
        stored = await session.scalar(select(Member.created_at))
    assert stored == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(naive, sqlite.dialect())


def test_sqlite_folder_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        bot_token="123456789:AAH-fake-token-for-tests-0123456789ab",
        database_url="sqlite+aiosqlite:///./nested/dir/bot.db",
    )
    engine_from_settings(settings)
    assert (tmp_path / "nested" / "dir").is_dir()


async def test_a_postgresql_connection_that_died_while_idle_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection idle for a while is pinged before use, so a dead one costs no
    failed statement (a busy one isn't: that would cost every transaction a round trip)."""
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    engine = create_engine(postgres_url)
    other = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            pid = (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar()
        async with other.connect() as connection:
            await connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        await engine.dispose()
        await other.dispose()


async def test_a_busy_postgresql_connection_is_not_pinged(postgres_url: str) -> None:
    """Back-to-back transactions (the update path) cost no ping; an idle spell does."""
    engine = create_engine(postgres_url)
    pings: list[object] = []
    dialect = engine.sync_engine.dialect
    original = dialect.do_ping

    def counting(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return original(dbapi_connection)

    dialect.do_ping = counting  # type: ignore[method-assign]
    try:
        for _ in range(5):
            async with engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        assert pings == []
        engine_module.IDLE_PING_SECONDS, saved = 0.0, engine_module.IDLE_PING_SECONDS
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        finally:
            engine_module.IDLE_PING_SECONDS = saved
        assert len(pings) == 1
    finally:
        await engine.dispose()


async def test_sqlite_statements_in_a_transaction_run_on_the_event_loop(tmp_path: Path) -> None:
    """No thread hand-off per statement: SQLite answers in microseconds inside a transaction."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    try:
        async with engine.begin() as connection:
            raw = await connection.get_raw_connection()
            raw.driver_connection._conn.create_function("thread_id", 0, threading.get_ident)
            ran_on = (await connection.exec_driver_sql("SELECT thread_id()")).scalar()
    finally:
        await engine.dispose()
    assert ran_on == threading.get_ident()


async def test_sqlite_waits_for_another_writer_without_blocking_the_event_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    other = sqlite3.connect(path, isolation_level=None)  # say, `mitmachbot import` meanwhile
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("INSERT INTO t VALUES (1)")

    ticker = asyncio.create_task(tick())
    writer = asyncio.create_task(write())
    try:
        await asyncio.sleep(0.2)
        assert not writer.done()  # waiting for the other writer, not failing
        assert ticks >= 5  # and the event loop kept running meanwhile
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 5)
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("SELECT count(*) FROM t")).scalar() == 1
    finally:
        ticker.cancel()
        other.close()
        await engine.dispose()
