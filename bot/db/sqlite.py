"""SQLite for concurrent handlers: pragmas, BEGIN IMMEDIATE, and statements on the event loop.

The engine (bot.db.engine) uses SQLAlchemy's aiosqlite dialect with the connection class below
instead of aiosqlite's own, which runs every call in a thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

# How long a SQLite writer waits for another before giving up, by default (the setting
# SQLITE_BUSY_TIMEOUT_SECONDS). Transactions here are short, so hitting this means something is
# stuck, not busy; the update is then retried (bot.middlewares.outage).
SQLITE_BUSY_TIMEOUT_MS = 30_000


_T = TypeVar("_T")


def configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Pragmas on every new connection, and BEGIN IMMEDIATE for every transaction."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction starts (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and later writes fails at once with "database is
        # locked" when another connection wrote in between; taking the write lock up front makes
        # concurrent handlers queue on busy_timeout instead. Straight to the driver: SQLAlchemy's
        # statement machinery would cost more than the BEGIN itself.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("BEGIN IMMEDIATE")
        finally:
            cursor.close()


# --- SQLite without a thread hand-off per call -----------------------------------------------


class _RunAtOnce:
    """Stands in for aiosqlite's job queue, which SQLAlchemy's isolation-level setter uses."""

    def put_nowait(self, job: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = job
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting side, as aiosqlite does
            future.set_exception(exc)


class InlineSQLiteCursor:
    """aiosqlite's Cursor interface over a sqlite3 cursor; see InlineSQLiteConnection."""

    __slots__ = ("_connection", "_cursor", "_inline")

    def __init__(self, connection: InlineSQLiteConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor
        self._inline = True

    async def __aenter__(self) -> InlineSQLiteCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        """The DB-API description of the last statement's columns."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The rowid of the last inserted row."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Rows per fetchmany() by default."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineSQLiteCursor:
        """Run one statement (see InlineSQLiteConnection for where)."""
        self._inline = await self._connection.run_statement(
            self._cursor.execute, sql, () if parameters is None else parameters
        )
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineSQLiteCursor:
        """Run one statement for each set of parameters."""
        self._inline = await self._connection.run_statement(
            self._cursor.executemany, sql, parameters
        )
        return self

    async def _fetch(self, function: Callable[..., _T], *args: Any) -> _T:
        if self._inline:
            return function(*args)
        return await self._connection.in_thread(function, *args)

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return await self._fetch(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` rows."""
        if size is None:
            return await self._fetch(self._cursor.fetchmany)
        return await self._fetch(self._cursor.fetchmany, size)

    async def fetchall(self) -> list[Any]:
        """All remaining rows."""
        return await self._fetch(self._cursor.fetchall)

    async def close(self) -> None:
        """Release the statement."""
        self._cursor.close()

    async def __aiter__(self) -> AsyncIterator[Any]:
        while rows := await self.fetchmany():
            for row in rows:
                yield row


class InlineSQLiteConnection:
    """The part of aiosqlite's Connection that SQLAlchemy's aiosqlite dialect uses.

    aiosqlite runs every call in a thread of its own, so a statement costs four thread hand-offs
    and event-loop wake-ups (cursor, execute, fetch, close); with many updates in flight each
    wake-up also waits behind all other ready work while the one connection is held. SQLite
    itself needs microseconds for what the bot asks of it, so here calls run on the event loop,
    except where SQLite may have to wait:

    - BEGIN IMMEDIATE waits (busy_timeout) while another process writes: it is tried without
      waiting, and only when the database is busy retried in the worker thread.
    - Inside a transaction that holds the write lock (every transaction does, see
      configure_sqlite) nothing waits for a lock in WAL mode.
    - COMMIT of a transaction that changed rows writes the WAL and may checkpoint (which syncs
      the disk): worker thread. A transaction that only read just releases its lock.
    - Anything else outside such a transaction: worker thread.
    """

    def __init__(
        self, connection: sqlite3.Connection, executor: ThreadPoolExecutor, busy_timeout_ms: int
    ) -> None:
        # _conn, _connection and _tx are the aiosqlite attributes SQLAlchemy reaches for.
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunAtOnce()
        self._executor = executor
        self._busy_timeout_ms = busy_timeout_ms
        # Whether the open transaction holds the write lock, and the change count at its start.
        self._write_locked = False
        self._changes_at_begin = 0

    @classmethod
    async def connect(
        cls, database: str, *, busy_timeout_ms: int, **kwargs: Any
    ) -> InlineSQLiteConnection:
        """Open the database in a new worker thread (opening may touch the disk)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        connection = await loop.run_in_executor(
            executor,
            lambda: sqlite3.connect(
                database, timeout=busy_timeout_ms / 1000, check_same_thread=False, **kwargs
            ),
        )
        return cls(connection, executor, busy_timeout_ms)

    async def in_thread(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run a call that may wait in the worker thread.

        A cancelled caller (a job cut off by the shutdown) still waits for the call to end
        before the cancellation goes on: the thread can't be stopped, and a connection used by
        it and by the next caller at once breaks ("Recursive use of cursors"), or is handed back
        to the pool inside a transaction SQLAlchemy knows nothing of.
        """
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._executor, function, *args)
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            await asyncio.wait([call])
            raise

    async def run_statement(
        self, function: Callable[[str, Any], object], sql: str, parameters: Any
    ) -> bool:
        """Run the statement; True when it ran on the event loop."""
        head = sql.lstrip()[:8].upper()
        if head.startswith("BEGIN"):
            await self._begin(function, sql, parameters)
            return True
        if head.startswith(("COMMIT", "END")):
            await self._end(lambda: function(sql, parameters))
            return True
        if self._write_locked and self._conn.in_transaction:
            function(sql, parameters)
            return True
        self._write_locked = False
        await self.in_thread(function, sql, parameters)
        return False

    async def _begin(
        self, function: Callable[[str, Any], object], sql: str, parameters: Any
    ) -> None:
        connection = self._conn
        self._write_locked = False
        upper = sql.upper()
        if "IMMEDIATE" not in upper and "EXCLUSIVE" not in upper:
            function(sql, parameters)  # a deferred BEGIN takes no lock
            return
        connection.execute("PRAGMA busy_timeout=0")
        try:
            function(sql, parameters)
            busy = False
        except sqlite3.OperationalError as exc:
            # The extended code's low byte is the primary one (SQLITE_BUSY_RECOVERY, ...).
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            busy = True
        finally:
            connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        if busy:
            # Another process is writing: wait for it off the event loop.
            try:
                await self.in_thread(function, sql, parameters)
            except asyncio.CancelledError:
                # The BEGIN may have got the lock after all: nobody is left to use or end it.
                if connection.in_transaction:
                    connection.rollback()
                raise
        self._write_locked = True
        self._changes_at_begin = connection.total_changes

    async def _end(self, finish: Callable[[], object]) -> None:
        connection = self._conn
        try:
            if self._write_locked and connection.total_changes == self._changes_at_begin:
                finish()  # nothing written: releasing the lock needs no disk
            else:
                await self.in_thread(finish)
        finally:
            if not connection.in_transaction:
                self._write_locked = False

    def cursor(self) -> InlineSQLiteCursor:
        """A new cursor (SQLAlchemy enters it with `async with`)."""
        return InlineSQLiteCursor(self, self._conn.cursor())

    async def commit(self) -> None:
        """Commit the open transaction, if any."""
        if self._conn.in_transaction:
            await self._end(self._conn.commit)

    async def rollback(self) -> None:
        """Roll back; dropping the transaction's pages needs no waiting."""
        self._write_locked = False
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register an SQL function."""
        self._conn.create_function(*args, **kwargs)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        """The sqlite3 module's isolation level (None: SQLAlchemy issues BEGIN itself)."""
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value

    @property
    def total_changes(self) -> int:
        """Rows changed since the connection was opened."""
        return self._conn.total_changes

    async def close(self) -> None:
        """Close the connection (the last one checkpoints the WAL) and end the thread."""
        if self._connection is None:
            return
        self._connection = None
        try:
            await self.in_thread(self._conn.close)
        finally:
            self._executor.shutdown(wait=False)

    def stop(self) -> None:
        """Close without waiting, from synchronous code (SQLAlchemy's terminate).

        Queued behind whatever the worker thread is still running on the connection.
        """
        if self._connection is None:
            return
        self._connection = None
        self._executor.submit(self._conn.close)
        self._executor.shutdown(wait=False)


def sqlite_connector(
    database_url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> Callable[[], Any]:
    """SQLAlchemy's async_creator for the URL: an InlineSQLiteConnection."""
    args, kwargs = SQLiteDialect_pysqlite().create_connect_args(make_url(database_url))
    for handled in ("timeout", "check_same_thread"):
        kwargs.pop(handled, None)

    async def connect() -> InlineSQLiteConnection:
        return await InlineSQLiteConnection.connect(
            *args, busy_timeout_ms=busy_timeout_ms, **kwargs
        )

    return connect
