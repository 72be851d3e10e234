"""Which failed Bot API requests may be made again, for how long, and who retries them.

The request middleware (bot.middlewares.request) retries every request outside the outbox;
this module holds its rules, free of the session, so they read (and are tested) on their own.

What may be retried depends on whether Telegram surely did not act on the request:

- 429 Too Many Requests: Telegram refused the request and says when to come back. Always.
- 502 Bad Gateway, 503 Service Unavailable: the front end couldn't hand the request to the
  Bot API server, or the server refused it while starting or overloaded; nothing was done.
  504 Gateway Timeout is the one doubtful case: the Bot API server may have acted after the
  front end gave up. It is retried all the same, because for a reply a rare duplicate is far
  better than the member getting nothing at all (they can't ask Telegram to redeliver).
- The connection could not be made (refused, DNS, connect timeout): nothing reached Telegram.
- Everything else that went wrong on the way (a read timeout, the connection dropped after the
  request went out, 500 Internal Server Error) may have come after Telegram acted. A message
  sent (sendMessage, copyMessage, ...) could arrive twice, so those are only retried for
  requests where doing it twice does no harm: edits (the second gets "message is not
  modified", which counts as done), answering a callback query (the second gets "query is too
  old", which is given up silently), and reading calls (get...).
- 400, 401, 403, 404, 409, 413: about the request itself; sending it again changes nothing.
  Never retried.
"""

from __future__ import annotations

import contextlib
import enum
import math
import random
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.methods import TelegramMethod

from bot.backoff import Backoff

CALLBACK_ANSWER = "answerCallbackQuery"
EDITS = frozenset(
    {"editMessageText", "editMessageReplyMarkup", "editMessageCaption", "editMessageMedia"}
)
NOT_MODIFIED = "message is not modified"
CALLBACK_TOO_OLD = "query is too old"

# Polling has its own backoff (aiogram's), and start-up (getMe, the webhook) decides by itself
# what a failure means.
NOT_RETRIED = frozenset({"getUpdates", "getMe", "setWebhook", "deleteWebhook", "close", "logOut"})

# Requests that do no harm when they arrive twice (see the module's docstring).
_HARMLESS_TWICE = EDITS | {
    CALLBACK_ANSWER,
    "setMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "setMyName",
    "setMyDescription",
    "setMyShortDescription",
}
# The front end's answers that mean the Bot API server never got the request.
_NOT_ACTED = frozenset({502, 503, 504})

# The connection was never made, so the request never left.
_CONNECT_FAILED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class Retries(enum.Enum):
    """Who retries the requests made in the current context."""

    ALL = "all"
    """The middleware: waits for the shared pause, retries 429 and transient errors."""
    TRANSIENT = "transient"
    """The middleware retries transient errors; a 429 goes straight to the caller, which
    holds back by itself (a meeting post's chat, a progress edit skipped till the next)."""
    NONE = "none"
    """The caller: the request is made once (the outbox, with its own pacing and retries)."""


_current: ContextVar[Retries] = ContextVar("telegram_retries", default=Retries.ALL)


def current_retries() -> Retries:
    """Who retries requests made now."""
    return _current.get()


@contextlib.contextmanager
def retries(mode: Retries) -> Iterator[None]:
    """Requests made inside (in this task) are retried as `mode` says."""
    token = _current.set(mode)
    try:
        yield
    finally:
        _current.reset(token)


@dataclass(frozen=True, slots=True)
class RetryBounds:
    """How long one request may take with all its retries, and the backoff between them."""

    total_seconds: float = 60.0
    callback_seconds: float = 8.0
    """Telegram drops a callback query's answer after about 10 s ("query is too old")."""
    base: float = 0.5
    factor: float = 2.0
    cap: float = 8.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        """Reject bounds that would never wait or never end."""
        for name in ("total_seconds", "callback_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        self.curve()  # raises for a base, factor, jitter or cap that makes no curve

    def curve(self) -> Backoff:
        """The backoff between one request's attempts."""
        return Backoff(base=self.base, cap=self.cap, factor=self.factor, jitter=self.jitter)

    def budget(self, method: str) -> float:
        """Seconds a request of `method` may take in all."""
        return self.callback_seconds if method == CALLBACK_ANSWER else self.total_seconds

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after `attempts` failed attempts, jittered."""
        return self.curve().delay(attempts, rng)


def may_retry(method: str, exc: Exception) -> bool:
    """Whether a request of `method` that failed with `exc` (not a 429) may be made again."""
    harmless = method in _HARMLESS_TWICE or method.startswith("get")
    if isinstance(exc, TelegramServerError):
        return harmless or server_status(exc) in _NOT_ACTED
    if isinstance(exc, TelegramNetworkError):
        return harmless or isinstance(exc.__cause__, _CONNECT_FAILED)
    return False


def unchanged(edited: object) -> bool:
    """Whether an edit of a chat message changed nothing ("message is not modified").

    Telegram answers a chat message's edit with the edited Message; the request middleware
    answers True for an edit that changed nothing (True is also Telegram's answer for inline
    messages, which the bot doesn't edit).
    """
    return edited is True


def server_status(exc: TelegramServerError) -> int | None:
    """The HTTP status of a server error, where the session recorded it (bot.telegram.session)."""
    return exc.status if isinstance(exc, TelegramServerStatusError) else None


class TelegramServerStatusError(TelegramServerError):
    """A 5xx answer with its HTTP status, which aiogram's TelegramServerError leaves out."""

    def __init__(self, method: TelegramMethod[Any], message: str, status: int) -> None:
        """The error as aiogram would raise it, plus `status`."""
        super().__init__(method=method, message=message)
        self.status = status
