"""Per-member locks in Redis that outlive no dead instance by more than a few seconds.

aiogram's RedisEventIsolation takes a lock that expires 60 s after it was taken, whatever its
holder does: an instance killed while handling a member's update leaves that member waiting a
minute on every other instance, and a handler that runs longer than a minute (an update
waiting out a database outage, bot.middlewares.outage) loses its lock to the member's next
update. Here the lock lives LOCK_TTL seconds and its holder renews it every third of that
while it holds it, so the lock lasts exactly as long as the work, and a killed holder's lock
is free within LOCK_TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

logger = logging.getLogger(__name__)

LOCK_TTL = 10.0


class RenewedRedisEventIsolation(RedisEventIsolation):
    """RedisEventIsolation whose locks are renewed while held (see the module docstring)."""

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        """Hold the member's lock for the block, renewing it every LOCK_TTL / 3 seconds."""
        redis_key = self.key_builder.build(key, "lock")
        async with self.redis.lock(name=redis_key, timeout=LOCK_TTL, lock_class=Lock) as held:
            keeper = asyncio.create_task(_renew(held), name="member lock")
            try:
                yield None
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper


async def _renew(lock: Lock) -> None:
    while True:
        await asyncio.sleep(LOCK_TTL / 3)
        try:
            await lock.reacquire()
        except (LockError, RedisError, OSError) as exc:
            # Redis away or the lock expired meanwhile: the next update of this member may
            # overlap with this one; the database's own guards hold regardless.
            logger.warning("could not renew a member's lock: %s", exc)
            return
