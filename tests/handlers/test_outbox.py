"""The delivery worker against the fake Bot API: sent, blocked, failed, retried, withdrawn,
skipped; recorded as it goes, stopped cleanly, and shared by two instances without doubles."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Application, build_application
from bot.context import JobContext
from bot.outbox.rendering import Renderer
from bot.outbox.worker import MAX_RENDER_ATTEMPTS, DeliveryWorker
from bot.services.delivery import enqueue
from bot.services.onboarding import INTAKE_REMINDER
from bot.services.pacing import Pacer, PacingLimits
from bot.services.preferences import set_opted_out
from bot.services.send_bucket import Grant, SendBucket
from bot.settings import Settings
from models import Category, Delivery, DeliveryStatus, Member
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser


async def _member_in_intake(driver: BotDriver, fake_api: FakeBotAPI, name: str) -> FakeUser:
    user = fake_api.add_user(first_name=name, language_code="en")
    [_greeting, consent] = await driver.send(user, "/start")
    await driver.press(user, consent, dict(consent.buttons)["Agree"])
    return user


async def _queue(app: Application, recipients: list[int]) -> None:
    async with app.session_pool() as session:
        enqueue(session, recipients, kind=INTAKE_REMINDER, payload={}, due_at=utcnow())
        await session.commit()


async def _rows(app: Application) -> dict[int, Delivery]:
    async with app.session_pool() as session:
        return {row.recipient_id: row for row in await session.scalars(select(Delivery))}


async def test_outcomes(driver: BotDriver, fake_api: FakeBotAPI, app: Application) -> None:
    ok, blocked, gone, flaky, limited = [
        await _member_in_intake(driver, fake_api, name)
        for name in ("Ok", "Blocked", "Gone", "Flaky", "Limited")
    ]
    fake_api.block(blocked.id)
    fake_api.fail(
        "sendMessage", status=400, description="Bad Request: chat not found", chat_id=gone.id
    )
    fake_api.fail("sendMessage", status=502, description="Bad Gateway", chat_id=flaky.id)
    fake_api.fail("sendMessage", status=429, retry_after=1, chat_id=limited.id)
    await _queue(app, [ok.id, blocked.id, gone.id, flaky.id, limited.id])
    assert await app.worker.run_once() == 5
    rows = await _rows(app)
    assert rows[ok.id].status is DeliveryStatus.SENT
    assert rows[blocked.id].status is DeliveryStatus.BLOCKED
    assert rows[gone.id].status is DeliveryStatus.FAILED
    assert rows[gone.id].last_error == "chat not found"
    # 429: everybody paused for retry_after, then the same message went out.
    assert rows[limited.id].status is DeliveryStatus.SENT
    # 502: tried again later, with backoff.
    assert rows[flaky.id].status is DeliveryStatus.PENDING
    assert rows[flaky.id].attempts == 1
    assert rows[flaky.id].due_at >= rows[flaky.id].created_at + timedelta(seconds=0.8)
    assert fake_api.sent_to(ok.id)[-1].text.startswith("Yesterday you started telling me")
    async with app.session_pool() as session:
        member = await session.get(Member, blocked.id)
        assert member is not None
        assert member.reachable is False
    assert await app.worker.run_once(now=utcnow() + timedelta(minutes=1)) == 1
    assert (await _rows(app))[flaky.id].status is DeliveryStatus.SENT


async def test_a_reminder_no_longer_wanted_is_withdrawn(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await driver.send(ben, "/start")  # no consent: nothing to remind of
    await _queue(app, [ben.id])
    before = len(fake_api.sent_to(ben.id))
    assert await app.worker.run_once() == 1
    assert len(fake_api.sent_to(ben.id)) == before
    assert (await _rows(app))[ben.id].status is DeliveryStatus.CANCELLED


async def test_two_thousand_recipients_with_faults_get_exactly_one_message_each(
    fake_api: FakeBotAPI, app: Application
) -> None:
    people = [fake_api.add_user(first_name=f"M{i}", language_code="de") for i in range(2000)]
    settings = app.settings.model_copy(update={"paid_broadcast": True, "send_rate": 1000.0})
    ctx = JobContext(app.session_pool, app.bot, app.i18n, settings)

    async def render(_session: object, row: Delivery, _member: object) -> tuple[str, None]:
        return f"Nachricht {row.id}", None

    worker = DeliveryWorker(
        ctx,
        Pacer(PacingLimits(global_per_second=1000.0, paid=True)),
        renderers={"test": render},
        batch_size=500,
    )
    async with app.session_pool() as session:
        enqueue(session, [p.id for p in people], kind="test", payload={}, due_at=utcnow())
        await session.commit()
    fake_api.inject_faults(rate=0.1, kinds=("5xx",), seed=3)
    now = utcnow()
    for _ in range(20):  # each round: everything due, then time moves past the backoffs
        while await worker.run_once(now=now):
            pass
        rows = await _rows(app)
        if all(row.status is DeliveryStatus.SENT for row in rows.values()):
            break
        now += timedelta(minutes=10)
    fake_api.stop_faults()
    assert all(row.status is DeliveryStatus.SENT for row in rows.values())
    assert [len(fake_api.sent_to(p.id)) for p in people] == [1] * 2000  # exactly once
    assert 100 < fake_api.injected["5xx"] < 320
    retried = [row for row in rows.values() if row.attempts > 1]
    assert len(retried) >= 100
    assert fake_api.limit_breaches() == []


# --- skipped before sending -------------------------------------------------------------------


async def _plain(_session: object, row: Delivery, _member: object) -> tuple[str, None]:
    return f"Nachricht {row.id}", None


def _worker(
    app: Application, rate: float, renderer: Renderer = _plain, **options: Any
) -> DeliveryWorker:
    paid = rate > 30
    settings = app.settings.model_copy(update={"paid_broadcast": paid, "send_rate": rate})
    return DeliveryWorker(
        JobContext(app.session_pool, app.bot, app.i18n, settings),
        Pacer(PacingLimits(global_per_second=rate, paid=paid)),
        renderers={"test": renderer},
        **options,
    )


async def _members(app: Application, people: list[FakeUser], *, reachable: bool = True) -> None:
    async with app.session_pool() as session:
        session.add_all(
            Member(id=person.id, first_name=person.first_name, reachable=reachable)
            for person in people
        )
        await session.commit()


async def _enqueue(
    app: Application, people: list[FakeUser], category: Category | None = None
) -> None:
    async with app.session_pool() as session:
        enqueue(
            session,
            [person.id for person in people],
            kind="test",
            payload={},
            due_at=utcnow(),
            category=category,
        )
        await session.commit()


async def _by_status(app: Application) -> Counter[DeliveryStatus]:
    async with app.session_pool() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        return Counter({DeliveryStatus(status): int(count) for status, count in rows})


async def _opt_out(app: Application, people: list[FakeUser], category: Category) -> None:
    async with app.session_pool() as session:
        for person in people:
            await set_opted_out(session, person.id, category, opted_out=True)
        await session.commit()


async def test_unreachable_and_opted_out_members_are_skipped_without_a_token(
    fake_api: FakeBotAPI, app: Application
) -> None:
    reachable, gone, quiet, stranger = [
        fake_api.add_user(first_name=name) for name in ("Ada", "Ben", "Cem", "Dua")
    ]
    await _members(app, [reachable, quiet])
    await _members(app, [gone], reachable=False)
    await _opt_out(app, [quiet], Category.ANNOUNCEMENTS)
    await _enqueue(app, [gone, quiet], Category.ANNOUNCEMENTS)
    # One send a second: had a skipped row taken the token, the next send would have to wait.
    worker = _worker(app, rate=1.0)
    assert await worker.run_once() == 2
    assert fake_api.sent_to(gone.id) == []
    assert fake_api.sent_to(quiet.id) == []
    assert worker._pacer.global_delay() == 0.0, "no pacing token was used"
    async with app.session_pool() as session:
        rows = {row.recipient_id: row for row in await session.scalars(select(Delivery))}
    assert (rows[gone.id].status, rows[gone.id].last_error) == (
        DeliveryStatus.BLOCKED,
        "unreachable",
    )
    assert (rows[quiet.id].status, rows[quiet.id].last_error) == (
        DeliveryStatus.CANCELLED,
        "opted out",
    )
    assert rows[gone.id].attempts == rows[quiet.id].attempts == 0

    # Opting out of announcements is not opting out of reminders; no category, no opt-out;
    # someone the bot never met (no member row) is not skipped.
    await _enqueue(app, [quiet, reachable, stranger], Category.REMINDERS)
    async with app.session_pool() as session:
        enqueue(session, [quiet.id], kind="test", payload={}, due_at=utcnow())
        await session.commit()
    worker = _worker(app, rate=1000.0)
    assert await worker.run_once() == 4
    assert len(fake_api.sent_to(quiet.id)) == 2
    assert len(fake_api.sent_to(reachable.id)) == 1
    assert len(fake_api.sent_to(stranger.id)) == 1


async def test_a_chat_that_answered_403_is_not_tried_again_in_the_same_run(
    fake_api: FakeBotAPI, app: Application
) -> None:
    gone = fake_api.add_user(first_name="Ben")
    fake_api.block(gone.id)
    await _enqueue(app, [gone])
    await _enqueue(app, [gone], Category.REMINDERS)
    assert await _worker(app, rate=1000.0).run_once() == 2
    tried = [r for r in fake_api.requests if r.params.get("chat_id") == gone.id]
    assert len(tried) == 1
    async with app.session_pool() as session:
        rows = list(await session.scalars(select(Delivery).order_by(Delivery.id)))
    assert [(row.status, row.last_error, row.attempts) for row in rows] == [
        (DeliveryStatus.BLOCKED, "blocked by the user", 1),
        (DeliveryStatus.BLOCKED, "unreachable", 0),
    ]


async def test_recipients_and_opt_outs_are_looked_up_per_batch_not_per_row(
    fake_api: FakeBotAPI, app: Application
) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        # Reads only: outcomes are written every FLUSH_EVERY sends, so updates do grow.
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    async def run(size: int) -> int:
        people = [fake_api.add_user(first_name=f"M{n}") for n in range(size)]
        await _members(app, people[:-1])
        await _members(app, people[-1:], reachable=False)
        await _opt_out(app, people[:2], Category.ANNOUNCEMENTS)
        half = size // 2
        await _enqueue(app, people[:half], Category.ANNOUNCEMENTS)
        await _enqueue(app, people[half:], Category.CALLS_FOR_HELP)
        worker = _worker(app, rate=1000.0, batch_size=500)
        statements.clear()
        event.listen(app.engine.sync_engine, "before_cursor_execute", count)
        try:
            assert await worker.run_once() == size
        finally:
            event.remove(app.engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    few, many = await run(6), await run(60)
    # Claim (2), recipients with their roles (2), opt-outs (1 per category): none per row.
    assert few == many == 6
    counts = await _by_status(app)
    assert counts[DeliveryStatus.CANCELLED] == 4  # two opted out, in each run
    assert counts[DeliveryStatus.BLOCKED] == 2
    assert counts[DeliveryStatus.SENT] == 66 - 6


async def test_a_row_whose_renderer_hits_a_database_error_does_not_block_the_rest(
    fake_api: FakeBotAPI, app: Application
) -> None:
    people = [fake_api.add_user(first_name=f"M{n}") for n in range(5)]
    poisoned = people[1].id

    async def render(session: AsyncSession, row: Delivery, member: object) -> tuple[str, None]:
        if row.recipient_id == poisoned:
            # A real statement failing: on PostgreSQL the whole transaction is aborted after it.
            await session.execute(text("SELECT no_such_column FROM deliveries"))
        return await _plain(session, row, member)

    await _members(app, people)
    await _enqueue(app, people)
    worker = _worker(app, rate=25.0, renderer=render)
    now = utcnow()
    assert await worker.run_once(now) == 5
    rows = await _rows(app)
    # The rest went out at once; the failing row waits for its retry, with its reason.
    assert [rows[p.id].status for p in people if p.id != poisoned] == [DeliveryStatus.SENT] * 4
    assert rows[poisoned].status is DeliveryStatus.PENDING
    assert rows[poisoned].attempts == 1
    assert rows[poisoned].last_error.startswith("rendering failed: ")
    assert rows[poisoned].due_at > now
    for attempt in range(2, MAX_RENDER_ATTEMPTS + 1):
        now += timedelta(hours=1)
        assert await worker.run_once(now) == 1
        row = (await _rows(app))[poisoned]
        assert row.attempts == attempt
    # Bounded: after the last attempt it is failed for good and never claimed again.
    assert row.status is DeliveryStatus.FAILED
    assert row.last_error.startswith("rendering failed: ")
    assert await worker.run_once(now + timedelta(days=1)) == 0
    assert fake_api.sent_to(poisoned) == []
    assert all(len(fake_api.sent_to(p.id)) == 1 for p in people if p.id != poisoned)


async def test_with_a_shared_bucket_every_send_takes_a_slot_of_it(
    fake_api: FakeBotAPI, app: Application
) -> None:
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if not url:
        pytest.skip("the shared send bucket needs TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    redis = Redis.from_url(url)
    key = f"test:send-rate:{uuid.uuid4().hex}"
    bucket = SendBucket(redis, key, 50.0)
    grants: list[Grant] = []
    reserve = bucket.reserve

    async def counted(count: int) -> Grant:
        grant = await reserve(count)
        grants.append(grant)
        return grant

    bucket.reserve = counted  # type: ignore[method-assign]
    people = [fake_api.add_user(first_name=f"M{n}") for n in range(12)]
    await _members(app, people)
    await _enqueue(app, people)
    worker = _worker(app, rate=25.0, bucket=bucket)
    try:
        assert await worker.run_once() == 12
    finally:
        await redis.delete(key)
        await bucket.close()
    assert all(len(fake_api.sent_to(p.id)) == 1 for p in people)
    # Every send waited for a slot of the schedule all instances share.
    assert sum(grant.count for grant in grants) >= 12
    assert fake_api.limit_breaches() == []


# --- recorded as it goes, stopped cleanly ------------------------------------------------------


async def _until(condition: Callable[[], Awaitable[bool]], *, seconds: float = 20.0) -> None:
    """Poll the database until `condition` holds (the worker runs in the background)."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.02)


