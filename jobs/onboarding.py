"""Onboarding jobs: one reminder after an abandoned intake, the weekly newcomer digest.

Both only queue messages in the outbox; the delivery worker renders and sends them
(bot.outbox.renderers), in each recipient's language at sending time, paced and retried like
every bulk message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.context import JobContext
from bot.services import newcomer_digest as digest
from bot.services import onboarding
from models.base import utcnow

REMIND_AFTER = timedelta(hours=24)


async def remind_abandoned_intakes(ctx: JobContext, now: datetime | None = None) -> int:
    """Queue one gentle reminder, never more, for members who left the intake a day ago."""
    async with ctx.scope() as session:
        queued = await onboarding.queue_intake_reminders(session, now or utcnow(), REMIND_AFTER)
        await session.commit()
    if queued:
        ctx.wake()
    return queued


async def newcomer_digest(ctx: JobContext, now: datetime | None = None) -> int:
    """Queue the digest of newcomers without a group for each organiser; returns how many.

    The rows name nobody: the worker computes the digest when it sends it.
    """
    async with ctx.scope() as session:
        recipients = await digest.queue_newcomer_digest(
            session,
            now=now or utcnow(),
            days=ctx.settings.newcomer_days,
            admin_ids=ctx.settings.admin_ids,
        )
        await session.commit()
    if recipients:
        ctx.wake()
    return recipients
