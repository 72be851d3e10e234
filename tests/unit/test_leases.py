"""Leases: one holder at a time, taken over when expired or when the holder's process is gone,
and scheduled jobs that run once per fire time across instances."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from redis.exceptions import RedisError

from bot import event_isolation
from bot.app import Application, create_events_isolation, single_instance
from bot.context import JobContext
from bot.db.session import SessionPool
from bot.scheduler import create_scheduler
from bot.services import leases
from bot.services.leases import Holder, claim, held_by, pid_alive, release, renew
from bot.settings import Settings
from bot.startup import StartupError

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)
A = Holder("host-a", 1001, "aaaa")
B = Holder("host-b", 1002, "bbbb")


async def _claim(pool: SessionPool, holder: Holder, now: datetime = NOW, **kwargs: Any) -> bool:
    async with pool() as session:
        got = await claim(session, "x", holder, now=now, ttl=TTL, **kwargs)
        await session.commit()
        return got


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


async def test_one_holder_until_it_expires(session_pool: SessionPool) -> None:
    assert await _claim(session_pool, A) is True
    assert await _claim(session_pool, B) is False
    assert await _claim(session_pool, A, NOW + timedelta(seconds=30)) is True  # its own again
    assert await _claim(session_pool, B, NOW + timedelta(seconds=60)) is False  # renewed above
    assert await _claim(session_pool, B, NOW + timedelta(seconds=90)) is True
    async with session_pool() as session:
        stored = await held_by(session, "x")
    assert stored is not None
    assert (stored.holder, stored.host, stored.pid) == (B.id, "host-b", 1002)


async def test_renew_and_release(session_pool: SessionPool) -> None:
    assert await _claim(session_pool, A)
    async with session_pool() as session:
        assert await renew(session, "x", A, now=NOW + timedelta(seconds=50), ttl=TTL)
        assert not await renew(session, "x", B, now=NOW, ttl=TTL)  # not B's to renew
        await session.commit()
    assert not await _claim(session_pool, B, NOW + timedelta(seconds=100))
    async with session_pool() as session:
        await release(session, "x", A, now=NOW + timedelta(seconds=100))
        await session.commit()
    assert await _claim(session_pool, B, NOW + timedelta(seconds=100))


async def test_concurrent_claims_have_one_winner(session_pool: SessionPool) -> None:
    holders = [Holder(f"host-{n}", n, "t") for n in range(8)]
    results = await asyncio.gather(*(_claim(session_pool, holder) for holder in holders))
    assert sorted(results) == [False] * 7 + [True]


async def test_a_dead_process_on_the_same_host_is_taken_over_at_once(
    session_pool: SessionPool,
) -> None:
    dead = Holder("here", _dead_pid(), "old")
    alive = Holder("here", os.getppid(), "other")
    me = Holder("here", os.getpid(), "new")
    assert await _claim(session_pool, alive)
    assert not await _claim(session_pool, me)  # its process still runs
    async with session_pool() as session:
        await release(session, "x", alive, now=NOW - timedelta(seconds=1))
        await session.commit()
    assert await _claim(session_pool, dead)
    assert not await _claim(session_pool, Holder("elsewhere", 5, "t"))  # can't see that pid
    assert await _claim(session_pool, me)


async def test_our_own_pid_with_another_token_is_our_predecessor(
    session_pool: SessionPool,
) -> None:
    # A container's bot is pid 1 after every restart.
    assert await _claim(session_pool, Holder("box", 1, "before"))
    assert await _claim(session_pool, Holder("box", 1, "after")) is pid_alive(1)


async def test_a_fire_time_is_started_once(session_pool: SessionPool) -> None:
    monday = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert await _claim(session_pool, A, fire=monday)
    async with session_pool() as session:
        await release(session, "x", A, now=NOW + timedelta(seconds=5))
        await session.commit()
    # B's scheduler fired for the same Monday a little later: the run was done.
    assert not await _claim(session_pool, B, NOW + timedelta(seconds=6), fire=monday)
    assert not await _claim(
        session_pool, B, NOW + timedelta(seconds=6), fire=monday - timedelta(days=7)
    )
    next_week = monday + timedelta(days=7)
    assert await _claim(session_pool, B, NOW + timedelta(days=7), fire=next_week)


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())


CALLS: list[str] = []


async def _job(ctx: JobContext, name: str) -> None:
    CALLS.append(name)
    await asyncio.sleep(0.3)


async def test_a_cron_job_fired_on_three_instances_runs_once(app: Application) -> None:
    """Three schedulers (one per "instance", each its own holder) fire the same cron time."""
    CALLS.clear()
    ctx = app.job_context()
    schedulers: list[AsyncIOScheduler] = []
    fire = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    for n in range(3):
        scheduler = create_scheduler()
        scheduler.add_job(
            _job,
            trigger=CronTrigger(
                year=fire.year,
                month=fire.month,
                day=fire.day,
                hour=fire.hour,
                minute=fire.minute,
                second=fire.second,
                timezone=UTC,
            ),
            id="digest",
            kwargs={"ctx": ctx, "name": f"instance-{n}"},
        )
        schedulers.append(scheduler)
    holders = [Holder(f"instance-{n}", 10_000 + n, f"t{n}") for n in range(3)]
    try:
        for scheduler, holder in zip(schedulers, holders, strict=True):
            # Each scheduler's executor claims as its own instance.
            _as_holder(scheduler, holder)
            scheduler.start()
        await asyncio.sleep(3.5)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
    assert len(CALLS) == 1, CALLS


async def test_an_interval_job_never_overlaps_another_instances_run(app: Application) -> None:
    CALLS.clear()
    ctx = app.job_context()
    running = 0
    most = 0

    async def slow(ctx: JobContext, name: str) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        CALLS.append(name)
        await asyncio.sleep(0.7)
        running -= 1

    schedulers = []
    for n in range(2):
        scheduler = create_scheduler()
        scheduler.add_job(
            slow,
            trigger=IntervalTrigger(seconds=0.25, timezone=UTC),
            id="reminders",
            kwargs={"ctx": ctx, "name": f"instance-{n}"},
        )
        _as_holder(scheduler, Holder(f"instance-{n}", 20_000 + n, f"i{n}"))
        schedulers.append(scheduler)
        scheduler.start()
    try:
        await asyncio.sleep(2.5)
    finally:
        for scheduler in schedulers:
            scheduler.pause()
        await asyncio.sleep(1.2)  # the last runs finish and let their leases go
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
    assert CALLS  # it ran ...
    assert most == 1  # ... never twice at once


def _as_holder(scheduler: AsyncIOScheduler, holder: Holder) -> None:
    executor = scheduler._executors["default"]
    executor.holder = holder


async def test_a_second_instance_refuses_to_start(app: Application) -> None:
    other = Holder("elsewhere", 4242, "first")
    async with app.session_pool() as session:
        assert await claim(session, leases.INSTANCE, other, now=datetime.now(UTC), ttl=TTL)
        await session.commit()
    with pytest.raises(StartupError) as refused:
        async with single_instance(app):
            pytest.fail("started beside another instance")
    assert refused.value.exit_code == 3
    assert "Another Mitmachbot instance runs against this database" in str(refused.value)
    assert "host elsewhere, pid 4242" in str(refused.value)
    assert "REDIS_URL" in str(refused.value)


async def test_a_clean_stop_lets_the_next_start_at_once(app: Application) -> None:
    async with single_instance(app):
        async with app.session_pool() as session:
            held = await held_by(session, leases.INSTANCE)
        assert held is not None
        assert held.pid == os.getpid()
    async with single_instance(app):  # released: not refused
        pass


async def test_with_redis_several_instances_may_run(app: Application) -> None:
    other = Holder("elsewhere", 4242, "first")
    async with app.session_pool() as session:
        await claim(session, leases.INSTANCE, other, now=datetime.now(UTC), ttl=TTL)
        await session.commit()
    app.settings = app.settings.model_copy(update={"redis_url": "redis://127.0.0.1:6379/0"})
    presence = leases.presence_lease_name()
    async with single_instance(app):
        # Its sign of life for the others (bot.services.updates), held while it runs.
        async with app.session_pool() as session:
            held = await held_by(session, presence)
        assert held is not None
        assert held.holder == leases.this_process().id
        assert held.expires_at > datetime.now(UTC)
    async with app.session_pool() as session:
        gone = await held_by(session, presence)
        assert gone is not None
        assert gone.expires_at <= datetime.now(UTC)
        # Pruned a day after it expired.
        later = datetime.now(UTC) + timedelta(days=2)
        assert await leases.prune_presences(session, now=later, older=timedelta(days=1)) == 1
        await session.commit()
        assert await held_by(session, presence) is None


def _cancelled() -> None:
    raise asyncio.CancelledError


def test_a_job_cut_off_by_the_shutdown_is_one_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    create_scheduler()
    with caplog.at_level(logging.INFO, logger="apscheduler.executors.default"):
        try:
            _cancelled()
        except asyncio.CancelledError:
            logging.getLogger("apscheduler.executors.default").exception(
                "Job %r raised an exception", "broadcasts-progress"
            )
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    assert record.getMessage() == (
        "Job 'broadcasts-progress' raised an exception: cut off by the shutdown"
    )


async def test_with_redis_one_members_updates_wait_across_instances(settings: Settings) -> None:
    """Two instances' event isolations (REDIS_URL set) lock one member's updates in turn."""
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if not url:
        pytest.skip("needs Redis: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")

    shared = settings.model_copy(
        update={"redis_url": url, "redis_prefix": f"test-{uuid.uuid4().hex[:10]}"}
    )
    isolations = [create_events_isolation(shared) for _ in range(2)]
    assert all(isinstance(isolation, RedisEventIsolation) for isolation in isolations)
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    order: list[str] = []

    async def handle(isolation: Any, name: str) -> None:
        async with isolation.lock(key):
            order.append(f"{name} starts")
            await asyncio.sleep(0.3)
            order.append(f"{name} ends")

    try:
        await asyncio.gather(*(handle(iso, n) for iso, n in zip(isolations, "ab", strict=True)))
    except (RedisError, OSError) as exc:
        pytest.skip(f"Redis at {url} does not answer: {exc}")
    finally:
        for isolation in isolations:
            await isolation.redis.aclose()
    assert order in (
        ["a starts", "a ends", "b starts", "b ends"],
        ["b starts", "b ends", "a starts", "a ends"],
    )


def test_without_redis_the_locks_stay_in_the_process(settings: Settings) -> None:
    assert isinstance(create_events_isolation(settings), SimpleEventIsolation)


async def test_a_member_lock_lasts_as_long_as_the_work_and_no_longer(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock held past its TTL is renewed; one whose holder died is free within the TTL."""
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if not url:
        pytest.skip("needs Redis: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    monkeypatch.setattr(event_isolation, "LOCK_TTL", 0.3)
    shared = settings.model_copy(
        update={"redis_url": url, "redis_prefix": f"test-{uuid.uuid4().hex[:10]}"}
    )
    first, second = (create_events_isolation(shared) for _ in range(2))
    assert isinstance(first, event_isolation.RenewedRedisEventIsolation)
    key = StorageKey(bot_id=1, chat_id=43, user_id=43)
    loop = asyncio.get_running_loop()
    try:
        async with first.lock(key):
            # Held three TTLs long: the other instance must still wait.
            waiting = asyncio.create_task(_locked_at(second, key, loop))
            await asyncio.sleep(0.9)
            assert not waiting.done()
            released = loop.time()
        assert await waiting >= released
        # A holder killed while holding the lock (taken, never renewed, never released).
        lock_name = first.key_builder.build(key, "lock")
        await first.redis.set(lock_name, "killed-instance", px=300)
        started = loop.time()
        await _locked_at(second, key, loop)
        assert loop.time() - started < 1.0
    except (RedisError, OSError) as exc:
        pytest.skip(f"Redis at {url} does not answer: {exc}")
    finally:
        for isolation in (first, second):
            await isolation.redis.aclose()


async def _locked_at(isolation: Any, key: StorageKey, loop: asyncio.AbstractEventLoop) -> float:
    async with isolation.lock(key):
        return loop.time()


def test_a_holder_id_reads_back() -> None:
    holder = Holder("host-with:colon", 42, "0123456789ab")
    assert Holder.parse(holder.id) == holder
    for junk in ("", "host", "host:pid:token", "host:42:", "42"):
        assert Holder.parse(junk) is None
