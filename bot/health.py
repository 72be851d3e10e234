"""Readiness: whether the running bot can do its work now (/readyz), as rules that read alone.

/healthz (liveness) only shows that the event loop answers. /readyz asks more:

- The database answers ``SELECT 1`` within DB_CHECK_SECONDS. On SQLite the check takes the
  write lock (BEGIN IMMEDIATE), as every update's transaction does: another process holding it
  stops updates, so it stops readiness too.
- Polling: the last successful getUpdates (before the first: polling's start) is at most
  READY_MAX_AGE_SECONDS old. A long poll in flight extends that by its own timeout: waiting for
  updates that don't come is no stall.
- Webhook: an update arrived within READY_MAX_AGE_SECONDS, or else (a quiet night is no fault)
  Telegram's getWebhookInfo, asked at most once a minute, shows the webhook registered with no
  delivery error within READY_MAX_AGE_SECONDS.

The answer names each check's state in a few words: no URL, token, id or name of anyone.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import WebhookInfo
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.availability import describe_unavailable, is_database_unavailable

logger = logging.getLogger(__name__)

# A database that takes longer than this for SELECT 1 can't serve members either.
DB_CHECK_SECONDS = 3.0
# Telegram's view of the webhook is asked for at most this often, however often /readyz is.
WEBHOOK_INFO_TTL = 60.0
# ...and a bad answer (not registered yet, a recent error) again after this.
WEBHOOK_RECHECK = 5.0
OK = "ok"

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Ready or not, and each check's state ("ok" or why not)."""

    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return all(state == OK for state in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        """The body of /readyz."""
        return {"ready": self.ready, **self.checks}


async def database_problem(engine: AsyncEngine, within: float = DB_CHECK_SECONDS) -> str | None:
    """Why the database can't serve now, or None when it answers within `within` seconds."""
    path = _sqlite_file(engine) if engine.dialect.name == "sqlite" else None
    try:
        if path is not None:
            await asyncio.to_thread(_sqlite_check, path, within)
        else:
            await asyncio.wait_for(_select_one(engine), within)
    except TimeoutError:
        return f"no answer within {within:g} s"
    except Exception as exc:
        if not is_database_unavailable(exc) and not isinstance(exc, sqlite3.Error | OSError):
            raise
        return f"unavailable: {describe_unavailable(exc)}"
    return None


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def _sqlite_file(engine: AsyncEngine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _sqlite_check(path: str, timeout: float) -> None:
    # A connection of its own, not the pool's: SQLite's wait for the lock happens inside the
    # driver and can't be cut short, so the pool's connections (busy timeout: 30 s) would keep
    # waiting after the check gave up. mode=rw: a missing file is an error, not a new database.
    connection = sqlite3.connect(
        f"file:{urllib.parse.quote(path)}?mode=rw", uri=True, timeout=timeout, isolation_level=None
    )
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("SELECT 1")
        connection.execute("ROLLBACK")
    finally:
        connection.close()


@dataclass(slots=True)
class _Poll:
    started: float
    timeout: float


@dataclass(slots=True)
class Readiness:
    """What the running bot reports (polls, webhook updates) and the rules for /readyz.

    `clock` is monotonic, `wall_clock` Unix time (Telegram's last_error_date is one).
    """

    max_age: float
    clock: Clock = time.monotonic
    wall_clock: Clock = time.time
    webhook_info_ttl: float = WEBHOOK_INFO_TTL
    last_poll: float | None = field(default=None, init=False)
    first_poll: float | None = field(default=None, init=False)
    last_update: float | None = field(default=None, init=False)
    _poll: _Poll | None = field(default=None, init=False)
    _info: tuple[float, WebhookInfo | None] | None = field(default=None, init=False)
    _running: asyncio.Future[Verdict] | None = field(default=None, init=False)
    _was_ready: bool | None = field(default=None, init=False)
    _info_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    # --- what the bot reports -----------------------------------------------------------------

    def poll_started(self, timeout: float) -> None:
        """A getUpdates went out; Telegram may hold it for up to `timeout` seconds."""
        self._poll = _Poll(self.clock(), timeout)
        if self.first_poll is None:
            self.first_poll = self._poll.started

    def poll_ended(self, *, ok: bool) -> None:
        """The getUpdates came back, with updates (or none) when `ok`, else with an error."""
        self._poll = None
        if ok:
            self.last_poll = self.clock()

    def update_received(self) -> None:
        """Telegram delivered an update to the webhook."""
        self.last_update = self.clock()

    # --- the rules ----------------------------------------------------------------------------

    def polling_problem(self) -> str | None:
        """Why polling looks stalled, or None."""
        # Until the first answer, polling's start counts: the first long poll may wait for
        # updates just like any later one.
        since = self.last_poll if self.last_poll is not None else self.first_poll
        if since is None:
            return "polling has not started"
        allowance = self.max_age + (self._poll.timeout if self._poll is not None else 0.0)
        age = self.clock() - since
        if age > allowance:
            return f"no successful getUpdates for {age:.0f} s"
        return None

    async def webhook_problem(
        self, fetch_info: Callable[[], Awaitable[WebhookInfo]], url: str
    ) -> str | None:
        """Why webhook updates may not be arriving, or None.

        `fetch_info` asks Telegram (getWebhookInfo); `url` is the webhook we registered. A good
        answer is kept for `webhook_info_ttl`, a bad one only for WEBHOOK_RECHECK, so readiness
        returns soon after, say, the webhook's registration at start-up.
        """
        if self.last_update is not None and self.clock() - self.last_update <= self.max_age:
            return None
        async with self._info_lock:
            if self._info is not None:
                fetched, info = self._info
                problem = self._judge(info, url)
                keep = self.webhook_info_ttl if problem is None else WEBHOOK_RECHECK
                if self.clock() - fetched < min(keep, self.webhook_info_ttl):
                    return problem
            try:
                info = await asyncio.wait_for(fetch_info(), DB_CHECK_SECONDS)
            except Exception as exc:
                logger.warning("readiness: getWebhookInfo failed: %s", type(exc).__name__)
                info = None
            self._info = (self.clock(), info)
            return self._judge(info, url)

    def _judge(self, info: WebhookInfo | None, url: str) -> str | None:
        if info is None:
            return "Telegram's getWebhookInfo failed"
        if info.url != url:
            return "the webhook is not registered with Telegram"
        if info.last_error_date is not None:
            age = self.wall_clock() - info.last_error_date.timestamp()
            if age <= self.max_age:
                return f"Telegram reported a failed webhook delivery {max(age, 0):.0f} s ago"
        return None

    async def verdict(
        self,
        database: Callable[[], Awaitable[str | None]],
        telegram: Callable[[], Awaitable[str | None]],
    ) -> Verdict:
        """Both checks; requests arriving while a check runs share its result."""
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._evaluate(database, telegram))
        return await asyncio.shield(self._running)

    async def _evaluate(
        self,
        database: Callable[[], Awaitable[str | None]],
        telegram: Callable[[], Awaitable[str | None]],
    ) -> Verdict:
        db, tg = await asyncio.gather(database(), telegram())
        verdict = Verdict({"database": db or OK, "telegram": tg or OK})
        # One line when readiness changes, not one per probe.
        if verdict.ready != self._was_ready:
            if verdict.ready:
                logger.info("ready")
            else:
                logger.warning(
                    "not ready: %s",
                    ", ".join(f"{k}: {v}" for k, v in verdict.checks.items() if v != OK),
                )
            self._was_ready = verdict.ready
        return verdict


class PollWatchMiddleware(BaseRequestMiddleware):
    """Bot session middleware: tells Readiness when each getUpdates goes out and comes back."""

    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Pass every request on; note a getUpdates' start and success."""
        if not isinstance(method, GetUpdates):
            return await make_request(bot, method)
        self.readiness.poll_started(float(method.timeout or 0))
        ok = False
        try:
            response = await make_request(bot, method)
            ok = True
            return response
        finally:
            self.readiness.poll_ended(ok=ok)
