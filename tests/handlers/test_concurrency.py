"""Concurrent handlers: no "database is locked", and one member's presses never overlap."""

from __future__ import annotations

import asyncio
from typing import Any

import aiogram.dispatcher.event.handler as aiogram_handler
import pytest
from sqlalchemy import func, select

import handlers.basics
from bot.app import Application
from models import Member, ProcessedUpdate
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI


async def test_many_members_at_once(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    people = [fake_api.add_user(first_name=f"P{i}", language_code="de") for i in range(40)]
    updates = [await person.send_message("/start") for person in people]
    updates += [await person.send_message("/sprache") for person in people]
    await asyncio.gather(*(driver.feed(update) for update in updates))
    for person in people:
        assert len(fake_api.sent_to(person.id)) == 3  # greeting, consent question, languages
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 40
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 80


async def test_two_quick_presses_by_one_member_run_one_after_the_other(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [menu] = await driver.send(anna, "/sprache")
    buttons = dict(menu.buttons)
    running = 0
    overlap = 0
    original = handlers.basics.set_language

    async def slow_set_language(*args: Any, **kwargs: Any) -> bool:
        nonlocal running, overlap
        running += 1
        overlap = max(overlap, running)
        await asyncio.sleep(0.05)  # widen the window a race would need
        try:
            return await original(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(handlers.basics, "set_language", slow_set_language)
    first = await anna.press(menu, buttons["English"])
    second = await anna.press(menu, buttons["Deutsch"])
    await asyncio.gather(driver.feed(first), driver.feed(second))
    assert overlap == 1
    async with app.session_pool() as session:
        member = await session.get(Member, anna.id)
    assert member is not None
    assert member.language == "de"  # the later press wins, as the member expects


async def test_handling_updates_needs_no_worker_threads(
    driver: BotDriver, fake_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filters and database calls run on the event loop: a thread hand-off per call would cost
    more than the work, and with many updates in flight every wake-up waits behind them all."""
    handed_off: list[object] = []
    original = aiogram_handler.asyncio.to_thread

    async def to_thread(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        handed_off.append(getattr(function, "func", function))
        return await original(function, *args, **kwargs)

    monkeypatch.setattr(aiogram_handler.asyncio, "to_thread", to_thread)
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    group = fake_api.add_group(title="KV Mitte")
    await driver.send(anna, "/start")
    [menu] = await driver.send(anna, "/sprache")
    await driver.press(anna, menu, dict(menu.buttons)["English"])
    await driver.feed(await anna.send_message("hallo", chat=group))
    assert handed_off == []
