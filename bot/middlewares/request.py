"""The Bot session's request middlewares: no database transaction is held across a request,
and what Telegram refuses for a while (429, 5xx, a lost connection) is tried again."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.db.session import current_session
from bot.services.flood import FloodGate
from bot.telegram.retries import (
    CALLBACK_ANSWER,
    CALLBACK_TOO_OLD,
    EDITS,
    NOT_MODIFIED,
    NOT_RETRIED,
    Retries,
    RetryBounds,
    current_retries,
    may_retry,
)

if TYPE_CHECKING:
    from bot.metrics import Metrics

logger = logging.getLogger(__name__)


class ReleaseBeforeRequestMiddleware(BaseRequestMiddleware):
    """Commit the update's open transaction before every Bot API request.

    A transaction held across network I/O would hold SQLite's write lock (every transaction
    takes it, see bot.db.sqlite) and PostgreSQL row locks for as long as Telegram takes to
    answer, serialising all other updates behind it. Committing first also means a member is
    never told "saved" before it is.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """End the current update's transaction, then make the request."""
        session = current_session.get()
        if session is not None and session.in_transaction():
            await session.commit()
        return await make_request(bot, method)


class RetryRequestMiddleware(BaseRequestMiddleware):
    """Retry what Telegram refused for a while; treat "message is not modified" as done.

    Every request outside the outbox passes here (the outbox makes its own under
    `retries(Retries.NONE)`): it waits while the shared FloodGate is paused, pauses it on a 429
    (so the outbox holds back too) and tries again after `retry_after`; transient failures are
    tried again with a jittered exponential backoff, where Telegram surely did not act (see
    bot.telegram.retries). A request and its retries take at most `RetryBounds.budget`;
    answering a callback query, which Telegram drops after about ten seconds, gets the short
    budget and is given up silently (with a log line) after it.

    Registered after ReleaseBeforeRequestMiddleware, so it runs inside it: the update's
    transaction is committed before the first attempt, and no transaction is open while this
    waits. getUpdates, and getMe and the webhook calls of start-up, pass untouched
    (NOT_RETRIED): polling has its own backoff, start-up its own judgement.
    """

    def __init__(
        self,
        gate: FloodGate,
        bounds: RetryBounds | None = None,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """`gate` is the pause shared with the outbox's Pacer; `metrics` counts the retries."""
        self.gate = gate
        self.metrics = metrics
        self.bounds = bounds or RetryBounds()
        # Jitter only spreads retries apart; it needs no cryptographic strength.
        self._rng = rng or random.Random()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Make the request, retried as the current context allows (see bot.telegram.retries)."""
        name = method.__api_method__
        if name in NOT_RETRIED:
            return await make_request(bot, method)
        mode = current_retries()
        if mode is Retries.NONE:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.gate.pause(exc.retry_after)
                raise
        clock = self.gate.clock
        deadline = clock() + self.bounds.budget(name)
        attempts = 0
        while True:
            # A pause beyond the budget isn't waited for: the request is tried now instead
            # (many 429s are about one chat), and a 429 on it goes to the caller.
            if mode is Retries.ALL:
                await self.gate.wait(deadline=deadline)
            attempts += 1
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.gate.pause(exc.retry_after)
                if mode is Retries.TRANSIENT or clock() + exc.retry_after > deadline:
                    return self._give_up(name, exc, attempts)
                logger.info("%s: rate limited, again in %s s", name, exc.retry_after)
                self._note_retry(name, "rate_limited")
            except TelegramBadRequest as exc:
                if not self._settled(name, exc, attempts):
                    raise
                return cast("Response[TelegramType]", True)
            except (TelegramServerError, TelegramNetworkError) as exc:
                if not may_retry(name, exc):
                    raise
                delay = self.bounds.backoff(attempts, self._rng)
                if clock() + delay > deadline:
                    return self._give_up(name, exc, attempts)
                logger.info("%s failed (%s), again in %.1f s", name, exc, delay)
                self._note_retry(name, "error")
                await asyncio.sleep(delay)

    def _note_retry(self, name: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.request_retried(name, reason)

    @staticmethod
    def _settled(name: str, exc: TelegramBadRequest, attempts: int) -> bool:
        """Whether a 400 means the request's purpose is met after all (then answered True)."""
        description = exc.message.lower()
        if name in EDITS and NOT_MODIFIED in description:
            # The message already shows this: done, whoever pressed twice. aiogram's result
            # for an edit is the Message or True (see bot.telegram.retries.unchanged).
            return True
        if name == CALLBACK_ANSWER and CALLBACK_TOO_OLD in description:
            # Late (or answered by a first attempt that seemed to fail): nobody waits for it.
            logger.info("callback query not answered after %d attempts: %s", attempts, exc)
            return True
        return False

    @staticmethod
    def _give_up(name: str, exc: TelegramAPIError, attempts: int) -> Response[TelegramType]:
        """A callback answer is dropped silently (True, as Telegram would answer); any other
        request's last error goes to the caller."""
        if name != CALLBACK_ANSWER:
            raise exc
        logger.info("callback query not answered after %d attempts: %s", attempts, exc)
        return cast("Response[TelegramType]", True)
