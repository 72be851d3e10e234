"""Leases in the database: one process holds a named lease until it expires, renewing it.

Three uses: without Redis, the lease "instance" keeps a second bot process from running against
the same database; with Redis, every instance holds a presence lease (its sign of life for
bot.services.updates); and every scheduled job runs under the lease "job:<id>", so N instances
whose clocks fire the same job start it once per fire time and never run it twice at once.

Claims are single atomic statements (UPDATE .. WHERE expired, or INSERT .. ON CONFLICT DO
NOTHING), the same on SQLite and PostgreSQL: two processes racing for a lease cannot both win.
A lease left by a killed process is taken over once it expires, or at once by a process on the
same host when the holder's pid is no longer alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.availability import describe_unavailable, is_database_unavailable
from bot.db.dialect import dialect_insert
from bot.db.session import SessionPool
from models import Lease
from models.base import utcnow

logger = logging.getLogger(__name__)

INSTANCE = "instance"


# With REDIS_URL every instance holds "process:<token>" while it runs (its sign of life).
PRESENCE_PREFIX = "process:"


def presence_lease_name(holder: Holder | None = None) -> str:
    """The presence lease of `holder` (this process unless given)."""
    return PRESENCE_PREFIX + (holder or this_process()).token


def job_lease_name(job_id: str) -> str:
    """The lease a scheduled job runs under."""
    return f"job:{job_id}"


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease: host and pid (to tell a dead holder on the same host) and a random
    token, so a restarted process that got the same pid is not mistaken for its predecessor."""

    host: str
    pid: int
    token: str

    @property
    def id(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def parse(cls, holder_id: str) -> Holder | None:
        """The holder an `id` names, or None for one of another shape."""
        host, pid, token = (*holder_id.rsplit(":", 2), "", "")[:3]
        return cls(host, int(pid), token) if pid.isdigit() and token else None


@functools.cache
def this_process() -> Holder:
    """The holder for this process (the same for all its leases)."""
    return Holder(socket.gethostname()[:255], os.getpid(), uuid.uuid4().hex[:12])


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """A lease as stored: who holds it and until when."""

    holder: str
    host: str
    pid: int
    acquired_at: datetime
    expires_at: datetime


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (signal 0 only asks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    except OSError:
        return False
    return True


def _holder_values(holder: Holder, now: datetime, ttl: timedelta) -> dict[str, Any]:
    return {
        "holder": holder.id,
        "host": holder.host,
        "pid": holder.pid,
        "acquired_at": now,
        "expires_at": now + ttl,
    }


def _newer_fire(fire: datetime | None) -> Any:
    # A run for a fire time some instance already started (or a later one) is not started again.
    if fire is None:
        return true()
    return or_(Lease.last_fire.is_(None), Lease.last_fire < fire)


async def claim(
    session: AsyncSession,
    name: str,
    holder: Holder,
    *,
    now: datetime,
    ttl: timedelta,
    fire: datetime | None = None,
) -> bool:
    """Take the lease `name` for `ttl` if it is free; True when this holder has it now.

    Free means: nobody holds it, its holder let it expire (or is this holder), or its holder
    was a process on this host that is gone. With `fire` (a job's scheduled time) the claim
    also fails when a run for that fire time or a later one was already started. The caller
    commits.
    """
    values = _holder_values(holder, now, ttl)
    if fire is not None:
        values["last_fire"] = fire
    taken = await session.execute(
        update(Lease)
        .where(
            Lease.name == name,
            or_(Lease.expires_at <= now, Lease.holder == holder.id),
            _newer_fire(fire),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount:
        return True
    insert = dialect_insert(session)
    inserted = await session.execute(
        insert(Lease).values(name=name, **values).on_conflict_do_nothing(index_elements=["name"])
    )
    if inserted.rowcount:
        return True
    current = await held_by(session, name)
    if current is None or not _holder_is_gone(current, holder):
        return False
    # Compare-and-set on the dead holder: of two processes taking over, one wins.
    taken = await session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == current.holder, _newer_fire(fire))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)


def _holder_is_gone(current: LeaseInfo, holder: Holder) -> bool:
    return current.holder != holder.id and gone_from_this_host(current.host, current.pid, holder)


def gone_from_this_host(host: str, pid: int, me: Holder) -> bool:
    """Whether another process, recorded as running on `host` with `pid`, is known gone to `me`:
    on `me`'s host its pid no longer runs, or it is `me`'s pid (with another token: `me`'s
    predecessor, a container's pid 1, say). A process on another host is not known gone."""
    return host == me.host and (pid == me.pid or not pid_alive(pid))


async def renew(
    session: AsyncSession, name: str, holder: Holder, *, now: datetime, ttl: timedelta
) -> bool:
    """Extend the lease if this holder still has it; False when it was lost. The caller commits."""
    result = await session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder.id)
        .values(expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def release(session: AsyncSession, name: str, holder: Holder, *, now: datetime) -> None:
    """Let the lease expire now (a job's `last_fire` stays). The caller commits."""
    await session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder.id)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


async def prune_presences(session: AsyncSession, *, now: datetime, older: timedelta) -> int:
    """Delete presence leases that expired more than `older` ago (instances long gone);
    returns how many. The caller commits."""
    result = await session.execute(
        delete(Lease).where(
            Lease.name.startswith(PRESENCE_PREFIX, autoescape=True),
            Lease.expires_at < now - older,
        )
    )
    return int(result.rowcount or 0)


async def held_by(session: AsyncSession, name: str) -> LeaseInfo | None:
    """The lease's holder and expiry as stored (expired or not), or None."""
    row = (
        await session.execute(
            select(Lease.holder, Lease.host, Lease.pid, Lease.acquired_at, Lease.expires_at).where(
                Lease.name == name
            )
        )
    ).one_or_none()
    return None if row is None else LeaseInfo(*row)


class HeldLease:
    """A lease taken through a session pool and renewed in the background while held."""

    def __init__(
        self,
        pool: SessionPool,
        name: str,
        *,
        ttl: timedelta,
        holder: Holder | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pool = pool
        self.name = name
        self.ttl = ttl
        self.holder = holder or this_process()
        self.clock = clock
        self.lost = False
        self._keeper: asyncio.Task[None] | None = None

    async def acquire(self, *, fire: datetime | None = None) -> bool:
        """Claim the lease (one transaction); while held, it is renewed every third of `ttl`."""
        async with self.pool() as session:
            got = await claim(
                session, self.name, self.holder, now=self.clock(), ttl=self.ttl, fire=fire
            )
            await session.commit()
        if got:
            self.lost = False
            self._keeper = asyncio.create_task(self._keep(), name=f"lease {self.name}")
        return got

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.ttl.total_seconds() / 3)
            try:
                async with self.pool() as session:
                    kept = await renew(
                        session, self.name, self.holder, now=self.clock(), ttl=self.ttl
                    )
                    await session.commit()
            except Exception as exc:
                # The next renewal may get through; the lease lasts three of these.
                if is_database_unavailable(exc):
                    logger.warning(
                        "could not renew the lease %s: %s", self.name, describe_unavailable(exc)
                    )
                else:
                    logger.exception("could not renew the lease %s", self.name)
                continue
            if not kept and not self.lost:
                self.lost = True
                logger.error(
                    "the lease %s was taken over by another process (this one could not "
                    "renew it in time)",
                    self.name,
                )

    async def release(self) -> None:
        """Stop renewing and let the lease go, so another process may take it at once."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        try:
            async with self.pool() as session:
                await release(session, self.name, self.holder, now=self.clock())
                await session.commit()
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            # It expires by itself within `ttl`.
            logger.warning("could not release the lease %s: %s", self.name, exc)


@contextlib.asynccontextmanager
async def holding(
    pool: SessionPool,
    name: str,
    *,
    ttl: timedelta,
    fire: datetime | None = None,
    holder: Holder | None = None,
) -> AsyncIterator[bool]:
    """Hold the lease for the block if it can be had; yields whether it was."""
    lease = HeldLease(pool, name, ttl=ttl, holder=holder)
    if not await lease.acquire(fire=fire):
        yield False
        return
    try:
        yield True
    finally:
        await lease.release()
