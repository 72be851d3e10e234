"""After a shift: its people are asked for the result (counts and topics), once each."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import JobContext
from bot.services import action_results
from models.base import utcnow

logger = logging.getLogger(__name__)


async def queue_result_prompts(ctx: JobContext, now: datetime | None = None) -> int:
    """Queue "How did the shift go?" for the people of shifts that ended within the last
    action_results.PROMPT_WINDOW (every few minutes; once per shift and member)."""
    async with ctx.scope() as session:
        queued = await action_results.queue_prompts(session, now=now or utcnow())
        await session.commit()
    if queued:
        ctx.wake()
        logger.info("result prompts: %d queued", queued)
    return queued
