"""Survey jobs: queue the rest of a started survey's invitations; close surveys whose end
passed and queue their results.

The service claims each batch and each close with a conditional UPDATE in the job's
transaction, so a rerun or a second instance invites and announces once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import JobContext
from bot.services import surveys
from jobs import member_batches
from models.base import utcnow

logger = logging.getLogger(__name__)

# Seconds one run spends queueing invitations; what remains continues in the next run.
INVITE_BUDGET = 3.0


async def invite_started(ctx: JobContext, *, budget: float = INVITE_BUDGET) -> int:
    """Queue started surveys' remaining invitations, one batch per transaction, for at most
    `budget` seconds. Returns how many batches ran."""

    async def step(session: AsyncSession, survey_id: int) -> bool:
        return await surveys.invite_batch(session, survey_id, now=utcnow())

    return await member_batches.run_within(ctx, surveys.inviting, step, budget=budget)


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
