"""Claiming update ids, so a redelivered update runs no handler twice, and none is lost.

Each update is claimed before its handler runs: a row naming the process handling it (its
owner, bot.services.leases.Holder.id). Once the handler finished, the row is marked done (in
batches, see UpdateLedger). Telegram redelivers an update whose webhook answer it did not get:
the instance was killed while handling it, or the answer was lost. Who gets the redelivery
decides by the claim (`resolve_duplicate`):

- done (or claimed before owners were recorded): a duplicate, skipped;
- not done and its owner is alive: being handled right now; the webhook answers 503 so that
  Telegram asks again later (by then it is done, or its owner is gone);
- not done and its owner is gone: taken over with a compare-and-set on the owner, and handled.

An owner is alive while it holds a lease in the database (the instance lease, or with
REDIS_URL its own presence lease, both renewed every 20 s) and, on this host, its pid runs;
so a process killed on this host is known gone at once, one on another host once its lease
expired (at most bot.app.INSTANCE_LEASE).

The done mark is written up to a second late (one UPDATE per second, not one per update on
the hot path). That widens nothing: Telegram redelivers only what was not answered, and the
webhook answers after the handler; a process killed after a handler but before its answer
could have its update handled twice either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.availability import describe_unavailable, is_database_unavailable
from bot.db.dialect import dialect_statement
from bot.db.session import SessionPool
from bot.services.leases import Holder, gone_from_this_host, this_process
from models import Lease, ProcessedUpdate
from models.base import utcnow

logger = logging.getLogger(__name__)

# Telegram redelivers for at most a day (webhook retries, unconfirmed getUpdates offsets).
REMEMBER_FOR = timedelta(hours=24)
# Done marks are written this often; ids per statement stay well under every bind limit.
FLUSH_EVERY = 1.0
FLUSH_CHUNK = 500


def claim_statement(insert: Any) -> Any:
    """INSERT of an update id that does nothing when it is there (`insert` is the dialect's)."""
    return insert(ProcessedUpdate).on_conflict_do_nothing(index_elements=["update_id"])


async def claim_update(
    session: AsyncSession, update_id: int, now: datetime, *, owner: str | None = None
) -> bool:
    """Record the update id as being handled by `owner` (this process unless given); True
    when it is new, False when it was claimed before (see `resolve_duplicate`).

    The insert is atomic, so two instances racing for one update cannot both win. The caller
    commits.
    """
    connection = await session.connection()
    result = await connection.execute(
        dialect_statement(session, claim_statement),
        {"update_id": update_id, "received_at": now, "owner": owner or this_process().id},
    )
    return bool(result.rowcount)


@dataclass(slots=True)
class Outcome:
    """What the webhook answers for an update, filled in while it is handled
    (`data["update_outcome"]`): `busy` when another live instance is handling it."""

    busy: bool = False


class Duplicate(enum.Enum):
    """What to do with an update whose id was claimed before."""

    SKIP = "skip"  # handled (or being handled here): nothing to do
    BUSY = "busy"  # being handled by a live instance: ask Telegram to try again later
    TAKEN_OVER = "taken_over"  # its instance is gone: claimed for this one, handle it


async def owner_alive(session: AsyncSession, owner: str, now: datetime, *, me: Holder) -> bool:
    """Whether the process `owner` (a Holder.id) still runs, as `me` sees it: it holds an
    unexpired lease and, on `me`'s host, its pid is alive (which tells at once)."""
    if owner == me.id:
        return True
    other = Holder.parse(owner)
    if other is not None and gone_from_this_host(other.host, other.pid, me):
        return False
    held = await session.scalar(
        select(exists().where(Lease.holder == owner, Lease.expires_at > now))
    )
    return bool(held)


async def resolve_duplicate(
    session: AsyncSession,
    update_id: int,
    now: datetime,
    *,
    handling_here: bool,
    holder: Holder | None = None,
) -> Duplicate:
    """Decide about an update whose claim failed (see the module docstring).

    `handling_here`: this process is handling the update right now. A takeover is a
    compare-and-set in the session's transaction; the caller commits it (or rolls back).
    """
    holder = holder or this_process()
    me = holder.id
    row = (
        await session.execute(
            select(ProcessedUpdate.owner, ProcessedUpdate.done_at).where(
                ProcessedUpdate.update_id == update_id
            )
        )
    ).one_or_none()
    if row is None or row.owner is None or row.done_at is not None:
        return Duplicate.SKIP
    if row.owner == me:
        return Duplicate.BUSY if handling_here else Duplicate.SKIP
    if await owner_alive(session, row.owner, now, me=holder):
        return Duplicate.BUSY
    taken = await session.execute(
        update(ProcessedUpdate)
        .where(
            ProcessedUpdate.update_id == update_id,
            ProcessedUpdate.owner == row.owner,
            ProcessedUpdate.done_at.is_(None),
        )
        .values(owner=me, received_at=now)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:
        # Another instance took it over a moment before.
        return Duplicate.BUSY
    logger.warning("update %s taken over from %s, which is gone", update_id, row.owner)
    return Duplicate.TAKEN_OVER


async def mark_done(session: AsyncSession, update_ids: Iterable[int], now: datetime) -> None:
    """Mark these updates' claims done. The caller commits."""
    ids = sorted(set(update_ids))
    for index in range(0, len(ids), FLUSH_CHUNK):
        await session.execute(
            update(ProcessedUpdate)
            .where(ProcessedUpdate.update_id.in_(ids[index : index + FLUSH_CHUNK]))
            .values(done_at=now)
            .execution_options(synchronize_session=False)
        )


class UpdateLedger:
    """This process's updates in hand: which it is handling, and which finished but are not
    marked done in the database yet (written every FLUSH_EVERY seconds by `run`, and by
    `flush` at shutdown)."""

    def __init__(self, pool: SessionPool, *, every: float = FLUSH_EVERY) -> None:
        self._pool = pool
        self._every = every
        self._handling: dict[int, int] = {}
        self._finished: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def handling(self, update_id: int) -> bool:
        """Whether this process is handling the update right now."""
        return update_id in self._handling

    def started(self, update_id: int) -> None:
        """The update's handler is about to run here."""
        self._handling[update_id] = self._handling.get(update_id, 0) + 1

    def finished(self, update_id: int, *, done: bool = True) -> None:
        """The handler returned (`done`), or was cut off (not done: a redelivery may take it
        over once this process is gone)."""
        left = self._handling.get(update_id, 0) - 1
        if left > 0:
            self._handling[update_id] = left
        else:
            self._handling.pop(update_id, None)
        if done:
            self._finished.add(update_id)

    @property
    def unflushed(self) -> int:
        """Finished updates not yet marked done in the database."""
        return len(self._finished)

    async def flush(self) -> None:
        """Mark the finished updates done, in one transaction."""
        if not self._finished:
            return
        batch, self._finished = self._finished, set()
        try:
            async with self._pool() as session:
                await mark_done(session, batch, utcnow())
                await session.commit()
        except BaseException:
            self._finished |= batch
            raise

    def start(self) -> None:
        """Flush every FLUSH_EVERY seconds until `stop`."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="update ledger")

    async def stop(self) -> None:
        """Stop the periodic flush and flush what is left (a database away: logged)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            logger.warning(
                "could not mark %d handled updates done: %s",
                self.unflushed,
                describe_unavailable(exc),
            )

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.flush()
            except Exception as exc:
                # Kept for the next flush.
                if is_database_unavailable(exc):
                    logger.warning(
                        "could not mark handled updates done: %s", describe_unavailable(exc)
                    )
                else:
                    logger.exception("could not mark handled updates done")


async def prune_processed_updates(session: AsyncSession, now: datetime) -> int:
    """Forget update ids older than a day; returns how many were removed. The caller commits."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.received_at < now - REMEMBER_FOR)
    )
    return int(result.rowcount or 0)