async def test_outcomes_are_recorded_while_sending_and_stop_gives_back_the_rest(
    fake_api: FakeBotAPI, app: Application
) -> None:
    people = [fake_api.add_user(first_name=f"M{n}") for n in range(40)]
    await _enqueue(app, people)
    worker = _worker(app, rate=10.0)
    worker.start()

    async def some_recorded() -> bool:
        return (await _by_status(app))[DeliveryStatus.SENT] > 0

    await _until(some_recorded)
    sent = sum(len(fake_api.sent_to(person.id)) for person in people)
    assert sent < 30, "recorded long before the batch was through"
    await worker.stop()

    delivered = {person.id for person in people if fake_api.sent_to(person.id)}
    async with app.session_pool() as session:
        rows = list(await session.scalars(select(Delivery)))
    assert {row.recipient_id for row in rows if row.status is DeliveryStatus.SENT} == delivered
    unsent = [row for row in rows if row.recipient_id not in delivered]
    assert unsent, "stopped before the end"
    assert all(row.status is DeliveryStatus.PENDING for row in unsent)
    assert all(row.claimed_by is None and row.attempts == 0 for row in unsent)

    # Whoever picks them up later sends each of the rest once.
    later = _worker(app, rate=1000.0)
    while await later.run_once():
        pass
    assert [len(fake_api.sent_to(person.id)) for person in people] == [1] * 40


