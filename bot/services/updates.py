"""Remembering handled update ids, so a redelivered update runs no handler twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_statement
from models import ProcessedUpdate

# Telegram redelivers for at most a day (webhook retries, unconfirmed getUpdates offsets).
REMEMBER_FOR = timedelta(hours=24)


def claim_statement(insert: Any) -> Any:
    """INSERT of an update id that does nothing when it is there (`insert` is the dialect's)."""
    return insert(ProcessedUpdate).on_conflict_do_nothing(index_elements=["update_id"])


async def claim_update(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record the update id; True when it is new, False when it was handled before.

    The insert is atomic, so two instances racing for one update cannot both win. The caller
    commits.
    """
    connection = await session.connection()
    result = await connection.execute(
        dialect_statement(session, claim_statement), {"update_id": update_id, "received_at": now}
    )
    return bool(result.rowcount)


async def prune_processed_updates(session: AsyncSession, now: datetime) -> int:
    """Forget update ids older than a day; returns how many were removed. The caller commits."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.received_at < now - REMEMBER_FOR)
    )
    return int(result.rowcount or 0)
