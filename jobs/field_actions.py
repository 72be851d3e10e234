"""Field actions on the clock: their dates on a rolling horizon, shift reminders, calls for help.

The logs carry counts only: who was reminded or called, and for which shift, is nobody's
business there.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.context import JobContext
from bot.services import action_notices, field_actions, help_calls, shift_reminders
from models.base import utcnow

logger = logging.getLogger(__name__)


async def extend_horizon(ctx: JobContext, now: datetime | None = None) -> field_actions.Horizon:
    """Make every active action's dates up to the horizon (at start-up and hourly); the people
    of a date the plan no longer gives are told it was called off."""
    now = now or utcnow()
    told = 0
    async with ctx.scope() as session:
        result = await field_actions.extend_horizon(session, now=now, zone=ctx.settings.zone)
        for date_id in result.cancelled:
            row = await field_actions.find_date(session, date_id, retired_too=True)
            if row is not None:
                told += await action_notices.queue_cancelled(session, row, now=now)
        await session.commit()
    if told:
        ctx.wake()
    if result.added or result.withdrawn:
        logger.info(
            "action horizon: %d dates added, %d withdrawn (%d called off, %d people told)",
            result.added,
            result.withdrawn,
            len(result.cancelled),
            told,
        )
    return result


def reminder_plan(ctx: JobContext) -> shift_reminders.ReminderPlan:
    """When shift reminders go out, from the settings."""
    return shift_reminders.ReminderPlan(
        evening_hour=ctx.settings.shift_reminder_evening_hour,
        minutes=ctx.settings.shift_reminder_minutes,
    )


async def queue_shift_reminders(
    ctx: JobContext, now: datetime | None = None
) -> shift_reminders.Queued:
    """Queue the shift reminders due now (every minute); missed ones are counted, not sent."""
    async with ctx.scope() as session:
        result = await shift_reminders.queue_due(
            session, now=now or utcnow(), zone=ctx.settings.zone, plan=reminder_plan(ctx)
        )
        await session.commit()
    if result.queued:
        ctx.wake()
    if result.dropped:
        logger.info(
            "shift reminders: %d queued, %d dropped (the shift started during downtime)",
            result.queued,
            result.dropped,
        )
    return result


async def queue_help_calls(ctx: JobContext, now: datetime | None = None) -> help_calls.Calls:
    """Call for help for shifts that still lack people close to their start (every few
    minutes)."""
    async with ctx.scope() as session:
        result = await help_calls.queue_calls(
            session,
            now=now or utcnow(),
            zone=ctx.settings.zone,
            shortfall=timedelta(hours=ctx.settings.shortfall_hours),
            cooldown=timedelta(days=ctx.settings.help_call_cooldown_days),
        )
        await session.commit()
    if result.called:
        ctx.wake()
        logger.info(
            "calls for help: %d members called for %d shifts lacking people",
            result.called,
            result.shifts,
        )
    return result
