"""Jobs: driven directly with a fixed clock; the scheduler registers them under fixed ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram.utils.i18n import gettext as _
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import Application
from bot.context import JobContext
from bot.scheduler import HOUSEKEEPING_INTERVAL, create_scheduler, register_jobs
from bot.services.updates import REMEMBER_FOR, claim_update
from jobs.housekeeping import prune_update_ids

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the night Berlin switches to summer time


def _context(app: Application) -> JobContext:
    return JobContext(app.session_pool, app.bot, app.i18n, app.settings)


async def test_prune_job_forgets_old_update_ids(app: Application) -> None:
    async with app.session_pool() as session:
        await claim_update(session, 1, NOW - REMEMBER_FOR - timedelta(seconds=1))
        await claim_update(session, 2, NOW - timedelta(hours=1))
        await session.commit()
    assert await prune_update_ids(_context(app), now=NOW) == 1
    assert await prune_update_ids(_context(app), now=NOW) == 0


async def test_job_scope_has_translations_and_a_session(app: Application) -> None:
    ctx = _context(app)
    async with ctx.scope() as session:
        assert _("Saved.") == "Gespeichert."
        assert session.in_transaction() is False
    async with ctx.scope("en"):
        assert _("Saved.") == "Saved."


async def test_scheduler_runs_in_utc_with_fixed_job_ids(app: Application) -> None:
    scheduler = create_scheduler()
    ctx = _context(app)
    scheduler.start(paused=True)
    try:
        register_jobs(scheduler, ctx)
        register_jobs(scheduler, ctx)  # a second registration replaces, never doubles
        jobs = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    assert sorted(job.id for job in jobs) == [
        "action-result-prompts",
        "actions-help-calls",
        "actions-horizon",
        "actions-shift-reminders",
        "broadcasts-progress",
        "housekeeping-prune-update-ids",
        "housekeeping-retention",
        "meetings-horizon",
        "meetings-host-answers",
        "meetings-host-evening",
        "meetings-posts",
        "meetings-reminders",
        "memorials-horizon",
        "memorials-reminders",
        "onboarding-intake-reminders",
        "onboarding-newcomer-digest",
        "reengagement-call-list",
        "reengagement-check-ins",
        "retention-erase-departed",
        "surveys-close",
        "surveys-invite",
    ]
    job = scheduler.get_job("housekeeping-prune-update-ids")
    assert job is not None
    assert job.func is prune_update_ids
    assert job.kwargs == {"ctx": ctx}
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == HOUSEKEEPING_INTERVAL
    assert str(scheduler.timezone) == "UTC"
