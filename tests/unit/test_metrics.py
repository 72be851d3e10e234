"""The metrics (bot.metrics) and the hooks that feed them, one part at a time."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import Update, User
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client.parser import text_string_to_metric_families

from bot.context import JobContext
from bot.metrics import Metrics
from bot.middlewares.outage import DatabaseRetryMiddleware
from bot.scheduler import create_scheduler, job_label, register_jobs, watch_jobs
from bot.services.flood import FloodGate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def value(metrics: Metrics, name: str, **labels: str) -> float:
    text = metrics.exposition().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_each_application_has_a_registry_of_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.update_done("message", "ok", 0.02)
    first.deliveries_done("sent", 3)
    first.deliveries_done("failed", 0)
    assert value(first, "mitmachbot_updates_total", type="message", outcome="ok") == 1
    assert (
        value(first, "mitmachbot_update_duration_seconds_bucket", type="message", le="0.025") == 1
    )
    assert value(first, "mitmachbot_update_duration_seconds_bucket", type="message", le="0.01") == 0
    assert value(first, "mitmachbot_outbox_deliveries_total", outcome="sent") == 3
    assert value(second, "mitmachbot_updates_total", type="message", outcome="ok") == 0
    # A count of 0 makes no series at all.
    assert 'outcome="failed"' not in first.exposition().decode()


def test_429s_are_read_from_the_shared_flood_gate() -> None:
    metrics, gate = Metrics(), FloodGate()
    metrics.watch_gate(gate)
    assert value(metrics, "mitmachbot_telegram_rate_limited_total") == 0
    gate.pause(1)
    gate.pause(0.5)
    assert value(metrics, "mitmachbot_telegram_rate_limited_total") == 2


async def test_the_outbox_gauge_is_counted_at_most_every_few_seconds() -> None:
    clock = Clock()
    metrics = Metrics(clock=clock)
    answers = iter([7, 3])
    calls = 0

    async def count() -> int:
        nonlocal calls
        calls += 1
        return next(answers)

    await metrics.refresh_pending(count)
    clock.now += 4.9
    await metrics.refresh_pending(count)
    assert (calls, value(metrics, "mitmachbot_outbox_pending")) == (1, 7)
    clock.now += 0.1
    await metrics.refresh_pending(count)
    assert (calls, value(metrics, "mitmachbot_outbox_pending")) == (2, 3)

    # The database away: the last value stays, the scrape still answers, the next one asks.
    async def locked() -> int:
        raise sqlite3.OperationalError("database is locked")

    clock.now += 10
    await metrics.refresh_pending(locked)
    assert value(metrics, "mitmachbot_outbox_pending") == 3
    clock.now += 0.1
    await metrics.refresh_pending(lambda: asyncio.sleep(0, result=1))
    assert value(metrics, "mitmachbot_outbox_pending") == 1


async def test_database_retries_and_give_ups_are_counted() -> None:
    metrics = Metrics()
    failures = {1: 2, 2: 1000}

    async def handler(event: Update, _data: dict[str, Any]) -> str:
        if failures[event.update_id] > 0:
            failures[event.update_id] -= 1
            raise sqlite3.OperationalError("database is locked")
        return "handled"

    middleware = DatabaseRetryMiddleware(
        retry_for=0.2, first_delay=0.01, max_delay=0.02, metrics=metrics
    )
    data = {"event_from_user": User(id=5, is_bot=False, first_name="M")}
    assert await middleware(handler, Update(update_id=1), dict(data)) == "handled"
    assert value(metrics, "mitmachbot_database_retries_total") == 2
    with pytest.raises(sqlite3.OperationalError):
        await middleware(handler, Update(update_id=2), dict(data))
    assert value(metrics, "mitmachbot_database_give_ups_total") == 1
    assert value(metrics, "mitmachbot_database_retries_total") > 2


def test_job_ids_carry_no_numbers() -> None:
    scheduler = create_scheduler()
    ctx = SimpleNamespace(settings=SimpleNamespace(zone=ZoneInfo("Europe/Berlin")))
    register_jobs(scheduler, cast(JobContext, ctx))
    ids = [job.id for job in scheduler.get_jobs()]
    assert len(ids) > 10
    # Fixed names per kind of job: no member's (or row's) id in a label.
    assert all(job_label(job_id) == job_id for job_id in ids), ids
    assert job_label("broadcast-42") == "broadcast-N"
    assert job_label("reminder-123456789-x") == "reminder-N-x"


async def job_ok() -> None:
    return None


async def job_fails() -> None:
    raise RuntimeError("the job failed")


async def test_job_runs_and_lateness_are_counted() -> None:
    metrics = Metrics()
    scheduler = AsyncIOScheduler(timezone=UTC)
    watch_jobs(scheduler, metrics)
    done = asyncio.Event()
    finished: list[str] = []

    def note(event: Any) -> None:
        finished.append(event.job_id)
        if len(finished) == 3:
            done.set()

    scheduler.add_listener(note, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    now = datetime.now(UTC)
    scheduler.add_job(
        job_ok, id="tidy-7", next_run_time=now - timedelta(seconds=30), misfire_grace_time=60
    )
    scheduler.add_job(job_fails, id="tidy-8", next_run_time=now)
    # Past its grace time: missed, not run.
    scheduler.add_job(
        job_ok, id="late", next_run_time=now - timedelta(seconds=30), misfire_grace_time=1
    )
    scheduler.start()
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        scheduler.shutdown(wait=False)
    assert value(metrics, "mitmachbot_scheduler_job_runs_total", job="tidy-N", outcome="ok") == 1
    assert value(metrics, "mitmachbot_scheduler_job_runs_total", job="tidy-N", outcome="error") == 1
    assert value(metrics, "mitmachbot_scheduler_job_runs_total", job="late", outcome="missed") == 1
    # The run due 30 s ago started about 30 s late, the one due now within a few seconds.
    late = "mitmachbot_scheduler_job_lateness_seconds_bucket"
    assert value(metrics, late, job="tidy-N", le="60.0") == 2
    assert value(metrics, late, job="tidy-N", le="10.0") == 1
    # A missed run was late too: the scheduler got to it, found it past its grace time.
    assert value(metrics, late, job="late", le="10.0") == 0
    assert value(metrics, "mitmachbot_scheduler_job_lateness_seconds_count", job="late") == 1
