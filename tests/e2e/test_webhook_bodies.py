"""The webhook answers 400, in one log line without the body, to what isn't a Telegram update;
200 once an update was handled (or after ANSWER_WITHIN); 503 with Retry-After to an update
another live instance is handling."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import Application, build_application
from bot.settings import Settings
from bot.web import UpdateRequestHandler, build_web_app
from tests.fakebotapi import FakeBotAPI
from tests.update_claims import claimed_by_live_instance

pytestmark = pytest.mark.e2e

SECRET = "body-check-secret_0123"
PATH = "/tg/hook"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
# A member's words in a body that isn't an update must not reach the log.
PRIVATE = "Anna Beispiel wohnt in der Gartenstraße"


@pytest.fixture
async def webhook(
    settings: Settings, fake_api: FakeBotAPI
) -> AsyncIterator[tuple[Application, TestClient]]:
    """The webhook app over real HTTP, the dispatcher started as run_webhook starts it."""
    webhook_settings = settings.model_copy(
        update={
            "webhook_url": f"https://bot.example.org{PATH}",
            "webhook_secret": SecretStr(SECRET),
        }
    )
    app = await build_application(webhook_settings, migrate=False)
    await app.dispatcher.emit_startup(bot=app.bot, dispatcher=app.dispatcher)
    try:
        async with TestClient(TestServer(build_web_app(app, webhook=True))) as client:
            yield app, client
    finally:
        await app.dispatcher.emit_shutdown(bot=app.bot, dispatcher=app.dispatcher)
        await app.close()


def _update(fake_api: FakeBotAPI, user_id: int, text: str, update_id: int) -> dict[str, object]:
    user = next(u for u in fake_api.users if u.id == user_id)
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "from": user.as_dict(),
            "text": text,
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


def app_routes(client: TestClient) -> Iterator[Any]:
    """The handlers behind the web app's routes (bound methods' objects)."""
    for route in client.server.app.router.routes():
        yield getattr(route.handler, "__self__", route.handler)


BAD_BODIES = [
    (b'{"update_id": 7, "message": ', "the body is not JSON"),
    (f'{{"note": "{PRIVATE}"'.encode(), "the body is not JSON"),
    (b"\xff\xfe not utf-8", "the body is not JSON"),
    (b"", "the body is not JSON"),
    (json.dumps([{"update_id": 7}]).encode(), "not a Telegram update (the body: "),
    (b"42", "not a Telegram update (the body: "),
    (b"null", "not a Telegram update (the body: "),
    (json.dumps({"note": PRIVATE}).encode(), "not a Telegram update (update_id: Field required)"),
    (json.dumps({"update_id": "seven"}).encode(), "not a Telegram update (update_id: "),
    (
        json.dumps({"update_id": 7, "message": {"message_id": "x", "text": PRIVATE}}).encode(),
        "not a Telegram update (message.message_id: ",
    ),
    (b"[" * 100_000, "the body is nested too deeply"),
]


async def test_a_body_that_is_no_update_gets_400_and_one_log_line(
    webhook: tuple[Application, TestClient],
    fake_api: FakeBotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _app, client = webhook
    caplog.set_level(logging.INFO)
    for body, reason in BAD_BODIES:
        caplog.clear()
        response = await client.post(PATH, data=body, headers=HEADERS)
        text = await response.text()
        assert response.status == 400, (body[:60], text)
        assert text.startswith(f"Bad Request: {reason}"), (body[:60], text)
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        [warning] = warnings
        assert warning.exc_info is None
        assert warning.getMessage().startswith(f"webhook request rejected with 400: {reason}")
        assert PRIVATE not in caplog.text
        assert "Traceback" not in caplog.text

    # The secret is checked first: a stranger's junk gets 401 and is not even read.
    wrong = {**HEADERS, "X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
    response = await client.post(PATH, data=b"{not json", headers=wrong)
    assert response.status == 401


async def test_a_good_update_still_gets_200_and_is_handled(
    webhook: tuple[Application, TestClient],
    fake_api: FakeBotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _app, client = webhook
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    response = await client.post(
        PATH, data=json.dumps(_update(fake_api, anna.id, "/start", 501)), headers=HEADERS
    )
    assert response.status == 200
    greeting = await fake_api.wait_for_message(anna.id)
    assert greeting.text.startswith("Hello Anna!")

    # Telegram always says application/json; a body that is an update is one all the same.
    bert = fake_api.add_user(first_name="Bert", language_code="en")
    plain = {**HEADERS, "Content-Type": "text/plain"}
    response = await client.post(
        PATH, data=json.dumps(_update(fake_api, bert.id, "/start", 502)), headers=plain
    )
    assert response.status == 200
    assert (await fake_api.wait_for_message(bert.id)).text.startswith("Hello Bert!")

    assert "Traceback" not in caplog.text


async def test_a_huge_body_gets_413(webhook: tuple[Application, TestClient]) -> None:
    _app, client = webhook
    body = json.dumps({"update_id": 1, "padding": "x" * (2 * 1024 * 1024)})
    response = await client.post(PATH, data=body, headers=HEADERS)
    assert response.status == 413


async def test_the_answer_waits_for_the_handler(
    webhook: tuple[Application, TestClient], fake_api: FakeBotAPI
) -> None:
    _app, client = webhook
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    fake_api.set_delay("sendMessage", 0.5)
    response = await client.post(
        PATH, data=json.dumps(_update(fake_api, anna.id, "/help", 601)), headers=HEADERS
    )
    # Answered after the reply went out: a killed instance's update is never answered.
    assert response.status == 200
    assert len(fake_api.sent_to(anna.id)) == 1


async def test_a_slow_handler_is_answered_after_the_bound_and_finishes(
    webhook: tuple[Application, TestClient],
    fake_api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _app, client = webhook
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    handler = next(h for h in app_routes(client) if isinstance(h, UpdateRequestHandler))
    monkeypatch.setattr(handler, "answer_within", 0.1)
    fake_api.set_delay("sendMessage", 1.0)
    response = await client.post(
        PATH, data=json.dumps(_update(fake_api, anna.id, "/help", 602)), headers=HEADERS
    )
    assert response.status == 200
    assert fake_api.sent_to(anna.id) == []
    assert (await fake_api.wait_for_message(anna.id, timeout=10)).text


async def test_an_update_another_instance_handles_gets_503(
    webhook: tuple[Application, TestClient], fake_api: FakeBotAPI
) -> None:
    app, client = webhook
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    await claimed_by_live_instance(app.session_pool, 603)
    response = await client.post(
        PATH, data=json.dumps(_update(fake_api, anna.id, "/help", 603)), headers=HEADERS
    )
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert fake_api.sent_to(anna.id) == []
