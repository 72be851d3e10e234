"""Survey jobs: close surveys whose end passed and queue their results.

The service claims each survey with a conditional UPDATE in the job's transaction, so a rerun
or a second instance closes and announces it once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import JobContext
from bot.services import surveys
from models.base import utcnow

logger = logging.getLogger(__name__)


async def close_surveys(ctx: JobContext, now: datetime | None = None) -> list[int]:
    """Close what is due; the outbox sends the results. Returns the ids closed by this run."""
    now = now or utcnow()
    async with ctx.scope() as session:
        closed = await surveys.close_due(session, now=now, admin_ids=ctx.settings.admin_ids)
        await session.commit()
    if closed:
        logger.info("surveys closed: %s", closed)
        ctx.wake()
    return closed
