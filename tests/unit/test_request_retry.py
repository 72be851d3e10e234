"""The request middleware's retries, the shared 429 pause and the session's server errors."""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageText,
    GetMe,
    GetUpdates,
    SendMessage,
    TelegramMethod,
)

from bot.app import create_bot
from bot.db.session import current_session
from bot.middlewares.outage import NoteRequestMiddleware
from bot.middlewares.request import ReleaseBeforeRequestMiddleware, RetryRequestMiddleware
from bot.services.flood import FloodGate
from bot.services.pacing import Pacer, PacingLimits
from bot.settings import load_settings
from bot.telegram.retries import (
    Retries,
    RetryBounds,
    TelegramServerStatusError,
    may_retry,
    retries,
    unchanged,
)
from bot.telegram.session import BotApiSession

TOKEN = "123456:" + "A" * 35
FAST = RetryBounds(total_seconds=3.0, callback_seconds=1.0, base=0.01, cap=0.05)
SEND = SendMessage(chat_id=1, text="hi")
EDIT = EditMessageText(chat_id=1, message_id=2, text="hi")
ANSWER = AnswerCallbackQuery(callback_query_id="7")
NOT_MODIFIED = "Bad Request: message is not modified: specified new message content is the same"


def _server_error(method: TelegramMethod[Any], status: int) -> TelegramServerStatusError:
    return TelegramServerStatusError(method, "Bad Gateway", status)


def _network_error(method: TelegramMethod[Any], cause: BaseException) -> TelegramNetworkError:
    error = TelegramNetworkError(method=method, message=f"{type(cause).__name__}: {cause}")
    error.__cause__ = cause
    return error


def _refused() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="127.0.0.1", port=1, ssl=None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))  # type: ignore[arg-type]


class Telegram:
    """A make_request that answers with the queued errors first, then succeeds."""

    def __init__(self, *errors: Exception, result: Any = None) -> None:
        self.errors = list(errors)
        self.calls: list[tuple[str, float]] = []
        self.result = result

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self.calls.append((method.__api_method__, time.monotonic()))
        if self.errors:
            raise self.errors.pop(0)
        return self.result if self.result is not None else {"ok": method.__api_method__}


async def _call(
    middleware: RetryRequestMiddleware, telegram: Telegram, method: TelegramMethod[Any]
) -> Any:
    return await middleware(telegram, cast(Bot, None), method)


def _middleware(gate: FloodGate | None = None) -> RetryRequestMiddleware:
    return RetryRequestMiddleware(gate or FloodGate(), FAST)


async def test_a_direct_429_pauses_the_outbox_for_the_same_time() -> None:
    gate = FloodGate()
    pacer = Pacer(PacingLimits(), gate=gate)
    telegram = Telegram(TelegramRetryAfter(method=SEND, message="Too Many Requests", retry_after=1))
    task = asyncio.create_task(_call(_middleware(gate), telegram, SEND))
    await asyncio.sleep(0.05)
    # The reply got its 429: the outbox must not send either, for the same second.
    assert 0.85 < pacer.global_delay() <= 1.0
    assert pacer.paused_until == gate.paused_until
    assert await task == {"ok": "sendMessage"}
    [(_, first), (_, second)] = telegram.calls
    assert second - first >= 0.95


async def test_a_direct_call_waits_while_the_outbox_is_paused() -> None:
    gate = FloodGate()
    Pacer(PacingLimits(), gate=gate).pause(0.5)  # the outbox's 429
    telegram = Telegram()
    started = time.monotonic()
    await _call(_middleware(gate), telegram, SEND)
    [(_, at)] = telegram.calls
    assert at - started >= 0.45


