"""DatabaseRetryMiddleware: retried with backoff, in order per member, bounded, never twice."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Update, User
from sqlalchemy import func, select

from bot.db.session import SessionPool
from bot.i18n import create_i18n
from bot.middlewares.database import BookkeepingMiddleware, DbSessionMiddleware
from bot.middlewares.outage import DatabaseRetryMiddleware, NoteRequestMiddleware, current_attempt
from bot.settings import SettingsError, load_settings
from models import ProcessedUpdate

Handler = Callable[[Any, dict[str, Any]], Awaitable[Any]]


def _locked() -> sqlite3.OperationalError:
    return sqlite3.OperationalError("database is locked")


def _middleware(retry_for: float = 10.0) -> DatabaseRetryMiddleware:
    return DatabaseRetryMiddleware(retry_for=retry_for, first_delay=0.01, max_delay=0.04)


def _data(user_id: int) -> dict[str, Any]:
    return {"event_from_user": User(id=user_id, is_bot=False, first_name="M", language_code="en")}


class Flaky:
    """A handler that fails with "database is locked" for the first `failures[update_id]`
    calls of each update, then records the update as handled."""

    def __init__(self, failures: dict[int, int]) -> None:
        self.failures = dict(failures)
        self.calls: list[int] = []
        self.handled: list[int] = []

    async def __call__(self, event: Update, _data: dict[str, Any]) -> str:
        self.calls.append(event.update_id)
        await asyncio.sleep(0)
        if self.failures.get(event.update_id, 0) > 0:
            self.failures[event.update_id] -= 1
            raise _locked()
        self.handled.append(event.update_id)
        return "handled"


async def test_retried_in_order_per_member_without_holding_up_others() -> None:
    middleware = _middleware()
    handler = Flaky({1: 3})
    results = await asyncio.gather(
        middleware(handler, Update(update_id=1), _data(100)),
        middleware(handler, Update(update_id=2), _data(100)),
        middleware(handler, Update(update_id=3), _data(200)),
    )
    assert results == ["handled"] * 3
    # The other member went first; the same member's later update waited for the earlier one.
    assert handler.handled == [3, 1, 2]
    assert handler.calls.count(1) == 4
    assert handler.calls.count(2) == 1
    assert middleware.locks == 0  # no lock left behind


async def test_past_the_bound_the_error_reaches_the_error_handler() -> None:
    middleware = _middleware(retry_for=0.2)
    handler = Flaky({1: 1000, 2: 1000})
    started = time.monotonic()
    outcomes = await asyncio.gather(
        middleware(handler, Update(update_id=1), _data(100)),
        middleware(handler, Update(update_id=2), _data(100)),
        return_exceptions=True,
    )
    elapsed = time.monotonic() - started
    assert all(isinstance(outcome, sqlite3.OperationalError) for outcome in outcomes)
    # The bound counts from arrival: the update that waited behind the first one gets one
    # last attempt, not a bound of its own.
    assert 0.2 <= elapsed < 1.0
    assert handler.calls.count(1) > 2
    assert handler.calls.count(2) <= 2
    assert middleware.locks == 0


async def test_no_retry_setting_fails_at_once() -> None:
    middleware = _middleware(retry_for=0)
    handler = Flaky({1: 1})
    with pytest.raises(sqlite3.OperationalError):
        await middleware(handler, Update(update_id=1), _data(100))
    assert handler.calls == [1]


async def test_other_errors_are_not_retried() -> None:
    middleware = _middleware()
    calls = 0

    async def broken(_event: Update, _data: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await middleware(broken, Update(update_id=1), _data(100))
    assert calls == 1


async def test_an_attempt_that_replied_is_not_repeated() -> None:
    middleware = _middleware()
    note = NoteRequestMiddleware()
    calls = 0

    async def replies_then_fails(_event: Update, _data: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1

        async def telegram(_bot: Any, _method: Any) -> bool:
            return True

        await note(telegram, None, SendMessage(chat_id=1, text="saved"))  # type: ignore[arg-type]
        raise _locked()

    with pytest.raises(sqlite3.OperationalError):
        await middleware(replies_then_fails, Update(update_id=1), _data(100))
    assert calls == 1


async def test_shutdown_ends_the_wait() -> None:
    middleware = DatabaseRetryMiddleware(retry_for=60, first_delay=30, max_delay=30)
    handler = Flaky({1: 1000})
    task = asyncio.create_task(middleware(handler, Update(update_id=1), _data(100)))
    await asyncio.sleep(0.1)  # the first attempt fails at once; then the 30 s pause
    assert middleware.waiting == 1
    middleware.stop()
    with pytest.raises(sqlite3.OperationalError):
        await asyncio.wait_for(task, timeout=2)
    # One last attempt after the stop, then the apology's turn.
    assert handler.calls == [1, 1]


async def test_an_expired_callback_query_after_a_wait_is_no_error() -> None:
    note = NoteRequestMiddleware()
    answer = AnswerCallbackQuery(callback_query_id="7")

    async def too_old(_bot: Any, method: Any) -> bool:
        raise TelegramBadRequest(method, "Bad Request: query is too old and response timeout")

    middleware = _middleware()
    handler = Flaky({1: 1})
    seen: list[Any] = []

    async def answers(event: Update, data: dict[str, Any]) -> Any:
        await handler(event, data)
        seen.append(await note(too_old, None, answer))  # type: ignore[arg-type]
        return "handled"

    assert await middleware(answers, Update(update_id=1), _data(100)) == "handled"
    assert seen == [True]
    # On a first attempt the same error is the handler's to deal with.
    token = current_attempt.set(None)
    try:
        with pytest.raises(TelegramBadRequest):
            await note(too_old, None, answer)  # type: ignore[arg-type]
    finally:
        current_attempt.reset(token)


async def test_the_retry_takes_its_own_claim_for_its_own(session_pool: SessionPool) -> None:
    """The bookkeeping committed the update id, then the handler failed: the retry runs."""
    i18n = create_i18n("de")
    retry = _middleware()
    sessions = DbSessionMiddleware(session_pool)
    bookkeeping = BookkeepingMiddleware(admin_ids=(), i18n=i18n)
    handler = Flaky({1: 1})

    async def chain(event: Update, data: dict[str, Any]) -> Any:
        async def after_session(event: Update, data: dict[str, Any]) -> Any:
            return await bookkeeping(handler, event, data)

        return await sessions(after_session, event, data)

    assert await retry(chain, Update(update_id=1), _data(100)) == "handled"
    assert handler.calls == [1, 1]
    # A real redelivery of the same update is still a duplicate.
    assert await retry(chain, Update(update_id=1), _data(100)) is None
    assert handler.calls == [1, 1]
    async with session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DB_RETRY_SECONDS", "-1"),
        ("DB_RETRY_SECONDS", "five minutes"),
        ("SQLITE_BUSY_TIMEOUT_SECONDS", "0"),
    ],
)
def test_the_settings_name_themselves_when_malformed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("BOT_TOKEN", "123456789:" + "A" * 35)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"^Configuration error: {variable} is malformed"):
        load_settings()


def test_the_settings_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DB_RETRY_SECONDS", "SQLITE_BUSY_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_TOKEN", "123456789:" + "A" * 35)
    settings = load_settings()
    assert settings.db_retry_seconds == 300
    assert settings.sqlite_busy_timeout_seconds == 30
