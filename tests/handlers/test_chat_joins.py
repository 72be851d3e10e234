"""Dispatcher tests: joins to the KV's groups are counted per chat and day, without ids.

A join Telegram reports twice (chat_member update and service message) counts once; a
redelivered update adds nothing; bots and chats the KV doesn't serve count not at all; a join
approved from a request arrives as a chat_member update and counts like any other.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bot.app import Application
from bot.services.chat_joins import JOINS
from models import ChatJoinDay
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeChat
from tests.handlers.test_greeting import Clock, _join, _serve, _service_message, clock

__all__ = ["clock"]  # fixture shared with test_greeting


async def _counts(app: Application, chat: FakeChat) -> tuple[int, int, int]:
    """(chat_member joins, service-message joins, joins as the report counts them)."""
    async with app.session_pool() as session:
        row = (
            await session.execute(
                select(
                    func.coalesce(func.sum(ChatJoinDay.joins), 0),
                    func.coalesce(func.sum(ChatJoinDay.announced), 0),
                    func.coalesce(func.sum(JOINS), 0),
                ).where(ChatJoinDay.chat_id == chat.id)
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2])


async def _days(app: Application) -> list[date]:
    async with app.session_pool() as session:
        return list(await session.scalars(select(ChatJoinDay.day)))


async def test_a_join_reported_both_ways_counts_once(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna, ben = fake_api.add_user(first_name="Anna"), fake_api.add_user(first_name="Ben")
    await _join(driver, anna, group)
    await _service_message(driver, fake_api, group, anna.as_dict())
    await _join(driver, ben, group)
    await _service_message(driver, fake_api, group, ben.as_dict())
    assert await _counts(app, group) == (2, 2, 2)
    # Stored on the KV's local day, nothing about who.
    assert await _days(app) == [utcnow().astimezone(app.settings.zone).date()]


async def test_service_messages_alone_count_where_the_bot_is_no_admin(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna, ben = fake_api.add_user(first_name="Anna"), fake_api.add_user(first_name="Ben")
    robot = {"id": 777000123, "is_bot": True, "first_name": "Robo"}
    await _service_message(driver, fake_api, group, anna.as_dict(), ben.as_dict(), robot)
    assert await _counts(app, group) == (0, 2, 2)


async def test_bots_and_unserved_chats_are_not_counted(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    served, other = fake_api.add_group("KV Mitte"), fake_api.add_group("Elsewhere")
    await _serve(app, served)
    anna = fake_api.add_user(first_name="Anna")
    await _join(driver, anna, other)
    await _service_message(driver, fake_api, other, anna.as_dict())
    robot = {"id": 777000124, "is_bot": True, "first_name": "Robo"}
    await _service_message(driver, fake_api, served, robot)
    assert await _counts(app, other) == (0, 0, 0)
    assert await _counts(app, served) == (0, 0, 0)
    assert await _days(app) == []


async def test_a_redelivered_update_is_counted_once(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna = fake_api.add_user(first_name="Anna")
    group.set_member_status(anna, "left")
    update = await anna.join(group)
    await driver.feed(update)
    await driver.feed(update)  # Telegram delivers it again (a webhook retry)
    assert await _counts(app, group) == (1, 0, 1)


async def test_an_approved_join_request_counts_as_a_join(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna = fake_api.add_user(first_name="Anna")
    group.set_member_status(anna, "left")
    await driver.feed(await anna.request_join(group))
    assert await _counts(app, group) == (0, 0, 0)  # asking is no join yet
    await driver.feed(
        await fake_api.change_member_status(group.id, anna.id, "member", via_join_request=True)
    )
    assert await _counts(app, group) == (1, 0, 1)