async def test_a_pause_beyond_the_budget_is_not_waited_for() -> None:
    gate = FloodGate()
    gate.pause(30)
    telegram = Telegram()
    started = time.monotonic()
    await _call(_middleware(gate), telegram, SEND)  # tried at once instead of sleeping in vain
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    "error",
    [
        TelegramBadRequest(method=SEND, message="Bad Request: chat not found"),
        TelegramForbiddenError(method=SEND, message="Forbidden: bot was blocked by the user"),
        TelegramBadRequest(method=EDIT, message="Bad Request: message to edit not found"),
        TelegramAPIError(method=SEND, message="Conflict"),
    ],
)
async def test_4xx_answers_are_never_retried(error: TelegramAPIError) -> None:
    for method in (SEND, EDIT):
        telegram = Telegram(error)
        with pytest.raises(type(error)):
            await _call(_middleware(), telegram, method)
        assert len(telegram.calls) == 1


async def test_not_modified_is_done_for_every_edit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    telegram = Telegram(TelegramBadRequest(method=EDIT, message=NOT_MODIFIED))
    result = await _call(_middleware(), telegram, EDIT)
    assert result is True
    assert unchanged(result)
    assert len(telegram.calls) == 1
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert not unchanged(SimpleNamespace(message_id=2))  # a real edit answers the Message


@pytest.mark.parametrize(
    ("method", "error", "retried"),
    [
        (SEND, _server_error(SEND, 502), True),
        (SEND, _server_error(SEND, 503), True),
        (SEND, _server_error(SEND, 504), True),
        # 500: Telegram may have sent it already; a second reply would be a duplicate.
        (SEND, _server_error(SEND, 500), False),
        (SEND, TelegramServerError(method=SEND, message="status unknown"), False),
        (SEND, _network_error(SEND, _refused()), True),
        (SEND, _network_error(SEND, aiohttp.ConnectionTimeoutError()), True),
        (SEND, _network_error(SEND, TimeoutError()), False),
        (SEND, _network_error(SEND, aiohttp.ServerDisconnectedError()), False),
        (EDIT, _server_error(EDIT, 500), True),
        (EDIT, _network_error(EDIT, TimeoutError()), True),
        (ANSWER, _network_error(ANSWER, aiohttp.ServerDisconnectedError()), True),
        (GetUpdates(), _server_error(GetUpdates(), 502), True),  # (it never gets here)
    ],
)
def test_what_may_be_retried(method: TelegramMethod[Any], error: Exception, retried: bool) -> None:
    assert may_retry(method.__api_method__, error) is retried


async def test_transient_errors_are_retried_with_backoff() -> None:
    telegram = Telegram(_server_error(SEND, 502), _network_error(SEND, _refused()))
    assert await _call(_middleware(), telegram, SEND) == {"ok": "sendMessage"}
    assert len(telegram.calls) == 3


async def test_a_send_that_may_have_arrived_is_not_sent_again() -> None:
    telegram = Telegram(_network_error(SEND, TimeoutError()))
    with pytest.raises(TelegramNetworkError):
        await _call(_middleware(), telegram, SEND)
    assert len(telegram.calls) == 1


async def test_the_whole_retry_is_bounded() -> None:
    bounds = RetryBounds(total_seconds=0.3, base=0.05, factor=1.0, cap=0.05, jitter=0.0)
    telegram = Telegram(*[_server_error(SEND, 502) for _ in range(100)])
    started = time.monotonic()
    with pytest.raises(TelegramServerError):
        await RetryRequestMiddleware(FloodGate(), bounds)(telegram, cast(Bot, None), SEND)
    assert time.monotonic() - started < 0.5
    assert 4 <= len(telegram.calls) <= 8
    # A 429 that asks for longer than the budget allows goes straight to the caller.
    telegram = Telegram(TelegramRetryAfter(method=SEND, message="Too Many", retry_after=5))
    with pytest.raises(TelegramRetryAfter):
        await RetryRequestMiddleware(FloodGate(), bounds)(telegram, cast(Bot, None), SEND)
    assert len(telegram.calls) == 1


