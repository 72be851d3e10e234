"""Meetings on the clock: the series' dates on a rolling horizon."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import JobContext
from bot.services import schedule
from models.base import utcnow

logger = logging.getLogger(__name__)


async def extend_horizon(ctx: JobContext, now: datetime | None = None) -> schedule.Horizon:
    """Make the meetings of every group's series up to the horizon (at start-up and hourly)."""
    async with ctx.scope() as session:
        result = await schedule.extend_horizon(session, now=now or utcnow(), zone=ctx.settings.zone)
        await session.commit()
    if result.added or result.withdrawn:
        logger.info("meeting horizon: %d dates added, %d withdrawn", result.added, result.withdrawn)
    return result
