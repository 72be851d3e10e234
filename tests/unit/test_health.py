"""Readiness rules (bot.health) with clocks set by hand, and the database check on SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe, GetUpdates
from aiogram.types import WebhookInfo

from bot.db.engine import create_engine
from bot.health import PollWatchMiddleware, Readiness, Verdict, database_problem

URL = "https://bot.example.org/tg"
NOW = 1_800_000_000.0


class Clock:
    """Seconds set by hand, for both the monotonic and the wall clock."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def readiness(clock: Clock, wall: Clock | None = None, max_age: float = 120.0) -> Readiness:
    return Readiness(max_age=max_age, clock=clock, wall_clock=wall or Clock(NOW))


# --- polling --------------------------------------------------------------------------------


def test_polling_is_ready_from_its_start_until_the_first_poll_is_overdue() -> None:
    clock = Clock()
    ready = readiness(clock, max_age=5)
    assert ready.polling_problem() == "polling has not started"
    ready.poll_started(10)
    clock.now += 15
    assert ready.polling_problem() is None
    ready.poll_ended(ok=False)
    assert ready.polling_problem() == "no successful getUpdates for 15 s"
    ready.poll_started(10)
    ready.poll_ended(ok=True)
    assert ready.polling_problem() is None


def test_polling_goes_stale_after_max_age_without_an_answer() -> None:
    clock = Clock()
    ready = readiness(clock)
    ready.poll_started(10)
    ready.poll_ended(ok=True)
    clock.now += 120
    assert ready.polling_problem() is None
    clock.now += 1
    assert ready.polling_problem() == "no successful getUpdates for 121 s"


def test_failed_polls_dont_count_as_signs_of_life() -> None:
    clock = Clock()
    ready = readiness(clock)
    ready.poll_started(10)
    ready.poll_ended(ok=True)
    for _ in range(30):
        clock.now += 5
        ready.poll_started(10)
        ready.poll_ended(ok=False)
    assert ready.polling_problem() == "no successful getUpdates for 150 s"


def test_a_long_poll_in_flight_extends_the_allowance_by_its_timeout() -> None:
    clock = Clock()
    ready = readiness(clock, max_age=2)
    ready.poll_started(0)
    ready.poll_ended(ok=True)
    # Waiting for updates that don't come isn't a stall...
    ready.poll_started(10)
    clock.now += 11.5
    assert ready.polling_problem() is None
    # ...but a poll that hangs past its own timeout and the allowance is.
    clock.now += 1
    assert ready.polling_problem() == "no successful getUpdates for 12 s"
    ready.poll_ended(ok=True)
    assert ready.polling_problem() is None


# --- webhook --------------------------------------------------------------------------------


class Telegram:
    """getWebhookInfo answers as set; counts the calls."""

    def __init__(self, info: WebhookInfo | Exception) -> None:
        self.info = info
        self.calls = 0

    async def __call__(self) -> WebhookInfo:
        self.calls += 1
        if isinstance(self.info, Exception):
            raise self.info
        return self.info


def info(url: str = URL, error_at: float | None = None) -> WebhookInfo:
    return WebhookInfo(
        url=url,
        has_custom_certificate=False,
        pending_update_count=3,
        last_error_date=None if error_at is None else datetime.fromtimestamp(error_at, UTC),
        last_error_message=None if error_at is None else "Connection refused",
    )


async def test_a_recent_update_makes_the_webhook_ready_without_asking_telegram() -> None:
    clock = Clock()
    ready = readiness(clock)
    telegram = Telegram(info(url=""))
    ready.update_received()
    clock.now += 100
    assert await ready.webhook_problem(telegram, URL) is None
    assert telegram.calls == 0


