"""A call cancelled while it runs in the SQLite worker thread (a job cut off by the shutdown)
leaves the connection usable: the cancellation waits for the thread, and a BEGIN that got the
lock after all is rolled back."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.db.sqlite import InlineSQLiteConnection


async def test_a_cancelled_call_ends_only_after_its_thread(tmp_path: Path) -> None:
    connection = await InlineSQLiteConnection.connect(str(tmp_path / "db"), busy_timeout_ms=1000)
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.3)
        finished.set()

    task = asyncio.create_task(connection.in_thread(slow))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set()
    await connection.close()


async def test_a_cancelled_begin_that_got_the_lock_leaves_no_transaction(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    connection = await InlineSQLiteConnection.connect(path, busy_timeout_ms=5000)
    connection._conn.isolation_level = None  # as configure_sqlite sets it
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    cursor = connection._conn.cursor()
    begin = asyncio.create_task(connection.run_statement(cursor.execute, "BEGIN IMMEDIATE", ()))
    await asyncio.sleep(0.1)  # waiting in the worker thread for the lock
    begin.cancel()
    await asyncio.sleep(0.05)
    other.execute("ROLLBACK")  # the writer is done: the waiting BEGIN gets the lock
    with pytest.raises(asyncio.CancelledError):
        await begin
    await asyncio.sleep(0.2)  # time for a thread still running to finish
    assert not connection._conn.in_transaction
    other.close()
    await connection.close()
