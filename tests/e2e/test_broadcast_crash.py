"""End to end: the bot process is killed in the middle of sending; after a restart nobody is
skipped, and only messages that were claimed at the moment of the kill can arrive twice."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import SessionPool, create_engine, create_session_pool
from bot.services.delivery import enqueue
from jobs.onboarding import INTAKE_REMINDER
from models import Category, Delivery, DeliveryStatus, Member, Profile
from models.base import utcnow
from tests.e2e.test_process import START_TIMEOUT, BotProcess
from tests.fakebotapi import FakeBotAPI, FakeUser

pytestmark = pytest.mark.e2e

RECIPIENTS = 300
# The kill comes once about a third has gone out, at 30/s some four seconds in.
KILL_AFTER = 100
LEASE_SECONDS = 5


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[SessionPool]:
    """The test's own connection to the database the bot processes use."""
    engine = create_engine(database_url)
    yield create_session_pool(engine)
    await engine.dispose()


@pytest.fixture
def bot_env(fake_api: FakeBotAPI, database_url: str, admin_user: FakeUser) -> dict[str, str]:
    """A deployment's environment: the fastest free rate and a short lease."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_URL": fake_api.api_url,
        "DATABASE_URL": database_url,
        "ADMIN_IDS": str(admin_user.id),
        "KV_NAME": "KV Testhausen",
        "LOG_LEVEL": "INFO",
        "SEND_RATE": "30",
        "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
    }


@pytest.fixture
async def spawn(
    bot_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[Callable[[str], BotProcess]]:
    """Bot processes, each with its own log; any still running at the end are killed."""
    made: list[BotProcess] = []

    def make(name: str) -> BotProcess:
        process = BotProcess(bot_env, tmp_path, tmp_path / f"{name}.log")
        made.append(process)
        return process

    yield make
    for process in made:
        if process.process is not None:
            await process.stop(signal.SIGKILL)


async def _members_in_intake(pool: SessionPool, people: list[FakeUser]) -> None:
    """Members who left the intake unfinished, each with a reminder due now (plain inserts)."""
    now = utcnow()
    async with pool() as session:
        for person in people:
            session.add(Member(id=person.id, first_name=person.first_name, language="de"))
            # Reminded already as far as the reminder job is concerned, so it adds none.
            session.add(
                Profile(
                    member_id=person.id,
                    intake_started_at=now - timedelta(days=1),
                    intake_reminded_at=now,
                )
            )
        await session.flush()
        enqueue(
            session,
            [person.id for person in people],
            kind=INTAKE_REMINDER,
            payload={},
            due_at=now,
            category=Category.REMINDERS,
        )
        await session.commit()


async def _rows(pool: SessionPool) -> list[Delivery]:
    async with pool() as session:
        return list(await session.scalars(select(Delivery)))


async def _wait_for_rows(
    pool: SessionPool, done: Callable[[list[Delivery]], bool], seconds: float
) -> list[Delivery]:
    deadline = time.monotonic() + seconds
    while not done(rows := await _rows(pool)):
        assert time.monotonic() < deadline, "the outbox did not get there in time"
        await asyncio.sleep(0.2)
    return rows


async def test_a_kill_mid_broadcast_skips_nobody_and_repeats_only_what_was_claimed(
    spawn: Callable[[str], BotProcess], fake_api: FakeBotAPI, pool: SessionPool
) -> None:
    people = [fake_api.add_user(first_name=f"M{n}", language_code="de") for n in range(RECIPIENTS)]
    await _members_in_intake(pool, people)

    def received() -> int:
        return sum(1 for person in people if fake_api.sent_to(person.id))

    first = spawn("first")
    await first.start("run")
    try:
        await fake_api.wait_until(lambda: received() >= KILL_AFTER, timeout=START_TIMEOUT)
    except AssertionError:
        pytest.fail(f"the first process sent too little; its log:\n{first.log()}")
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    before_kill = {person.id: len(fake_api.sent_to(person.id)) for person in people}
    assert KILL_AFTER <= sum(before_kill.values()) < RECIPIENTS, "killed in the middle"

    # What the dead process held: sent or not, it had not recorded them.
    rows = await _rows(pool)
    claimed = {row.recipient_id for row in rows if row.status is DeliveryStatus.SENDING}
    recorded = {row.recipient_id for row in rows if row.status is DeliveryStatus.SENT}
    assert claimed, "the process died holding a claim"
    assert all(before_kill[recipient] == 1 for recipient in recorded)

    second = spawn("second")
    await second.start("run")
    # The held rows come back once the lease has run out; everything else goes on at once.
    rows = await _wait_for_rows(
        pool,
        lambda rows: all(row.status is DeliveryStatus.SENT for row in rows),
        seconds=START_TIMEOUT + LEASE_SECONDS + RECIPIENTS / 30 * 2,
    )
    assert await second.stop() == 0

    counts = {person.id: len(fake_api.sent_to(person.id)) for person in people}
    assert min(counts.values()) >= 1, "nobody is skipped"
    twice = {recipient for recipient, count in counts.items() if count > 1}
    assert twice <= claimed, "only messages claimed at the kill can be repeated"
    assert max(counts.values()) <= 2
    assert len(twice) <= len(claimed)
    for person in people:
        assert all(
            message.text.startswith("Du hast mir gestern")
            for message in fake_api.sent_to(person.id)
        ), "the reminder, in German"
    assert "Traceback" not in second.log()
    assert "took back deliveries whose sender stopped" in second.log()
    assert fake_api.limit_breaches(global_per_second=30) == []
