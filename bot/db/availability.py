"""Telling "the database is unreachable or locked right now" from every other error.

Found by making the database unavailable (tests/e2e/test_db_outage.py, tests/unit/
test_db_availability.py), not guessed:

- SQLite, another process holding the write lock past the busy timeout: the BEGIN IMMEDIATE
  of bot.db.sqlite raises the driver's own ``sqlite3.OperationalError("database is locked")``
  (SQLITE_BUSY, not wrapped: the begin hook runs outside SQLAlchemy's statement machinery);
  updates queued for the one connection meanwhile get ``sqlalchemy.exc.TimeoutError``
  ("QueuePool limit ... connection timed out").
- PostgreSQL (asyncpg), database closed to connections (``ALLOW_CONNECTIONS false``):
  ``DBAPIError`` with SQLSTATE 55000 ("not currently accepting connections"), both for a new
  connection and for a pooled one whose pre-ping found it dead.
- PostgreSQL, connection terminated (``pg_terminate_backend``, a restart) during a statement:
  ``DBAPIError`` with ``connection_invalidated``, SQLSTATE 08003 caused by 57P01; between
  statements or at commit: ``InterfaceError`` "connection is closed", also invalidated.
- PostgreSQL not listening: a bare ``ConnectionRefusedError`` from asyncpg's connect,
  unwrapped by SQLAlchemy (likewise resets, DNS failures and connect timeouts).
- A pool with every connection busy for pool_timeout: ``sqlalchemy.exc.TimeoutError``.

A missing database or a wrong password are not included: they don't pass by themselves.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

# SQLSTATEs meaning "no connection now": class 08 (connection exception), the server shutting
# down, crashed or starting (57P01-57P03), too many connections (53300), and 55000 as PostgreSQL
# raises it for a database that does not accept connections (the code's other uses, such as
# currval before nextval, don't occur here).
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300", "55000"})
_UNAVAILABLE_CLASSES = ("08",)
# Modules whose bare OSError or TimeoutError means the database could not be reached (a network
# error from the Bot API arrives wrapped in aiogram's TelegramNetworkError instead).
_DRIVER_MODULES = ("asyncpg", "sqlalchemy.pool", "sqlalchemy.engine", "bot.db")


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what SQLAlchemy wrapped (``orig``) and the causes below, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) else None


def _is_sqlite_busy(error: BaseException) -> bool:
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        # The extended code's low byte is the primary one (SQLITE_BUSY_SNAPSHOT, ...).
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return "database is locked" in str(error)


def _raised_by_driver(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DRIVER_MODULES):
            return True
        traceback = traceback.tb_next
    return False


def is_database_unavailable(error: BaseException) -> bool:
    """True when `error` says the database can't be reached or is locked by someone else.

    Such an error passes by itself (a restart, a backup holding SQLite's write lock), so the
    work that failed is worth repeating; every other error is a fault to report.
    """
    if isinstance(error, sa_exc.TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (ConnectionError, socket.gaierror, TimeoutError)):
        return _raised_by_driver(error)
    if not isinstance(error, (sa_exc.DBAPIError, sqlite3.Error)):
        return False
    for cause in _causes(error):
        if _is_sqlite_busy(cause):
            return True
        state = _sqlstate(cause)
        if state is not None and (
            state in _UNAVAILABLE_STATES or state.startswith(_UNAVAILABLE_CLASSES)
        ):
            return True
    return False


def describe_unavailable(error: BaseException) -> str:
    """A short, data-free name for the log: class names and SQLSTATE, never SQL or parameters
    (SQLAlchemy's message carries the statement and its values, which may be a member's text).
    """
    names: list[str] = []
    for cause in _causes(error):
        state = _sqlstate(cause)
        name = type(cause).__name__
        if _is_sqlite_busy(cause):
            name += " (database is locked)"
        elif state is not None:
            name += f" ({state})"
        if name not in names:
            names.append(name)
    return " < ".join(names)
