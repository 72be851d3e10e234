"""One pause for everything the bot sends: Telegram's "retry after" shared by all senders.

Telegram answers a bot that sends too fast with 429 and `retry_after` seconds. The outbox's
Pacer and the request middleware that retries direct replies (bot.middlewares.request) hold
the same FloodGate: a 429 seen by either pauses both for the same time, so the outbox doesn't
run into the limit a reply just hit, and a reply doesn't hammer Telegram while the outbox waits.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Monotonic seconds, e.g. time.monotonic."""


class FloodGate:
    """Until when nobody may send; a pause extends, never shortens, a running one.

    `wait` sleeps on the event loop's clock, so it is only meaningful with a real monotonic
    clock; tests that drive a Pacer's time by hand never call it.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        """Open: not paused."""
        self._clock = clock
        self._paused_until = clock()
        # How many 429s paused it, for the metrics (bot.metrics reads it at scrape time).
        self.pauses = 0

    @property
    def clock(self) -> Clock:
        """The clock `paused_until` is measured on."""
        return self._clock

    @property
    def paused_until(self) -> float:
        """Clock time before which nobody may send (a past time when not paused)."""
        return self._paused_until

    def remaining(self) -> float:
        """Seconds the pause still lasts, 0.0 when open."""
        return max(0.0, self._paused_until - self._clock())

    def pause(self, seconds: float) -> None:
        """Stop all sending for `seconds` (a 429); extends, never shortens, a running pause."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(
                f"pause needs a finite, non-negative number of seconds, got {seconds!r}"
            )
        self.pauses += 1
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def wait(self, *, deadline: float | None = None) -> bool:
        """Sleep until the pause is over (also one extended meanwhile); True when open.

        With `deadline` (a clock time), a pause lasting beyond it is not waited for at all:
        False at once, so the caller can decide what to do instead of sleeping in vain.
        """
        while (left := self._paused_until - self._clock()) > 0:
            if deadline is not None and self._paused_until > deadline:
                return False
            await asyncio.sleep(left)
        return True
