"""The KV's name, read on most replies, cached per database.

The name comes from the imported setup (the `kv_profile` row) and changes only when a setup is
imported, yet the greeting and the consent question show it: reading it per update cost a
statement and, after the bookkeeping's commit, a second transaction. It is kept per engine
(tests and tools use several databases in one process) and dropped when this process writes
the row (mapper events, so every way of writing it is covered, the ORM's unit of work included).
Another instance that imports a setup is seen here within TTL_SECONDS.
"""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.kv_setup import PROFILE_ID
from models import KvProfile

# How long another instance's setup import may take to show here.
TTL_SECONDS = 60.0

# Engine -> (monotonic expiry, the stored name or None when no setup was imported).
_names: WeakKeyDictionary[Engine, tuple[float, str | None]] = WeakKeyDictionary()


async def kv_name(session: AsyncSession, fallback: str) -> str:
    """The KV's name from the imported setup, else `fallback` (the KV_NAME setting)."""
    engine = session.get_bind().engine
    cached = _names.get(engine)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        name = cached[1]
    else:
        profile = await session.get(KvProfile, PROFILE_ID)
        name = profile.name if profile is not None else None
        _names[engine] = (now + TTL_SECONDS, name)
    return name if name is not None else fallback


def forget(engine: Engine) -> None:
    """Drop the cached name of `engine`'s database (it was written)."""
    _names.pop(engine, None)


def _written(_mapper: Any, connection: Any, _target: KvProfile) -> None:
    forget(connection.engine)


for _event_name in ("after_insert", "after_update", "after_delete"):
    event.listen(KvProfile, _event_name, _written)
