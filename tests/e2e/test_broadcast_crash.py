"""End to end: the bot process is killed in the middle of sending; after a restart nobody is
skipped, and only messages that were claimed at the moment of the kill can arrive twice."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select

from bot.db.engine import create_engine
from bot.db.session import SessionPool, create_session_pool
from bot.services import broadcasts
from bot.services.audience import Audience
from models import Category, Delivery, DeliveryStatus
from models.base import utcnow
from tests.e2e.test_process import START_TIMEOUT, BotProcess
from tests.fakebotapi import FakeBotAPI, FakeUser
from tests.members import signed_up

pytestmark = pytest.mark.e2e

RECIPIENTS = 300
# The kill comes once about a third has gone out, at 25/s some four seconds in.
RATE = 25
KILL_AFTER = 100
LEASE_SECONDS = 5


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[SessionPool]:
    """The test's own connection to the database the bot processes use."""
    engine = create_engine(database_url)
    yield create_session_pool(engine)
    await engine.dispose()


@pytest.fixture
def bot_env(bot_env: dict[str, str]) -> dict[str, str]:
    """A deployment's environment with the default rate and a short lease."""
    # The default rate leaves Telegram's 30/s room for the progress message and replies.
    return {**bot_env, "SEND_RATE": str(RATE), "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS)}


async def _broadcast_due(pool: SessionPool, people: list[FakeUser], author: FakeUser) -> str:
    """Signed-up members and a broadcast to all of them, due now; returns its text.

    The organiser's message exists at the fake server (they sent it to the bot), so the copies
    are real copyMessage calls; the bot's broadcast job starts it as soon as it runs.
    """
    text = "Infostand am Samstag: wer hilft mit?"
    source = (await author.send_message(text))["message"]
    for person in people:
        await signed_up(pool, person)
    async with pool() as session:
        await broadcasts.schedule(
            session,
            author_id=author.id,
            source_chat_id=author.id,
            source_message_id=source["message_id"],
            content_type="text",
            summary=text,
            category=Category.CALLS_FOR_HELP,
            audience=Audience(),
            scheduled_at=utcnow(),
        )
        await session.commit()
    return text


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
    spawn: Callable[[str], BotProcess],
    fake_api: FakeBotAPI,
    pool: SessionPool,
    admin_user: FakeUser,
) -> None:
    people = [fake_api.add_user(first_name=f"M{n}", language_code="de") for n in range(RECIPIENTS)]
    text = await _broadcast_due(pool, people, admin_user)

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
        lambda rows: (
            len(rows) == RECIPIENTS and all(row.status is DeliveryStatus.SENT for row in rows)
        ),
        seconds=START_TIMEOUT + LEASE_SECONDS + RECIPIENTS / RATE * 2,
    )
    # The report comes once, from the second process, however the work was split.
    await fake_api.wait_for_message(
        admin_user.id,
        predicate=lambda sent: (sent.text or "").startswith("Rundschreiben #1 ist fertig."),
        timeout=10,
    )
    assert await second.stop() == 0
    reports = [
        sent
        for sent in fake_api.sent_to(admin_user.id)
        if (sent.text or "").startswith("Rundschreiben #1 ist fertig.")
    ]
    assert len(reports) == 1
    assert f"Zugestellt: {RECIPIENTS} von {RECIPIENTS}" in reports[0].text

    counts = {person.id: len(fake_api.sent_to(person.id)) for person in people}
    assert min(counts.values()) >= 1, "nobody is skipped"
    twice = {recipient for recipient, count in counts.items() if count > 1}
    assert twice <= claimed, "only messages claimed at the kill can be repeated"
    assert max(counts.values()) <= 2
    assert len(twice) <= len(claimed)
    for person in people:
        assert all(
            message.method == "copyMessage" and message.text == text
            for message in fake_api.sent_to(person.id)
        ), "a copy of the organiser's message"
    assert "Traceback" not in second.log()
    assert "took back deliveries whose sender stopped" in second.log()
    assert fake_api.limit_breaches(global_per_second=30) == []
