"""The clock: APScheduler in UTC. The database is the truth; jobs are re-registered each start."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.base import run_coroutine_job
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import JobContext
from bot.db.availability import describe_unavailable, is_database_unavailable
from bot.services import leases

if TYPE_CHECKING:
    from bot.metrics import Metrics

HOUSEKEEPING_INTERVAL = timedelta(hours=1)
REMINDER_INTERVAL = timedelta(minutes=15)
# The series' dates are made ahead; hourly keeps the horizon full and picks up setup changes.
HORIZON_INTERVAL = timedelta(hours=1)
# Meeting reminders and hosts' notices of each answer are looked for every minute.
MEETING_REMINDER_INTERVAL = timedelta(minutes=1)
HOST_ANSWER_INTERVAL = timedelta(minutes=1)
# The hosts' evening summaries and lists: looked for often, so a restart catches up that evening.
HOST_EVENING_INTERVAL = timedelta(minutes=5)
# Field actions: their dates like the meetings' (at start-up and hourly), shift reminders every
# minute like meeting reminders, calls for help every few minutes (they look 48 h ahead).
ACTIONS_HORIZON_INTERVAL = timedelta(hours=1)
SHIFT_REMINDER_INTERVAL = timedelta(minutes=1)
HELP_CALL_INTERVAL = timedelta(minutes=5)
# Shifts that ended are looked for at this pace; their people are asked for the result.
RESULT_PROMPT_INTERVAL = timedelta(minutes=5)
# Gedenktage: their dates are made daily (and at start-up); reminders looked for every 5 minutes
# (they go out at a set morning hour, so a few minutes late is nothing).
MEMORIAL_HORIZON_INTERVAL = timedelta(days=1)
MEMORIAL_REMINDER_INTERVAL = timedelta(minutes=5)
# Scheduled broadcasts start within this of their time; progress messages follow at this pace.
BROADCAST_INTERVAL = timedelta(seconds=2)
# Surveys close within this of their end (their results go out through the outbox).
SURVEY_CLOSE_INTERVAL = timedelta(minutes=1)
# A large survey's invitations are queued in batches, like a broadcast's recipients.
SURVEY_INVITE_INTERVAL = BROADCAST_INTERVAL
# Meeting posts in group chats are edited at this pace (each chat at most every 3 s).
POSTS_INTERVAL = timedelta(seconds=2)


class _OutageFilter(logging.Filter):
    """Turns APScheduler's "Job raised an exception" traceback into one WARNING line when the
    job only found the database unavailable: during an outage every job fails like that each
    run, and the next run after it carries on (the database holds what is due). A job cut off
    by the shutdown is one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and is_database_unavailable(error):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = (
                f"{record.msg}: the database is unavailable ({describe_unavailable(error)})"
            )
            record.exc_info = record.exc_text = None
        elif isinstance(error, asyncio.CancelledError):
            # The bot is stopping: a job still running is cut off (its lease is let go, the
            # database holds what is due), which is no error worth a traceback.
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = f"{record.msg}: cut off by the shutdown"
            record.exc_info = record.exc_text = None
        return True


_JOB_LOGGER = logging.getLogger("apscheduler.executors.default")

# A job's lease lasts this long unless renewed (every third of it while the job runs): an
# instance killed in the middle of a run holds the job up at most this long.
JOB_LEASE = timedelta(seconds=90)


class LeasedExecutor(AsyncIOExecutor):
    """Runs every job that gets a JobContext under its database lease (bot.services.leases).

    With several instances each scheduler fires each job; the lease makes one instance run it
    per fire time (a cron job like the Monday digest goes out once) and no run overlaps another
    instance's (an interval job's rows are not claimed twice). The fire time is APScheduler's
    own scheduled time, the same on every instance. Other jobs run as AsyncIOExecutor runs them.
    """

    # Who claims the leases; None: this process (tests play several instances in one).
    holder: leases.Holder | None = None

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        ctx = job.kwargs.get("ctx")
        if not isinstance(ctx, JobContext):
            super()._do_submit_job(job, run_times)
            return

        def callback(future: Any) -> None:
            self._pending_futures.discard(future)
            try:
                events = future.result()
            except BaseException:
                self._run_job_error(job.id, *sys.exc_info()[1:])
            else:
                self._run_job_success(job.id, events)

        future = self._eventloop.create_task(self._run_leased(job, ctx, run_times))
        future.add_done_callback(callback)
        self._pending_futures.add(future)

    async def _run_leased(self, job: Job, ctx: JobContext, run_times: list[datetime]) -> Any:
        async with leases.holding(
            ctx.session_pool,
            leases.job_lease_name(job.id),
            ttl=JOB_LEASE,
            # Coalesced runs run once, for the latest of the times they missed.
            fire=max(run_times),
            holder=self.holder,
        ) as held:
            if not held:
                self._logger.debug("job %s runs on another instance", job.id)
                return []
            return await run_coroutine_job(job, job._jobstore_alias, run_times, self._logger.name)


