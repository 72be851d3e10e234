"""No member action lost to a passing database outage.

An update that fails because the database is unreachable or locked (bot.db.availability) is
handled again, with a fresh session, after an exponential backoff with jitter, until
DB_RETRY_SECONDS have passed since it arrived; only then does the error handler apologise,
once. Every member's updates run one after the other (a lock per member, held across all
attempts), so a later action never overtakes one waiting for the database, while other members
are not held up by it.

Where the waiting update is kept: in memory, in this process, in both modes. In webhook mode
the webhook (bot.web) answers once an update was handled but after ANSWER_WITHIN seconds at the
latest, so an update waiting for the database is answered 200 and its wait goes on here; the
alternative, answering 5xx so that Telegram redelivers, hands the retry to a backoff we
can't see or bound (Telegram's redelivery schedule is undocumented) and blocks the bot's whole
update queue behind the one update meanwhile: every other member would wait too, in no order
we control. Persisting the update is impossible while the database is down. Kept here, the wait
is bounded, ordered per member and visible in the log; the price is that a process killed while
updates wait loses them (a shutdown gives each one last attempt, then the apology; see `stop`).

What is not repeated: an attempt that already made a Bot API request (a reply went out, a
button was answered) or committed the handler's own change is not retried, because running the
handler again would send the reply twice or apply the change twice (a toggle would flip back).
It fails at once and the member gets the apology; what was committed stays committed, and no
one was told "saved" before it was (ReleaseBeforeRequestMiddleware commits before every
request). In practice the outage starts between two transactions: an update arriving during it
fails at its first statement, before any of that happened, and is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.backoff import Backoff
from bot.db.availability import describe_unavailable, is_database_unavailable
from bot.db.session import current_session
from bot.services.locales import resolve_locale

if TYPE_CHECKING:
    from bot.metrics import Metrics

logger = logging.getLogger(__name__)

# Backoff between attempts: 0.5 s doubling up to 15 s, each +-25 % so that the updates that
# failed together don't all come back in the same instant.
FIRST_DELAY = 0.5
MAX_DELAY = 15.0
JITTER = 0.25


@dataclass(slots=True)
class UpdateAttempt:
    """What the attempts at one update share; `data["update_attempt"]` during handling."""

    number: int = 0
    # An earlier attempt ran the claim of the update id, so a "seen before" is its own claim.
    claim_ran: bool = False
    # The bookkeeping committed in this attempt: later commits are the handler's.
    past_bookkeeping: bool = False
    # The attempt made a Bot API request or committed the handler's change: not repeatable.
    effects: bool = False
    # What the effect was, for the log.
    effect: str = field(default="")

    def note_effect(self, what: str) -> None:
        """Remember that this attempt did something a repetition would do again."""
        if not self.effects:
            self.effects = True
            self.effect = what


# The attempt of the update being handled, for the request middleware and the commit listener.
current_attempt: ContextVar[UpdateAttempt | None] = ContextVar("current_attempt", default=None)


def _after_commit(session: Session) -> None:
    attempt = current_attempt.get()
    if attempt is None or not attempt.past_bookkeeping:
        return
    shared = current_session.get()
    if shared is not None and shared.sync_session is session:
        attempt.note_effect("commit")


_listening = False


def _listen_for_commits() -> None:
    # Once per process, on the Session class: the listener does nothing outside an update.
    global _listening  # noqa: PLW0603 - a process-wide event registration, done once
    if not _listening:
        event.listen(Session, "after_commit", _after_commit)
        _listening = True


class NoteRequestMiddleware(BaseRequestMiddleware):
    """Bot session middleware: marks the update's attempt as having made a Bot API request.

    Registered after ReleaseBeforeRequestMiddleware, so a commit that fails before the request
    (the database went away) leaves the attempt repeatable. On a repeated attempt, "query is
    too old" in answer to a button's answerCallbackQuery is no error (Telegram lets a callback
    query expire while the update waited).
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Note the request, then make it."""
        attempt = current_attempt.get()
        if attempt is None:
            return await make_request(bot, method)
        attempt.note_effect(type(method).__name__)
        if attempt.number == 1 or not isinstance(method, AnswerCallbackQuery):
            return await make_request(bot, method)
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            # After a wait for the database the button's query may have expired; the press
            # was handled all the same, and the member's app stopped its spinner long ago.
            if "query is too old" not in error.message:
                raise
            logger.info("the callback query expired while its update waited for the database")
            # What answerCallbackQuery returns; the chain passes results, not Response objects,
            # whatever aiogram's annotation says.
            return cast(Response[TelegramType], True)


@dataclass(slots=True)
class _LockEntry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class MemberLocks:
    """One asyncio lock per member (or chat), dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _LockEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable | None) -> AsyncIterator[None]:
        """Hold the key's lock (first come, first served); None: no lock."""
        if key is None:
            yield
            return
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _LockEntry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]