# --- two instances ------------------------------------------------------------------------------


async def test_two_instances_on_one_database_send_each_row_once(
    fake_api: FakeBotAPI, app: Application, settings: Settings, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip(
            "SQLite is single-sender by design: one process writes to the file; "
            "several instances need PostgreSQL (FOR UPDATE SKIP LOCKED)"
        )
    people = [fake_api.add_user(first_name=f"M{n}") for n in range(1000)]
    await _enqueue(app, people)
    # A second application: its own engine, connection pool and HTTP session, like a process.
    other = await build_application(settings, migrate=False)
    rendered: Counter[str] = Counter()

    def counting(name: str) -> Renderer:
        async def render(session: object, row: Delivery, member: object) -> tuple[str, None]:
            rendered[name] += 1
            return await _plain(session, row, member)

        return render

    # Small batches, so that the two claim side by side many times.
    workers = [
        _worker(instance, rate=1000.0, renderer=counting(name), batch_size=25, instance=name)
        for name, instance in (("one", app), ("two", other))
    ]
    try:
        for worker in workers:
            worker.start()

        async def all_sent() -> bool:
            return (await _by_status(app))[DeliveryStatus.SENT] == 1000

        await _until(all_sent, seconds=60)
        for worker in workers:
            await worker.stop()
    finally:
        for worker in workers:
            await worker.stop()
        await other.close()
    assert [len(fake_api.sent_to(person.id)) for person in people] == [1] * 1000
    assert rendered["one"] > 0
    assert rendered["two"] > 0
    assert rendered["one"] + rendered["two"] == 1000
