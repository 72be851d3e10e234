"""Housekeeping: forget old update ids."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import JobContext
from bot.services.updates import prune_processed_updates
from models.base import utcnow

logger = logging.getLogger(__name__)


async def prune_update_ids(ctx: JobContext, now: datetime | None = None) -> int:
    """Delete remembered update ids older than a day; returns how many went."""
    async with ctx.scope() as session:
        removed = await prune_processed_updates(session, now or utcnow())
        await session.commit()
    if removed:
        logger.info("pruned %d processed update ids", removed)
    return removed
