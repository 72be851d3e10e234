"""The delivery worker against the fake Bot API: sent, blocked, failed, retried, withdrawn."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import Application
from bot.outbox import DeliveryWorker
from bot.services.delivery import enqueue
from bot.services.pacing import Pacer, PacingLimits
from jobs.context import JobContext
from jobs.onboarding import INTAKE_REMINDER
from models import Delivery, DeliveryStatus, Member
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
    assert fake_api.sent_to(ok.id)[-1].text.startswith("You started telling me")
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
