"""Exponential backoff with jitter: the one curve every retry in the bot waits by.

Sends (bot.services.pacing.RetryPolicy), requests (bot.telegram.retries.RetryBounds), updates
during a database outage (bot.middlewares.outage) and start-up (bot.startup) differ in their
numbers and in when they give up, not in the shape of the wait.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class Backoff:
    """After n failed attempts wait base * factor**(n - 1) seconds, at most `cap`, times a
    random factor in [1 - jitter, 1 + jitter] so that many waiters don't return at once."""

    base: float
    cap: float
    factor: float = 2.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        """Reject curves that would never wait, shrink, or grow without bound."""
        if not (math.isfinite(self.base) and self.base > 0):
            raise ValueError(f"base must be a positive number, got {self.base!r}")
        if not (math.isfinite(self.factor) and self.factor >= 1):
            raise ValueError(f"factor must be at least 1, got {self.factor!r}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter!r}")
        if not (math.isfinite(self.cap) and self.cap >= self.base):
            raise ValueError(f"cap must be at least base ({self.base!r}), got {self.cap!r}")

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after `attempts` (>= 1) failed attempts."""
        try:
            raw = self.base * self.factor ** min(attempts - 1, 1024)
        except OverflowError:
            raw = self.cap
        spread = (rng or _RNG).uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1.0
        return min(self.cap, raw) * spread
