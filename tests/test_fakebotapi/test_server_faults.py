"""Errors the bot must cope with: injected faults, blocked users, unknown chats, bad input."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from tests.fakebotapi import ApiCall, ApiError, FakeBotAPI


async def test_429_reaches_aiogram_as_retry_after(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    server.fail("sendMessage", status=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(anna.id, "eins")
    assert caught.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in caught.value.message
    # The fault was used up; the next call goes through.
    await bot.send_message(anna.id, "zwei")
    assert [m.text for m in server.sent_to(anna.id)] == ["zwei"]
    assert [r.status for r in server.requests] == [429, 200]


async def test_faults_by_chat_and_count(bot: Bot, server: FakeBotAPI) -> None:
    anna, ben = server.add_user(), server.add_user(first_name="Ben")
    server.fail("sendMessage", status=500, times=2, chat_id=ben.id)
    await bot.send_message(anna.id, "an Anna")
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(ben.id, "an Ben")
    await bot.send_message(ben.id, "an Ben")
    assert server.faults == []


async def test_blocked_user_gets_403(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    update = await anna.block_bot()
    event = update["my_chat_member"]
    assert (event["old_chat_member"]["status"], event["new_chat_member"]["status"]) == (
        "member",
        "kicked",
    )
    assert event["new_chat_member"]["user"]["id"] == server.bot_id
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(anna.id, "Hallo?")
    await anna.unblock_bot()
    await bot.send_message(anna.id, "Hallo!")

    server.block(anna.id)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(anna.id, "Hallo?")
    server.unblock(anna.id)
    await bot.send_message(anna.id, "Wieder da")


async def test_never_started_user_and_unknown_chat(bot: Bot, server: FakeBotAPI) -> None:
    shy = server.add_user(started=False)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(shy.id, "Hallo")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "Hallo")
    # A chat the server saw in an update is known.
    await server.push_update(
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 777, "type": "private", "first_name": "X"},
                "from": {"id": 777, "is_bot": False, "first_name": "X"},
                "text": "hi",
            }
        }
    )
    await bot.send_message(777, "Hallo X")


async def test_wrong_token_is_unauthorized(server: FakeBotAPI) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.api_url))
    async with Bot("42:wrong-token", session=session) as stranger:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    assert server.requests[-1].status == 401


async def test_unknown_method_is_404_and_a_violation(server: FakeBotAPI) -> None:
    url = f"{server.api_url}/bot{server.token}/sendMesage"
    async with aiohttp.ClientSession() as client, client.post(url, data={"x": "1"}) as response:
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }
    assert server.violations == ["sendMesage: unknown method 'sendMesage'"]
    server.violations.clear()


async def test_limit_and_html_violations_answer_like_telegram(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Unsupported start tag"):
        await bot.send_message(anna.id, "<div>nein</div>")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(anna.id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(anna.id, "")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="x" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(anna.id, "Wahl", reply_markup=keyboard)
    # Telegram shows a bare "&" literally; the test still learns about it.
    message = await bot.send_message(anna.id, "Tom & Jerry")
    assert message.text == "Tom & Jerry"
    assert server.violations == [
        'sendMessage: text: Unsupported start tag "div" at byte offset 0',
        "sendMessage: text is 4097 characters after entity parsing (limit 4096)",
        # aiogram drops the empty string, so only the spec notices the missing text.
        *(["sendMessage: missing required field 'text'"] if server.spec else []),
        "sendMessage: inline button [0][0] ('A') callback_data is 65 bytes (must be 1-64): "
        f"'{'x' * 65}'",
        'sendMessage: text: bare "&" at byte offset 4 must be escaped as "&amp;"',
    ]
    assert [r.status for r in server.requests] == [400, 400, 400, 400, 200]
    server.violations.clear()


async def test_delay_and_rules(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    server.set_delay("sendChatAction", 0.05)
    await bot.send_chat_action(anna.id, "typing")
    request = server.requests[-1]
    assert request.answered_at is not None
    assert request.answered_at - request.at >= 0.05

    seen: list[str] = []

    async def only_german(call: ApiCall) -> None:
        seen.append(call.method)
        if call.method == "sendMessage" and "Hallo" not in call.params.get("text", ""):
            raise ApiError(400, "Bad Request: only German here")

    server.rules.append(only_german)
    await bot.send_message(anna.id, "Hallo")
    with pytest.raises(TelegramBadRequest, match="only German"):
        await bot.send_message(anna.id, "Hello")
    assert seen == ["sendMessage", "sendMessage"]


async def test_wait_for_message_reports_what_arrived(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    await bot.send_message(anna.id, "eins")
    await bot.send_message(anna.id, "zwei")
    first = await server.wait_for_message(anna.id)
    assert first.text == "eins"
    second = await server.wait_for_message(anna.id, predicate=lambda m: m.text == "zwei")
    assert second.text == "zwei"
    with pytest.raises(AssertionError, match=r"received 2 message\(s\)") as caught:
        await server.wait_for_message(anna.id, timeout=0.05)
    assert "'zwei'" in str(caught.value)
    request = await server.wait_for_request("sendMessage")
    assert request.params["text"] == "eins"
    assert (await server.wait_for_request("sendMessage")).params["text"] == "zwei"
    with pytest.raises(AssertionError, match="no matching sendMessage"):
        await server.wait_for_request("sendMessage", timeout=0.05)
