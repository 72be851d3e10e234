"""End to end, in process: the real application over real HTTP, by long polling and by webhook."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram.types import BotCommandScopeChat
from pydantic import SecretStr

from bot.app import Application, build_application, run_polling, run_webhook
from bot.settings import Settings
from tests.fakebotapi import FakeBotAPI, FakeUser

pytestmark = pytest.mark.e2e

# Exactly the update types the routers handle; Telegram sends nothing else.
USED_UPDATES = {
    "message",
    "callback_query",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def polling(app: Application, fake_api: FakeBotAPI) -> AsyncIterator[Application]:
    """The bot running `run_polling` as `mitmachbot run` does, until the test ends."""
    task = asyncio.create_task(run_polling(app, handle_signals=False))
    # Start-up is done once the first long poll is waiting at the server.
    await fake_api.wait_until(lambda: fake_api.long_polls_waiting > 0, timeout=15)
    yield app
    await app.dispatcher.stop_polling()
    await asyncio.wait_for(task, timeout=10)


async def test_member_journey_by_polling(
    polling: Application, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    # Start-up: no webhook left behind, menus per language, the admin's personal menu.
    assert fake_api.webhook is None
    default = '{"type":"default"}'
    german = ["start", "hilfe", "profil", "gruppen", "termine", "aktionen", "gedenktage"]
    german += ["kalender", "einladen", "kv", "datenschutz", "einstellungen", "sprache"]
    english = ["start", "help", "profile", "groups", "dates", "actions", "memorials"]
    english += ["calendar", "invite", "kv", "privacy", "settings", "language"]
    assert [c["command"] for c in fake_api.commands[(default, "de")]] == [*german, "abbrechen"]
    assert [c["command"] for c in fake_api.commands[(default, "en")]] == [*english, "cancel"]
    admin_scope = BotCommandScopeChat(chat_id=admin_user.id).model_dump_json(exclude_none=True)
    assert [c["command"] for c in fake_api.commands[(admin_scope, "")]][-3:] == [
        "rolle",
        "rollen",
        "protokoll",
    ]
    assert polling.scheduler.get_job("housekeeping-prune-update-ids") is not None

    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    await anna.send_message("/start")
    greeting = await fake_api.wait_for_message(anna.id)
    assert greeting.text.startswith("Hallo Anna!")
    consent = await fake_api.wait_for_message(anna.id)
    await anna.press(consent, dict(consent.buttons)["Einverstanden"])
    step = await fake_api.wait_for_message(anna.id)
    assert step.text.startswith("Schritt 1 von 5")

    await anna.send_message("/hilfe")
    help_text = await fake_api.wait_for_message(anna.id)
    assert "/sprache – Sprache wechseln" in help_text.text
    assert "/rolle" not in help_text.text

    await anna.send_message("/sprache")
    menu = await fake_api.wait_for_message(anna.id)
    await anna.press(menu, dict(menu.buttons)["English"])
    await fake_api.wait_for_request("editMessageText")
    await anna.send_message("/help")
    english = await fake_api.wait_for_message(anna.id)
    assert english.text.startswith("What I can do for you:")

    # The admin gives Anna a role; Anna hears about it in her language.
    await admin_user.send_message("/rolle @anna_k")
    panel = await fake_api.wait_for_message(admin_user.id)
    [host] = [data for text, data in panel.buttons if text.endswith("Gastgeber:in")]
    await admin_user.press(panel, host)
    note = await fake_api.wait_for_message(anna.id)
    assert note.text.startswith("You now have the role Host.")

    # Polling used exactly the update types the routers handle.
    last_poll = [r for r in fake_api.requests if r.method == "getUpdates"][-1]
    assert set(last_poll.params["allowed_updates"]) == USED_UPDATES


async def test_webhook_mode(settings: Settings, fake_api: FakeBotAPI, admin_user: FakeUser) -> None:
    port = _free_port()
    webhook_settings = settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
            "webhook_secret": SecretStr("s3cret-token_for-tests"),
            "webhook_listen": f"127.0.0.1:{port}",
        }
    )
    app = await build_application(webhook_settings, migrate=False)
    stop = asyncio.Event()
    task = asyncio.create_task(run_webhook(app, stop=stop))
    try:
        registration = await fake_api.wait_for_request("setWebhook")
        assert registration.params["url"] == f"http://127.0.0.1:{port}/tg/hook"
        assert registration.params["secret_token"] == "s3cret-token_for-tests"
        assert set(registration.params["allowed_updates"]) == USED_UPDATES

        anna = fake_api.add_user(first_name="Anna", language_code="en")
        update = await anna.send_message("/start")
        reply = await fake_api.wait_for_message(anna.id)
        assert reply.text.startswith("Hello Anna!")
        await fake_api.wait_for_message(anna.id)  # the consent question
        # Answered once handled (after the replies), so a killed instance's update comes back.
        await fake_api.wait_until(
            lambda: (update["update_id"], 200) in fake_api.webhook_deliveries, timeout=10
        )

        # Without the secret, or with a wrong one: 401 and nothing handled.
        eve = fake_api.add_user(first_name="Eve", language_code="en")
        forged = {
            "update_id": 900_001,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": eve.id, "type": "private", "first_name": "Eve"},
                "from": eve.as_dict(),
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        assert await fake_api.post_to_webhook(forged, secret="wrong") == 401
        async with aiohttp.ClientSession() as client:
            async with client.post(
                f"http://127.0.0.1:{port}/tg/hook", data=json.dumps(forged)
            ) as response:
                assert response.status == 401
            async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200

        # A retried delivery of an update already handled runs no handler twice.
        assert await fake_api.post_to_webhook(update, secret="s3cret-token_for-tests") == 200
        await admin_user.send_message("/hilfe")
        await fake_api.wait_for_message(admin_user.id)
        assert len(fake_api.sent_to(anna.id)) == 2
        assert fake_api.sent_to(eve.id) == []
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await app.close()