async def test_a_quiet_webhook_asks_telegram_once_a_minute() -> None:
    clock = Clock()
    ready = readiness(clock)
    telegram = Telegram(info())
    assert await ready.webhook_problem(telegram, URL) is None
    clock.now += 59
    telegram.info = info(error_at=NOW - 10)
    assert await ready.webhook_problem(telegram, URL) is None  # still the cached answer
    assert telegram.calls == 1
    clock.now += 1
    problem = await ready.webhook_problem(telegram, URL)
    assert problem == "Telegram reported a failed webhook delivery 10 s ago"
    assert telegram.calls == 2
    # A bad answer is asked again after a few seconds, not a minute.
    telegram.info = info()
    clock.now += 4.9
    assert await ready.webhook_problem(telegram, URL) == problem
    clock.now += 0.1
    assert await ready.webhook_problem(telegram, URL) is None
    assert telegram.calls == 3


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (info(error_at=NOW - 121), None),
        (info(error_at=NOW - 5), "Telegram reported a failed webhook delivery 5 s ago"),
        (info(url=""), "the webhook is not registered with Telegram"),
        (info(url="https://elsewhere.example/tg"), "the webhook is not registered with Telegram"),
        (TelegramNetworkError(GetMe(), "timeout"), "Telegram's getWebhookInfo failed"),
    ],
)
async def test_what_telegram_says_about_the_webhook(
    answer: WebhookInfo | Exception, problem: str | None
) -> None:
    ready = readiness(Clock())
    result = await ready.webhook_problem(Telegram(answer), URL)
    assert result == problem
    # Nothing from Telegram's answer (its URL, its error text) is passed on.
    assert "example" not in (result or "")
    assert "refused" not in (result or "")


async def test_an_old_update_no_longer_vouches_for_the_webhook() -> None:
    clock = Clock()
    ready = readiness(clock)
    ready.update_received()
    clock.now += 121
    telegram = Telegram(info(url=""))
    assert await ready.webhook_problem(telegram, URL) is not None
    assert telegram.calls == 1


# --- the verdict ----------------------------------------------------------------------------


async def test_the_verdict_names_each_check_and_concurrent_requests_share_it() -> None:
    ready = readiness(Clock())
    calls = 0
    release = asyncio.Event()

    async def database() -> str | None:
        nonlocal calls
        calls += 1
        await release.wait()
        return "unavailable: OperationalError (database is locked)"

    async def telegram() -> str | None:
        return None

    waiting = [asyncio.create_task(ready.verdict(database, telegram)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    verdicts = await asyncio.gather(*waiting)
    assert calls == 1
    assert all(v == verdicts[0] for v in verdicts)
    assert not verdicts[0].ready
    assert verdicts[0].as_json() == {
        "ready": False,
        "database": "unavailable: OperationalError (database is locked)",
        "telegram": "ok",
    }
    assert Verdict({"database": "ok", "telegram": "ok"}).as_json()["ready"] is True


# --- getUpdates reported by the session middleware ------------------------------------------


async def test_the_session_middleware_reports_polls_and_nothing_else() -> None:
    clock = Clock()
    ready = readiness(clock)
    middleware = PollWatchMiddleware(ready)
    bot = cast(Bot, None)
    seen: list[str] = []

    async def answer(_bot: Bot, method: Any) -> Any:
        seen.append(type(method).__name__)
        assert ready._poll is not None or not isinstance(method, GetUpdates)
        return []

    async def fail(_bot: Bot, method: Any) -> Any:
        raise TelegramNetworkError(method, "connection reset")

    await middleware(answer, bot, GetMe())
    assert ready.last_poll is None
    await middleware(answer, bot, GetUpdates(timeout=10))
    assert ready.last_poll == clock.now
    clock.now += 5
    with pytest.raises(TelegramNetworkError):
        await middleware(fail, bot, GetUpdates(timeout=10))
    assert ready.last_poll == clock.now - 5
    assert ready._poll is None
    assert seen == ["GetMe", "GetUpdates"]


# --- the database check ---------------------------------------------------------------------


async def test_sqlite_check_fails_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    sqlite3.connect(path).close()
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert await database_problem(engine) is None
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        problem = await database_problem(engine, within=0.2)
        assert problem == "unavailable: OperationalError (database is locked)"
        holder.execute("ROLLBACK")
        holder.close()
        assert await database_problem(engine) is None
    finally:
        await engine.dispose()


async def test_a_missing_sqlite_file_is_not_created_by_the_check(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        problem = await database_problem(engine)
        assert problem is not None
        assert problem.startswith("unavailable: OperationalError")
        assert not path.exists()
    finally:
        await engine.dispose()
