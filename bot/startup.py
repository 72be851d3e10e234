"""Start-up against what may not be ready yet: the database and the Bot API.

What waiting can't mend (a database that doesn't exist, a role or password PostgreSQL refuses,
a file that isn't a SQLite database, a token Telegram refuses) ends start-up at once with one
line and exit code 2. What it can (connection refused, a host name that doesn't resolve yet, no
answer in time, PostgreSQL still starting, Telegram's 5xx and 429) is tried again after 1 s,
doubling to 30 s, with a log line per attempt, for at most STARTUP_WAIT_SECONDS; after that one
line and exit code 1, so `docker compose up` may start the bot before PostgreSQL is ready.

The lines name the setting to look at; the traceback goes to the log at DEBUG only.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.backoff import Backoff

if TYPE_CHECKING:
    from aiogram import Bot
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.settings import Settings

EXIT_CONFIG = 2
EXIT_NOT_READY = 1
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
# One attempt may take this long; asyncpg's own connect timeout (60 s) and aiohttp's request
# timeout would otherwise let a host that drops packets use up the whole wait in one attempt.
ATTEMPT_TIMEOUT = 10.0

# PostgreSQL states that pass: "the database system is starting up" / "is shutting down",
# crash recovery, too many connections; the whole class 08 (connection exceptions) as well.
TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "53400"})
# SQLite: another process holds the write lock (e.g. a `migrate` running at the same time).
TRANSIENT_SQLITE_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class StartupError(Exception):
    """Start-up can't go on: str() is the one line shown, `exit_code` what the process returns."""

    def __init__(self, line: str, *, exit_code: int = EXIT_CONFIG) -> None:
        super().__init__(line)
        self.exit_code = exit_code


class ListenError(RuntimeError):
    """The web server can't listen where WEBHOOK_LISTEN says (port taken, no such address)."""

    def __init__(self, message: str, *, in_use: bool) -> None:
        super().__init__(message)
        self.in_use = in_use


@dataclass(frozen=True)
class Problem:
    """What a failed attempt means: whether waiting may help, and a one-line description."""

    transient: bool
    reason: str
    retry_after: float = 0.0


def _first_line(value: object) -> str:
    lines = str(value).strip().splitlines()
    return lines[0].rstrip(".") if lines else ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {ATTEMPT_TIMEOUT:g} s"
    reason = _first_line(exc)
    return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def database_problem(exc: BaseException) -> Problem | None:
    """What a database error means at start-up; None when it isn't one (a bug: let it raise).

    SQLAlchemy wraps the driver's error (asyncpg's twice), so the chain is searched for the
    first error that tells: a PostgreSQL SQLSTATE, a SQLite result code, or a network error.
    """
    for error in _chain(exc):
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate:
            transient = sqlstate.startswith("08") or sqlstate in TRANSIENT_SQLSTATES
            return Problem(transient, _first_line(error))
        if isinstance(error, sqlite3.Error):
            code = getattr(error, "sqlite_errorcode", None)
            return Problem(code is not None and code & 0xFF in TRANSIENT_SQLITE_CODES, str(error))
        if isinstance(error, OSError | TimeoutError):
            # Refused, reset, unreachable, a name not resolving (yet): in a compose set-up the
            # database's container may simply not be there yet.
            return Problem(True, _describe(error))
    return None


def telegram_problem(exc: BaseException) -> Problem | None:
    """What a Bot API error means at start-up; None when it isn't one."""
    # Imported here: importing aiogram takes seconds, which `migrate` and a database that
    # refuses at once needn't wait for.
    from aiogram.exceptions import (  # noqa: PLC0415
        ClientDecodeError,
        TelegramAPIError,
        TelegramNetworkError,
        TelegramRetryAfter,
        TelegramServerError,
    )

    if isinstance(exc, TelegramRetryAfter):
        return Problem(True, _first_line(exc.message), float(exc.retry_after))
    if isinstance(exc, TelegramNetworkError | TelegramServerError):
        return Problem(True, _describe(exc))
    if isinstance(exc, TelegramAPIError):
        # 401 (token refused), 404 (no Bot API at that URL, or the token's bot is gone), 400.
        return Problem(False, _first_line(exc.message))
    if isinstance(exc, ClientDecodeError):
        # Wrong TELEGRAM_API_URL, or a reverse proxy whose Bot API server isn't up yet (its
        # 502 page): only waiting tells them apart.
        return Problem(True, "the answer is not the Bot API's JSON")
    if isinstance(exc, OSError | TimeoutError):
        return Problem(True, _describe(exc))
    return None


