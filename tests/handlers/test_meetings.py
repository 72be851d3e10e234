"""Dispatcher tests of /termine: times in the KV's region, answers that say what they set."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.services.kv_setup import apply_setup, load_setup
from models import Attendance
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI
from tests.members import signed_up

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
async def kv(app: Application) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.commit()


async def _attendances(app: Application) -> int:
    async with app.session_pool() as session:
        return int(await session.scalar(select(func.count()).select_from(Attendance)) or 0)


async def test_english_readers_in_a_german_kv_see_the_kvs_clock(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await signed_up(app.session_pool, ben)
    [dates] = await driver.send(ben, "/dates")
    assert dates.text is not None
    lines = dates.text.splitlines()
    assert lines[0] == "The next meetings"
    assert lines[1].startswith("Thu, ")
    assert lines[1].endswith(", 19:00 – Stammtisch Mitte (Café Rosa)")
    assert "PM" not in dates.text
    label, _data = dates.buttons[0]
    assert label.startswith("✋ Thu, ")
    assert label.endswith(", 19:00 · Stammtisch Mitte")


async def test_a_repeated_press_sets_the_same_answer(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [dates] = await driver.send(anna, "/termine")
    coming = dates.buttons[0][1]
    for _press in range(2):
        assert await driver.press(anna, dates, coming) == []
        answer = driver.last_answer()
        assert answer["text"] == "Bis dann! Ich habe notiert, dass du kommst."
        assert not answer.get("show_alert")
        assert await _attendances(app) == 1
    assert dates.edits == 1
    not_coming = dates.buttons[0][1]
    assert not_coming != coming
    for _press in range(2):
        await driver.press(anna, dates, not_coming)
        assert driver.last_answer()["text"] == "Notiert: Du kommst nicht."
        assert await _attendances(app) == 0
