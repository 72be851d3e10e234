"""Meetings on the clock: the series' dates on a rolling horizon, reminders, hosts' notices."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import JobContext
from bot.services import host_notices, reminders, schedule
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


async def queue_reminders(ctx: JobContext, now: datetime | None = None) -> reminders.Queued:
    """Queue the meeting reminders due now (every minute); missed ones are counted, not sent."""
    async with ctx.scope() as session:
        result = await reminders.queue_due(session, now=now or utcnow(), zone=ctx.settings.timezone)
        await session.commit()
    if result.queued:
        ctx.wake()
    if result.dropped:
        # Counts only: who and which meeting are nobody's business in the log.
        logger.info(
            "meeting reminders: %d queued, %d dropped (the meeting started during downtime)",
            result.queued,
            result.dropped,
        )
    return result


async def queue_host_answers(ctx: JobContext, now: datetime | None = None) -> int:
    """Tell hosts who hear of each answer about the new ones (every minute)."""
    async with ctx.scope() as session:
        queued = await host_notices.queue_answer_notices(
            session, now=now or utcnow(), zone=ctx.settings.timezone
        )
        await session.commit()
    if queued:
        ctx.wake()
    return queued


async def queue_host_evening(ctx: JobContext, now: datetime | None = None) -> host_notices.Evening:
    """The hosts' daily summaries and day-before lists, from the evening on (runs often)."""
    async with ctx.scope() as session:
        result = await host_notices.queue_evening(
            session, now=now or utcnow(), zone=ctx.settings.zone
        )
        await session.commit()
    if result.summaries or result.lists:
        ctx.wake()
    return result
