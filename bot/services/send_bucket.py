"""One send rate for every instance of the bot: the global bucket in Redis.

Telegram counts a bot's messages per bot, not per process: two instances each pacing
themselves to 25/s send 50/s together and draw 429s. With REDIS_URL set, every instance's
delivery worker takes its send slots from one schedule in Redis: a Lua script (atomic in Redis)
keeps the time of the next free slot (GCRA) and hands out the next few slots, spaced
1/rate apart, to whoever asks. So all instances together send at most the rate, evenly spaced,
whatever their number. Redis's own clock (TIME) is the only clock compared across instances.

Per-chat limits (1/s private, 20/min group) stay in each instance's Pacer: a chat's messages
come from the outbox rows one worker claimed, so no two instances send to one chat at once,
short of a claim taken back after its lease ran out.

Without Redis there is no SendBucket and the Pacer's own bucket is the only one (one
instance). When Redis does not answer, the worker goes on with its local Pacer (and honours
Telegram's 429s) rather than stop sending; a warning says so, at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.services.flood import Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

CHUNK_SECONDS = 0.02
"""How many slots one instance takes per Redis call: this long's worth (at least one)."""
HORIZON_SECONDS = 0.1
"""How far ahead of now the schedule may be handed out, all instances together."""
STALE_SECONDS = 0.1
"""A slot this far in the past (the worker idled, the loop stalled) is dropped, not used late:
using old slots would add a burst on top of the rate."""
WARN_EVERY = 60.0

# KEYS[1]: the schedule. ARGV: interval (µs), slots wanted, horizon (µs), key's lifetime (ms).
# Returns {µs until the first slot, slots granted (0: come back after that long), first slot}.
# Whole microseconds throughout, formatted with %.0f: Lua's tostring would round them.
_RESERVE = """
local interval = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local ahead = tat - now
if ahead >= horizon then
  return {ahead - horizon + interval, 0, tat}
end
local count = math.floor((horizon - ahead) / interval)
if count < 1 then count = 1 end
if count > want then count = want end
redis.call('SET', KEYS[1], string.format('%.0f', tat + count * interval), 'PX', ARGV[4])
return {ahead, count, tat}
"""


@dataclass(frozen=True, slots=True)
class Grant:
    """What one reservation gave: `count` slots from `first` (Redis µs), `interval` apart."""

    first: int
    count: int
    interval: int
    ahead: float
    """Seconds from Redis's now to the first slot (with count 0: when to ask again)."""


class SendBucket:
    """The send schedule all instances share (Redis); one per process, used by its worker."""

    def __init__(
        self,
        redis: Redis,
        key: str,
        rate: float,
        *,
        clock: Clock = time.monotonic,
        chunk_seconds: float = CHUNK_SECONDS,
        horizon_seconds: float = HORIZON_SECONDS,
    ) -> None:
        """`rate` is the global limit in sends per second, shared by everyone using `key`."""
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a positive number, got {rate!r}")
        self._redis = redis
        self._key = key
        self._clock = clock
        # Rounded up: the slots are never closer than the rate allows.
        self._interval = math.ceil(1_000_000 / rate)
        self._chunk = max(1, math.floor(rate * chunk_seconds))
        self._horizon = max(round(horizon_seconds * 1_000_000), self._interval * (self._chunk + 1))
        self._script = redis.register_script(_RESERVE)
        # Imported here, not at the top: redis costs a single instance 6 MB it never uses.
        from redis.exceptions import RedisError  # noqa: PLC0415

        self._failures: tuple[type[BaseException], ...] = (RedisError, OSError)
        # This instance's reserved slots, on the local clock.
        self._slots: deque[float] = deque()
        self._warned_at: float | None = None

    @property
    def key(self) -> str:
        """The Redis key holding the schedule."""
        return self._key

    async def reserve(self, count: int) -> Grant:
        """Take up to `count` next slots of the shared schedule (at least one unless it is
        handed out a horizon ahead already: then none, and when to ask again)."""
        # Kept a while after the last slot, so an idle bot leaves no key behind for long.
        lifetime_ms = self._horizon // 1000 + 60_000
        ahead, granted, first = await self._script(
            keys=[self._key], args=[self._interval, count, self._horizon, lifetime_ms]
        )
        return Grant(int(first), int(granted), self._interval, int(ahead) / 1_000_000)

    async def next_slot(self) -> float:
        """The local clock time of this instance's next send slot, consumed.

        The caller sends at (not before) that time. When Redis does not answer, the answer is
        "now": the local Pacer alone paces until Redis is back.
        """
        now = self._clock()
        while self._slots and self._slots[0] < now - STALE_SECONDS:
            self._slots.popleft()
        while not self._slots:
            before = self._clock()
            try:
                grant = await self.reserve(self._chunk)
            except self._failures as exc:
                self._warn(exc)
                return self._clock()
            after = self._clock()
            # Redis's now lies between asking and the answer; the middle is the best guess.
            start = (before + after) / 2 + grant.ahead
            if grant.count == 0:
                # The others hold the next horizon's worth: ask again when there is room.
                await asyncio.sleep(grant.ahead)
                continue
            step = grant.interval / 1_000_000
            self._slots.extend(start + i * step for i in range(grant.count))
        return self._slots.popleft()

    def _warn(self, exc: BaseException) -> None:
        now = self._clock()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            logger.warning(
                "the shared send rate (Redis) is not available, pacing this instance alone: %s",
                type(exc).__name__,
            )

    async def close(self) -> None:
        """Drop the connections (a later use opens new ones)."""
        await self._redis.connection_pool.disconnect()


def bucket_key(bot_id: int, prefix: str = "mitmachbot") -> str:
    """The schedule's key: per bot, as Telegram's limit is (the bot's id, not its token), under
    REDIS_PREFIX like every key of the deployment."""
    return f"{prefix}:send-rate:{bot_id}"


def send_bucket(
    redis_url: str | None, bot_id: int, rate: float, *, prefix: str = "mitmachbot"
) -> SendBucket | None:
    """The shared bucket for REDIS_URL, or None without one (one instance, local pacing)."""
    if not redis_url:
        return None
    from redis.asyncio import Redis  # noqa: PLC0415

    return SendBucket(Redis.from_url(redis_url), bucket_key(bot_id, prefix), rate)
