"""Claims of update ids made by other instances, for the tests of takeovers and 503s."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.db.session import SessionPool
from bot.services.leases import Holder, this_process
from bot.services.updates import claim_update
from models import Lease
from models.base import utcnow

# On this host, a pid that surely runs no more (above Linux's largest).
GONE_PID = 2**22 + 1


def live_elsewhere(token: str = "a11ve0000000") -> Holder:
    """An instance on another host."""
    return Holder("other-host", 7, token)


def gone_here(token: str = "feedfacecafe") -> Holder:
    """An instance on this host whose process is gone."""
    return Holder(this_process().host, GONE_PID, token)


async def hold_presence(pool: SessionPool, holder: Holder, *, expires_at: datetime) -> None:
    """`holder`'s presence lease, expiring at `expires_at`."""
    now = utcnow()
    async with pool() as session:
        session.add(
            Lease(
                name=f"process:{holder.token}",
                holder=holder.id,
                host=holder.host,
                pid=holder.pid,
                acquired_at=now,
                expires_at=expires_at,
            )
        )
        await session.commit()


async def claimed_by(
    pool: SessionPool, update_id: int, holder: Holder, *, at: datetime | None = None
) -> None:
    """`update_id` claimed by `holder` (not done) at `at` (now unless given)."""
    async with pool() as session:
        assert await claim_update(session, update_id, at or utcnow(), owner=holder.id)
        await session.commit()


async def claimed_by_live_instance(pool: SessionPool, update_id: int) -> None:
    """`update_id` being handled by a live instance on another host."""
    holder = live_elsewhere()
    await hold_presence(pool, holder, expires_at=utcnow() + timedelta(minutes=1))
    await claimed_by(pool, update_id, holder)
