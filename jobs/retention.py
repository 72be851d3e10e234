"""Retention: members who left (blocked the bot, left every KV group) are erased after
MEMBER_RETENTION_MONTHS. The log says how many, never who."""

from __future__ import annotations

import logging
from datetime import datetime

from dateutil.relativedelta import relativedelta

from bot.context import JobContext
from bot.services import erasure
from models.base import utcnow

logger = logging.getLogger(__name__)

# Members erased per transaction.
CHUNK = 100


async def erase_departed(ctx: JobContext, now: datetime | None = None) -> int:
    """Erase members departed and not seen for MEMBER_RETENTION_MONTHS; returns how many."""
    now = now or utcnow()
    months = ctx.settings.member_retention_months
    erased = 0
    while True:
        async with ctx.scope() as session:
            chunk = await erasure.erase_departed(
                session,
                now=now,
                after=relativedelta(months=months),
                admin_ids=ctx.settings.admin_ids,
                limit=CHUNK,
            )
            await session.commit()
        erased += chunk
        if chunk < CHUNK:
            break
    if erased:
        ctx.wake()  # organisers may have notices of groups left without a host
    logger.info("retention: erased %d departed members (after %d months)", erased, months)
    return erased
