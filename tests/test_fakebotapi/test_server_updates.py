"""Update delivery: getUpdates offsets and long polling, webhooks with secret and retries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiohttp import web

from tests.fakebotapi import FakeBotAPI
from tests.test_fakebotapi.conftest import Receiver, WebHandler

StartReceiver = Callable[[WebHandler], Awaitable[Receiver]]


async def test_get_updates_offset_semantics(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    for text in ("eins", "zwei", "drei"):
        await anna.send_message(text)
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["eins", "zwei", "drei"]
    # Without an offset nothing is confirmed: the same updates come again.
    assert len(await bot.get_updates()) == 3
    assert [u.update_id for u in await bot.get_updates(offset=updates[1].update_id)] == [
        updates[1].update_id,
        updates[2].update_id,
    ]
    assert len(await bot.get_updates(limit=1)) == 1
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == []
    assert server.pending_updates == []
    assert server.get_updates_calls == 5


async def test_allowed_updates_filter(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    group = server.add_group()
    await anna.send_message("hallo")
    await anna.leave(group)
    # chat_member is only delivered when asked for explicitly, like on Telegram.
    updates = await bot.get_updates()
    assert [u.message is not None for u in updates] == [True]
    await anna.join(group)
    updates = await bot.get_updates(allowed_updates=["chat_member"])
    assert [u.chat_member.new_chat_member.status for u in updates if u.chat_member] == ["member"]


async def test_long_poll_wakes_when_an_update_arrives(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    started = asyncio.get_running_loop().time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await server.wait_until(lambda: server.long_polls_waiting == 1)
    await anna.send_message("/start")
    updates = await asyncio.wait_for(poll, timeout=5)
    assert [u.message.text for u in updates if u.message] == ["/start"]
    assert asyncio.get_running_loop().time() - started < 5


async def test_second_poll_terminates_the_first(bot: Bot, server: FakeBotAPI) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await server.wait_until(lambda: server.long_polls_waiting == 1)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []


async def test_get_updates_conflicts_with_a_webhook(bot: Bot, server: FakeBotAPI) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates() == []


async def test_pending_poll_ends_when_the_server_stops(bot: Bot, server: FakeBotAPI) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await server.wait_until(lambda: server.long_polls_waiting == 1)
    await server.stop()
    assert await asyncio.wait_for(poll, timeout=5) == []


async def test_webhook_delivery_with_secret_and_retry(
    bot: Bot, server: FakeBotAPI, receiver_factory: StartReceiver
) -> None:
    statuses = iter([500, 200])

    async def flaky(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != "geheim":
            return web.Response(status=401)
        return web.json_response({}, status=next(statuses))

    receiver = await receiver_factory(flaky)
    await bot.set_webhook(receiver.url, secret_token="geheim", allowed_updates=["message"])
    assert server.webhook == {
        "url": receiver.url,
        "secret_token": "geheim",
        "allowed_updates": ["message"],
        "drop_pending_updates": False,
        "max_connections": 40,
    }
    anna = server.add_user()
    update = await anna.send_message("/start")
    assert await server.wait_for_webhook_delivery(update["update_id"]) == [500, 200]
    assert server.webhook_deliveries == [(update["update_id"], 500), (update["update_id"], 200)]
    headers, body = receiver.requests[-1]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "geheim"
    assert json.loads(body) == update
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == (receiver.url, 0)

    assert await server.post_to_webhook(update, secret="falsch") == 401
    assert await server.post_to_webhook(update, secret=None) == 401


async def test_failing_webhook_keeps_the_update_pending(
    bot: Bot, server: FakeBotAPI, receiver_factory: StartReceiver
) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=502)

    receiver = await receiver_factory(broken)
    await bot.set_webhook(receiver.url)
    update = await server.add_user().send_message("hallo")
    attempts = 1 + len(server.webhook_retry_delays)
    await server.wait_until(lambda: len(server.webhook_deliveries) == attempts)
    assert server.webhook_deliveries == [(update["update_id"], 502)] * attempts
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 502"
    # Dropping pending updates on deleteWebhook forgets it.
    await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_method_in_webhook_response_is_executed(
    server: FakeBotAPI, receiver_factory: StartReceiver
) -> None:
    anna = server.add_user()

    async def replying(request: web.Request) -> web.Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "Hallo!"})

    receiver = await receiver_factory(replying)
    update = await anna.send_message("hi")
    assert await server.post_to_webhook(update, url=receiver.url) == 200
    reply = await server.wait_for_message(anna.id)
    assert reply.text == "Hallo!"
    request = await server.wait_for_request("sendMessage")
    assert request.source == "webhook_reply"


async def test_dispatcher_polling_end_to_end(bot: Bot, server: FakeBotAPI) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(f"Hallo <b>{message.from_user.first_name}</b>!")

    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, polling_timeout=5)
    )
    anna = server.add_user(first_name="Anna")
    await anna.send_message("/start")
    reply = await server.wait_for_message(anna.id)
    assert reply.text == "Hallo Anna!"
    poll = await server.wait_for_request("getUpdates")
    assert poll.params["allowed_updates"] == ["message"]
    await dispatcher.stop_polling()
    await asyncio.wait_for(polling, timeout=10)
