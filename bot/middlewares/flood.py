"""Slowing down one member who floods the bot, without slowing anybody else.

Each member has a token bucket (kept as a theoretical arrival time, GCRA): `burst` updates at
once, then `rate` a second. An update beyond that waits until its turn, so it is still handled,
in order; one that would wait longer than `max_delay` is dropped (a pressed button still gets its
answer, so the client stops spinning). The member hears once per flood, in Telegram's language
for them (the member's stored choice is read later, by the i18n middleware). Only the flooding
member's updates sleep: every update is its own task, and this runs before the database session
is opened, so a waiting update holds no connection.

The bucket is per instance and in memory: a flood is a matter of seconds, and a restart ending
one early does no harm.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n

from bot.middlewares.logging import note_skipped
from bot.services.locales import resolve_locale
from bot.telegram.views import notice_caps as views

logger = logging.getLogger(__name__)

# What a member does by hand; joins, leaves and the bot's own status changes are not counted.
COUNTED = frozenset({"message", "edited_message", "callback_query", "inline_query"})
# Buckets of members idle long enough to be full again are forgotten every so many updates.
PRUNE_EVERY = 1024


@dataclass(slots=True)
class _Bucket:
    # When the bucket would be full again if nothing more came (theoretical arrival time).
    full_at: float
    # Whether the member has been told during this flood.
    told: bool = False


class FloodMiddleware(BaseMiddleware):
    """Outer update middleware: per member, `burst` updates at once and `rate` a second."""

    def __init__(
        self,
        *,
        burst: int,
        rate: float,
        max_delay: float,
        i18n: I18n,
        default_locale: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._max_delay = max_delay
        self._i18n = i18n
        self._default_locale = default_locale
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._seen = 0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Pass the update on now, after a wait, or (past the wait's bound) not at all."""
        assert isinstance(event, Update)  # registered on dp.update only
        user: User | None = data.get("event_from_user")
        if user is None or event.event_type not in COUNTED:
            return await handler(event, data)
        wait, first = self._take(user.id)
        if wait is None:
            note_skipped(data, "dropped")
            await self._drop(event, data)
            return UNHANDLED
        if wait > 0:
            if first:
                logger.info("flood from user=%s: updates wait their turn", user.id)
                await self._tell(data["bot"], user)
            await asyncio.sleep(wait)
        return await handler(event, data)

    def _take(self, user_id: int) -> tuple[float | None, bool]:
        """How long this update must wait (None: drop it), and whether it is the flood's first
        to wait. No await in here: buckets change only between two updates."""
        now = self._clock()
        self._prune(now)
        bucket = self._buckets.get(user_id)
        if bucket is None or bucket.full_at <= now:
            # Full again: any earlier flood is over.
            bucket = self._buckets[user_id] = _Bucket(full_at=now)
        wait = bucket.full_at - self._tolerance - now
        if wait > self._max_delay:
            return None, False
        bucket.full_at += self._interval
        if wait <= 0:
            return 0.0, False
        first = not bucket.told
        bucket.told = True
        return wait, first

    def _prune(self, now: float) -> None:
        self._seen += 1
        if self._seen % PRUNE_EVERY == 0:
            idle = [key for key, bucket in self._buckets.items() if bucket.full_at <= now]
            for key in idle:
                del self._buckets[key]

    async def _tell(self, bot: Bot, user: User) -> None:
        """The one notice of this flood, in the member's Telegram language."""
        locale = resolve_locale(
            None,
            user.language_code,
            available=self._i18n.available_locales,
            default=self._default_locale,
        )
        # The i18n middleware runs later: its context isn't set yet.
        with self._i18n.context(), self._i18n.use_locale(locale):
            text = views.slow_down()
        try:
            await bot.send_message(user.id, text)
        except TelegramAPIError as exc:
            # No private chat with this member (a flood in a group); the wait still applies.
            logger.info("could not tell user=%s about the flood: %s", user.id, exc)

    async def _drop(self, event: Update, data: dict[str, Any]) -> None:
        """A dropped button press is still answered, without a word: the notice was sent."""
        if event.callback_query is None:
            return
        try:
            await data["bot"].answer_callback_query(event.callback_query.id)
        except TelegramAPIError as exc:
            logger.info("could not answer a dropped callback: %s", exc)
