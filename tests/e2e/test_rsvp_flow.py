"""End to end: members answer a meeting through the running bot process (polling, the horizon
job, the outbox worker): capacity, the waiting list, and moving up told at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select

from bot.db.engine import create_engine
from bot.db.session import SessionPool, create_session_pool
from bot.services import schedule
from bot.services.kv_setup import apply_setup, load_setup
from models import Meeting
from models.base import utcnow
from tests.e2e.test_process import START_TIMEOUT, BotProcess
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

pytestmark = pytest.mark.e2e

SETUP = """
name: KV Testhausen
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    meets: every Thursday 19:00
    place: Café Rosa
"""


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[SessionPool]:
    """The test's own connection to the database the bot process uses."""
    engine = create_engine(database_url)
    yield create_session_pool(engine)
    await engine.dispose()


async def _first_meeting(pool: SessionPool) -> Meeting:
    """The bot's horizon job makes the dates at start-up; wait for them."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        async with pool() as session:
            found = await session.scalar(select(Meeting).order_by(Meeting.starts_at).limit(1))
        if found is not None:
            return found
        await asyncio.sleep(0.2)
    pytest.fail("the bot made no meeting dates")


def _data(message: SentMessage, prefix: str) -> str:
    [data] = [data for _label, data in message.buttons if data.startswith(prefix)]
    return data


async def _answer(fake_api: FakeBotAPI, user: FakeUser, card: SentMessage, action: str) -> str:
    """Press an answer button on the card; returns the bot's short answer to the press."""
    answered = len(fake_api.callback_answers)
    await user.press(card, _data(card, f"rv1:{action}:"), must_exist=True)
    await fake_api.wait_until(lambda: len(fake_api.callback_answers) > answered, timeout=10)
    return str(fake_api.callback_answers[answered].get("text"))


async def _open_card(fake_api: FakeBotAPI, user: FakeUser) -> SentMessage:
    await user.send_message("/termine")
    dates = await fake_api.wait_for_message(user.id, timeout=10)
    await user.press(dates, dates.buttons[0][1], must_exist=True)
    return await fake_api.wait_for_message(user.id, timeout=10)


async def test_capacity_waiting_list_and_promotion_through_the_process(
    spawn: Callable[..., BotProcess], fake_api: FakeBotAPI, pool: SessionPool
) -> None:
    async with pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.commit()
    anna, ben, carla, dana = [
        fake_api.add_user(first_name=name, language_code="de")
        for name in ("Anna", "Ben", "Carla", "Dana")
    ]
    for user in (anna, ben, carla, dana):
        await signed_up(pool, user)
    bot = spawn()
    await bot.start("run")
    try:
        meeting = await _first_meeting(pool)
        async with pool() as session:
            await schedule.set_capacity(session, meeting.id, 2, now=utcnow())
            await session.commit()

        cards = {user.id: await _open_card(fake_api, user) for user in (anna, ben, carla, dana)}
        assert "noch 2 Plätze frei" in cards[anna.id].text
        said = [
            await _answer(fake_api, user, cards[user.id], "y") for user in (anna, ben, carla, dana)
        ]
        assert said == [
            "Bis dann! Ich habe notiert, dass du kommst.",
            "Bis dann! Ich habe notiert, dass du kommst.",
            "Es ist voll: Dein Platz auf der Warteliste: 1.",
            "Es ist voll: Dein Platz auf der Warteliste: 2.",
        ]
        await fake_api.wait_until(lambda: "⏳ 2 warten · voll" in cards[dana.id].text, timeout=10)

        # Ben can't come after all: Carla, first in line, moves up and hears it at once.
        assert await _answer(fake_api, ben, cards[ben.id], "n") == "Notiert: Du kommst nicht."
        notice = await fake_api.wait_for_message(
            carla.id,
            predicate=lambda sent: (sent.text or "").startswith("🎉 Ein Platz ist frei geworden"),
            timeout=15,
        )
        assert notice.text.endswith("Du kommst.")
        assert "⏳ 1 wartet · voll" in notice.text
        # Dana still waits; from the notice Carla could give her place back with one tap.
        assert _data(notice, "rv1:n:")
        assert await _answer(fake_api, carla, notice, "n") == "Notiert: Du kommst nicht."
        await fake_api.wait_for_message(
            dana.id,
            predicate=lambda sent: (sent.text or "").startswith("🎉 Ein Platz ist frei geworden"),
            timeout=15,
        )
    finally:
        assert await bot.stop() == 0, bot.log()
    assert "Traceback" not in bot.log()