def create_scheduler() -> AsyncIOScheduler:
    """A scheduler whose jobs run in the bot's event loop, in UTC, each under its lease."""
    if not any(isinstance(f, _OutageFilter) for f in _JOB_LOGGER.filters):
        _JOB_LOGGER.addFilter(_OutageFilter())
    return AsyncIOScheduler(
        timezone=UTC,
        executors={"default": LeasedExecutor()},
        # After downtime a missed run happens once, late, rather than several times in a row.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )


def register_jobs(scheduler: AsyncIOScheduler, ctx: JobContext) -> None:
    """Add the recurring jobs with fixed ids, so a second registration replaces, not doubles."""
    scheduler.add_job(
        "jobs.housekeeping:prune_update_ids",
        trigger=IntervalTrigger(seconds=HOUSEKEEPING_INTERVAL.total_seconds(), timezone=UTC),
        id="housekeeping-prune-update-ids",
        kwargs={"ctx": ctx},
        replace_existing=True,
    )
    # Retention: old outbox rows and audit entries, once a night in the KV's zone.
    scheduler.add_job(
        "jobs.housekeeping:prune_retention",
        trigger=CronTrigger(hour=3, minute=30, timezone=ctx.settings.zone),
        id="housekeeping-retention",
        kwargs={"ctx": ctx},
        replace_existing=True,
    )
    scheduler.add_job(
        "jobs.onboarding:remind_abandoned_intakes",
        trigger=IntervalTrigger(seconds=REMINDER_INTERVAL.total_seconds(), timezone=UTC),
        id="onboarding-intake-reminders",
        kwargs={"ctx": ctx},
        replace_existing=True,
    )
    scheduler.add_job(
        "jobs.broadcasts:run_broadcasts",
        trigger=IntervalTrigger(seconds=BROADCAST_INTERVAL.total_seconds(), timezone=UTC),
        id="broadcasts-progress",
        kwargs={"ctx": ctx},
        replace_existing=True,
        # A run missed by more than its own interval is simply the next one.
        misfire_grace_time=int(BROADCAST_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.surveys:invite_started",
        trigger=IntervalTrigger(seconds=SURVEY_INVITE_INTERVAL.total_seconds(), timezone=UTC),
        id="surveys-invite",
        kwargs={"ctx": ctx},
        replace_existing=True,
        misfire_grace_time=int(SURVEY_INVITE_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.surveys:close_surveys",
        trigger=IntervalTrigger(seconds=SURVEY_CLOSE_INTERVAL.total_seconds(), timezone=UTC),
        id="surveys-close",
        kwargs={"ctx": ctx},
        replace_existing=True,
        misfire_grace_time=int(SURVEY_CLOSE_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.meetings:extend_horizon",
        trigger=IntervalTrigger(seconds=HORIZON_INTERVAL.total_seconds(), timezone=UTC),
        id="meetings-horizon",
        kwargs={"ctx": ctx},
        replace_existing=True,
        # Also right at start-up: the dates must exist before anyone asks for them.
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        "jobs.meetings:queue_reminders",
        trigger=IntervalTrigger(seconds=MEETING_REMINDER_INTERVAL.total_seconds(), timezone=UTC),
        id="meetings-reminders",
        kwargs={"ctx": ctx},
        replace_existing=True,
        # A missed minute is simply the next one; the job itself catches up on what was due.
        misfire_grace_time=int(MEETING_REMINDER_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.meetings:queue_host_answers",
        trigger=IntervalTrigger(seconds=HOST_ANSWER_INTERVAL.total_seconds(), timezone=UTC),
        id="meetings-host-answers",
        kwargs={"ctx": ctx},
        replace_existing=True,
        misfire_grace_time=int(HOST_ANSWER_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.meetings:queue_host_evening",
        trigger=IntervalTrigger(seconds=HOST_EVENING_INTERVAL.total_seconds(), timezone=UTC),
        id="meetings-host-evening",
        kwargs={"ctx": ctx},
        replace_existing=True,
        misfire_grace_time=int(HOST_EVENING_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.field_actions:extend_horizon",
        trigger=IntervalTrigger(seconds=ACTIONS_HORIZON_INTERVAL.total_seconds(), timezone=UTC),
        id="actions-horizon",
        kwargs={"ctx": ctx},
        replace_existing=True,
        # Also right at start-up, like the meetings' horizon.
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        "jobs.field_actions:queue_shift_reminders",
        trigger=IntervalTrigger(seconds=SHIFT_REMINDER_INTERVAL.total_seconds(), timezone=UTC),
        id="actions-shift-reminders",
        kwargs={"ctx": ctx},
        replace_existing=True,
        # A missed minute is simply the next one; the job itself catches up on what was due.
        misfire_grace_time=int(SHIFT_REMINDER_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.field_actions:queue_help_calls",
        trigger=IntervalTrigger(seconds=HELP_CALL_INTERVAL.total_seconds(), timezone=UTC),
        id="actions-help-calls",
        kwargs={"ctx": ctx},
        replace_existing=True,
        misfire_grace_time=int(HELP_CALL_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.memorials:extend_horizon",
        trigger=IntervalTrigger(seconds=MEMORIAL_HORIZON_INTERVAL.total_seconds(), timezone=UTC),
        id="memorials-horizon",
        kwargs={"ctx": ctx},
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        "jobs.memorials:queue_reminders",
        trigger=IntervalTrigger(seconds=MEMORIAL_REMINDER_INTERVAL.total_seconds(), timezone=UTC),
        id="memorials-reminders",
        kwargs={"ctx": ctx},
        replace_existing=True,
        # Soon after start-up too, once the horizon has run: what downtime missed is decided.
        next_run_time=datetime.now(UTC) + timedelta(seconds=30),
        misfire_grace_time=int(MEMORIAL_REMINDER_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.meeting_posts:refresh_posts",
        trigger=IntervalTrigger(seconds=POSTS_INTERVAL.total_seconds(), timezone=UTC),
        id="meetings-posts",
        kwargs={"ctx": ctx},
        replace_existing=True,
        misfire_grace_time=int(POSTS_INTERVAL.total_seconds()),
    )
    scheduler.add_job(
        "jobs.action_results:queue_result_prompts",
        trigger=IntervalTrigger(seconds=RESULT_PROMPT_INTERVAL.total_seconds(), timezone=UTC),
        id="action-result-prompts",
        kwargs={"ctx": ctx},
        replace_existing=True,
        misfire_grace_time=int(RESULT_PROMPT_INTERVAL.total_seconds()),
    )
    # Retention of departed members: daily, at night in the KV's own time zone.
    scheduler.add_job(
        "jobs.retention:erase_departed",
        trigger=CronTrigger(hour=3, minute=30, timezone=ctx.settings.zone),
        id="retention-erase-departed",
        kwargs={"ctx": ctx},
        replace_existing=True,
    )
    # Monday morning in the KV's own time zone, when the office plans its week.
    scheduler.add_job(
        "jobs.onboarding:newcomer_digest",
        trigger=CronTrigger(day_of_week="mon", hour=9, minute=0, timezone=ctx.settings.zone),
        id="onboarding-newcomer-digest",
        kwargs={"ctx": ctx},
        replace_existing=True,
    )
    # Re-engagement: check-ins with quiet members in the late morning (a batch a day, capped
    # per member and quarter), the call list on the first Monday of each month.
    scheduler.add_job(
        "jobs.reengagement:queue_check_ins",
        trigger=CronTrigger(hour=10, minute=30, timezone=ctx.settings.zone),
        id="reengagement-check-ins",
        kwargs={"ctx": ctx},
        replace_existing=True,
    )
    scheduler.add_job(
        "jobs.reengagement:queue_call_list",
        trigger=CronTrigger(day="1st mon", hour=9, minute=15, timezone=ctx.settings.zone),
        id="reengagement-call-list",
        kwargs={"ctx": ctx},
        replace_existing=True,
    )


_DIGITS = re.compile(r"\d+")
_RUN_OUTCOMES = {EVENT_JOB_EXECUTED: "ok", EVENT_JOB_ERROR: "error", EVENT_JOB_MISSED: "missed"}


def job_label(job_id: str) -> str:
    """A job id as a metrics label: runs of digits become "N", so a job named for a row (or,
    by mistake, a member) is one series per kind and never carries anyone's id."""
    return _DIGITS.sub("N", job_id)


def watch_jobs(scheduler: AsyncIOScheduler, metrics: Metrics) -> None:
    """Count each job's runs by outcome and how late each run started."""

    def submitted(event: JobSubmissionEvent) -> None:
        # Coalesced runs start once, for the latest of the times they missed.
        late = datetime.now(UTC) - max(event.scheduled_run_times)
        metrics.job_started_late(job_label(event.job_id), late.total_seconds())

    def finished(event: JobExecutionEvent) -> None:
        metrics.job_ran(job_label(event.job_id), _RUN_OUTCOMES[event.code])

    scheduler.add_listener(submitted, EVENT_JOB_SUBMITTED)
    scheduler.add_listener(finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