async def test_a_callback_answer_gives_up_silently(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # Longer than the callback's budget: Telegram would drop the answer anyway.
    telegram = Telegram(TelegramRetryAfter(method=ANSWER, message="Too Many", retry_after=5))
    assert await _call(_middleware(), telegram, ANSWER) is True
    assert len(telegram.calls) == 1
    assert "callback query not answered" in caplog.text
    # Answered late (or by an attempt that seemed to fail): not an error either.
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    telegram = Telegram(TelegramBadRequest(method=ANSWER, message=too_old))
    assert await _call(_middleware(), telegram, ANSWER) is True
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_the_outbox_sends_once_but_still_pauses_everybody() -> None:
    gate = FloodGate()
    telegram = Telegram(TelegramRetryAfter(method=SEND, message="Too Many", retry_after=2))
    with retries(Retries.NONE), pytest.raises(TelegramRetryAfter):
        await _call(_middleware(gate), telegram, SEND)
    assert len(telegram.calls) == 1
    assert 1.9 < gate.remaining() <= 2.0
    for error in (_server_error(SEND, 502), _network_error(SEND, _refused())):
        telegram = Telegram(error)
        with retries(Retries.NONE), pytest.raises(type(error)):
            await _call(_middleware(), telegram, SEND)
        assert len(telegram.calls) == 1


async def test_transient_mode_hands_429_to_the_caller_but_retries_5xx() -> None:
    gate = FloodGate()
    gate.pause(0.3)
    telegram = Telegram(_server_error(EDIT, 502))
    started = time.monotonic()
    with retries(Retries.TRANSIENT):
        await _call(_middleware(gate), telegram, EDIT)
        assert len(telegram.calls) == 2
        assert time.monotonic() - started < 0.25  # the pause is not waited for
        telegram = Telegram(TelegramRetryAfter(method=EDIT, message="Too Many", retry_after=1))
        with pytest.raises(TelegramRetryAfter):
            await _call(_middleware(gate), telegram, EDIT)
    assert gate.remaining() > 0.9


@pytest.mark.parametrize("method", [GetUpdates(), GetMe(), DeleteWebhook()])
async def test_polling_and_start_up_pass_untouched(method: TelegramMethod[Any]) -> None:
    telegram = Telegram(_server_error(method, 502))
    with pytest.raises(TelegramServerError):
        await _call(_middleware(), telegram, method)
    assert len(telegram.calls) == 1


async def test_the_transaction_ends_before_any_wait() -> None:
    """ReleaseBefore runs outside the retries: committed before the shared pause is waited."""
    bot = create_bot(load_settings(bot_token=TOKEN, database_url="sqlite+aiosqlite:///x.db"))
    try:
        middlewares = bot.session.middleware[:]
        # Between the two, the outage retry only notes that a request was made.
        assert [type(m) for m in middlewares] == [
            ReleaseBeforeRequestMiddleware,
            NoteRequestMiddleware,
            RetryRequestMiddleware,
        ]
        retry = cast(RetryRequestMiddleware, middlewares[2])
        retry.gate.pause(0.2)
        events: list[str] = []

        class Session:
            def in_transaction(self) -> bool:
                return "commit" not in events

            async def commit(self) -> None:
                events.append("commit")

        async def request(_bot: Bot, _method: TelegramMethod[Any]) -> bool:
            events.append(f"request after {retry.gate.remaining():.1f} s pause")
            return True

        token = current_session.set(cast(Any, Session()))
        try:
            chain = bot.session.middleware.wrap_middlewares(request)
            assert await chain(bot, SEND) is True
        finally:
            current_session.reset(token)
        assert events == ["commit", "request after 0.0 s pause"]
    finally:
        await bot.session.close()


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        (503, '{"ok": false, "error_code": 503, "description": "Service Unavailable"}'),
    ],
)
def test_the_session_keeps_the_status_of_server_errors(status: int, content: str) -> None:
    session = BotApiSession()
    with pytest.raises(TelegramServerStatusError) as caught:
        session.check_response(cast(Bot, None), SEND, status, content)
    assert caught.value.status == status
    assert may_retry("sendMessage", caught.value)
