"""Re-engagement jobs: the daily check-ins with quiet members, the organisers' monthly call list.

Both only queue outbox rows under unique keys (per member and quarter, per organiser and
month), so a second run or instance adds nothing; the delivery worker renders and sends them
in each recipient's language, paced like every bulk message.
"""

from __future__ import annotations

from datetime import datetime

from bot.context import JobContext
from bot.services import call_list, reengagement
from models.base import utcnow


async def queue_check_ins(ctx: JobContext, now: datetime | None = None) -> int:
    """Queue the check-ins due now (a bounded batch per run); returns how many."""
    async with ctx.scope() as session:
        queued = await reengagement.queue_check_ins(
            session,
            now=now or utcnow(),
            months=ctx.settings.quiet_months,
            zone=ctx.settings.zone,
        )
        await session.commit()
    if queued:
        ctx.wake()
    return queued


async def queue_call_list(ctx: JobContext, now: datetime | None = None) -> int:
    """Queue the call list for each organiser (none when nobody is to be called)."""
    async with ctx.scope() as session:
        queued = await call_list.queue_call_list(
            session,
            now=now or utcnow(),
            months=ctx.settings.quiet_months,
            admin_ids=ctx.settings.admin_ids,
        )
        await session.commit()
    if queued:
        ctx.wake()
    return queued