def _lock_key(data: dict[str, Any]) -> Hashable | None:
    user: User | None = data.get("event_from_user")
    if user is not None:
        return ("user", user.id)
    chat: Chat | None = data.get("event_chat")
    if chat is not None:
        return ("chat", chat.id)
    return None


class DatabaseRetryMiddleware(BaseMiddleware):
    """Outer update middleware before DbSessionMiddleware: see the module's docstring.

    `retry_for` is DB_RETRY_SECONDS (0: no retry). The lock per member is taken for every
    update, not only for waiting ones, because a later update can't know that an earlier one is
    about to fail.
    """

    def __init__(
        self,
        *,
        retry_for: float,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        metrics: Metrics | None = None,
    ) -> None:
        self._retry_for = retry_for
        self._metrics = metrics
        self._backoff = Backoff(base=first_delay, cap=max_delay, jitter=JITTER)
        self._locks = MemberLocks()
        self._stopping = asyncio.Event()
        self._waiting = 0
        _listen_for_commits()

    @property
    def waiting(self) -> int:
        """Updates waiting for the database right now (between attempts)."""
        return self._waiting

    @property
    def locks(self) -> int:
        """Members with an update in hand (for tests: entries are dropped when idle)."""
        return len(self._locks)

    def stop(self) -> None:
        """Shutting down: updates waiting for the database get one last attempt now, and the
        apology when that fails too, instead of waiting on.

        An attempt already waiting inside the database (SQLite's busy timeout) can't be cut
        short; if it outlasts the shutdown grace, the update is dropped with the log line
        "stopping with N updates still being handled" (bot.app).
        """
        self._stopping.set()

    def resume(self) -> None:
        """Starting (again): wait for the database as usual."""
        self._stopping.clear()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Handle the update, again and again while the database is unavailable (bounded)."""
        assert isinstance(event, Update)  # registered on dp.update only
        deadline = time.monotonic() + self._retry_for
        async with self._locks.hold(_lock_key(data)):
            attempt = data["update_attempt"] = UpdateAttempt()
            first_failure: float | None = None
            while True:
                attempt.number += 1
                attempt.past_bookkeeping = False
                token = current_attempt.set(attempt)
                try:
                    result = await handler(event, data)
                except Exception as error:
                    if not is_database_unavailable(error):
                        raise
                    if attempt.effects:
                        logger.warning(
                            "database unavailable after update %s made a %s; not repeating it",
                            event.update_id,
                            attempt.effect,
                        )
                        if self._metrics is not None:
                            self._metrics.database_give_ups.inc()
                        raise
                    now = time.monotonic()
                    if now >= deadline or self._stopping.is_set():
                        self._give_up(event, data, first_failure, error)
                        if self._metrics is not None:
                            self._metrics.database_give_ups.inc()
                        raise
                    if first_failure is None:
                        first_failure = now
                        logger.warning(
                            "database unavailable, retrying update %s for up to %.1f s: %s",
                            event.update_id,
                            deadline - now,
                            describe_unavailable(error),
                        )
                    await self._pause(min(self._backoff.delay(attempt.number), deadline - now))
                    if self._metrics is not None:
                        self._metrics.database_retries.inc()
                    continue
                finally:
                    current_attempt.reset(token)
                if first_failure is not None:
                    logger.info(
                        "update %s handled after waiting %.1f s for the database (%d attempts)",
                        event.update_id,
                        time.monotonic() - first_failure,
                        attempt.number,
                    )
                return result

    async def _pause(self, seconds: float) -> None:
        self._waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=max(0.0, seconds))
        finally:
            self._waiting -= 1

    def _give_up(
        self,
        event: Update,
        data: dict[str, Any],
        first_failure: float | None,
        error: BaseException,
    ) -> None:
        waited = 0.0 if first_failure is None else time.monotonic() - first_failure
        logger.warning(
            "database still unavailable%s, giving up update %s after %.1f s: %s",
            " at shutdown" if self._stopping.is_set() else "",
            event.update_id,
            waited,
            describe_unavailable(error),
        )
        # The apology in the member's language even when the database never told us theirs:
        # Telegram's language is the best guess left.
        i18n: I18n | None = data.get("i18n")
        user: User | None = data.get("event_from_user")
        if "locale" not in data and i18n is not None:
            data["locale"] = resolve_locale(
                None,
                user.language_code if user is not None else None,
                available=i18n.available_locales,
                default=i18n.default_locale,
            )