async def wait_until_ready(
    what: str,
    attempt: Callable[[], Awaitable[_T]],
    classify: Callable[[BaseException], Problem | None],
    *,
    wait_seconds: float,
    refused: Callable[[str], str],
) -> _T:
    """Run `attempt` until it succeeds, retrying transient problems for up to `wait_seconds`.

    `what` names the service in the log and in the final line; `refused` turns a permanent
    problem's reason into the one line shown. Raises StartupError: exit code 2 for a permanent
    problem, 1 when the wait is used up.
    """
    deadline = time.monotonic() + wait_seconds
    backoff = Backoff(base=FIRST_DELAY, cap=MAX_DELAY)
    number = 1
    while True:
        try:
            async with asyncio.timeout(ATTEMPT_TIMEOUT):
                return await attempt()
        except Exception as exc:
            problem = classify(exc)
            if problem is None:
                raise
            logger.debug("start-up: %s attempt %d failed", what, number, exc_info=True)
            if not problem.transient:
                raise StartupError(refused(problem.reason)) from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                waited = (
                    f"within {wait_seconds:g} s (STARTUP_WAIT_SECONDS)"
                    if number > 1
                    else ("and STARTUP_WAIT_SECONDS is 0")
                )
                raise StartupError(
                    f"Not ready: {what} did not answer {waited}: {problem.reason}.",
                    exit_code=EXIT_NOT_READY,
                ) from exc
            pause = min(max(backoff.delay(number), problem.retry_after), remaining)
            logger.warning(
                "%s not ready (attempt %d: %s); next attempt in %.1f s, giving up after %g s",
                what,
                number,
                problem.reason,
                pause,
                wait_seconds,
            )
            await asyncio.sleep(pause)
            number += 1


def masked_url(url: str) -> str:
    """A database URL with its password hidden, for lines and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _database_line(settings: Settings, reason: str) -> str:
    return f"Configuration error: DATABASE_URL {masked_url(settings.database_url)}: {reason}."


async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def wait_for_database(engine: AsyncEngine, settings: Settings) -> None:
    """Connect once, waiting up to STARTUP_WAIT_SECONDS for a database that isn't up yet."""
    await wait_until_ready(
        f"the database {masked_url(settings.database_url)}",
        lambda: _ping(engine),
        database_problem,
        wait_seconds=settings.startup_wait_seconds,
        refused=lambda reason: _database_line(settings, reason),
    )


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """Turn a database error inside the block into one line (no waiting: see wait_for_database).

    For the steps after the first connection (migrations) and for commands that don't wait.
    """
    try:
        yield
    except Exception as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        logger.debug("start-up: database error", exc_info=True)
        if problem.transient:
            raise StartupError(
                f"Not ready: the database {masked_url(settings.database_url)}: {problem.reason}.",
                exit_code=EXIT_NOT_READY,
            ) from exc
        raise StartupError(_database_line(settings, problem.reason)) from exc


async def wait_for_telegram(bot: Bot, settings: Settings) -> None:
    """getMe, waiting up to STARTUP_WAIT_SECONDS for a Bot API that doesn't answer yet.

    bot.me() keeps the answer, so aiogram's polling start asks no second time.
    """
    await wait_until_ready(
        f"the Bot API at {settings.telegram_api_url}",
        bot.me,
        telegram_problem,
        wait_seconds=settings.startup_wait_seconds,
        refused=lambda reason: (
            f"Configuration error: BOT_TOKEN or TELEGRAM_API_URL: the Bot API at "
            f"{settings.telegram_api_url} refuses getMe: {reason}."
        ),
    )


async def telegram_call(
    what: str, call: Callable[[], Awaitable[_T]], settings: Settings, *, setting: str
) -> _T:
    """A start-up call to the Bot API (setWebhook, deleteWebhook), waited for like getMe;
    a refusal names `setting` as the one to look at."""
    return await wait_until_ready(
        f"the Bot API at {settings.telegram_api_url} ({what})",
        call,
        telegram_problem,
        wait_seconds=settings.startup_wait_seconds,
        refused=lambda reason: (
            f"Configuration error: {setting}: Telegram refuses {what}: {reason}."
        ),
    )
