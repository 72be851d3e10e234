"""Telegram refusing for a while (429, 502/503/504): no member action is lost.

Members talk to the real dispatcher while the fake server fails half of the replies, edits and
callback answers; every member must get their reply, nobody the apology.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import cast

import pytest

from bot.app import Application
from bot.middlewares.request import RetryRequestMiddleware
from bot.telegram.retries import RetryBounds
from bot.telegram.views import basics
from jobs.broadcasts import run_broadcasts
from models import BroadcastStatus
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.handlers.test_broadcast import (  # noqa: F401 (fixtures)
    _broadcasts,
    _compose,
    _drain,
    _press,
    kv,
    people,
)

MEMBERS = 20  # two actions each: /start, then "Einverstanden"
STORM_SECONDS = 3.0
logger = logging.getLogger(__name__)

REPLY_METHODS = ("sendMessage", "editMessageText", "answerCallbackQuery")


def _retrying(app: Application) -> RetryRequestMiddleware:
    [middleware] = [
        m for m in app.bot.session.middleware[:] if isinstance(m, RetryRequestMiddleware)
    ]
    return cast(RetryRequestMiddleware, middleware)


def _button(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if text.endswith(label)]
    return data


def _apology_start(app: Application, locale: str = "de") -> str:
    with app.i18n.context(), app.i18n.use_locale(locale):
        return basics.error_note(0).split(".")[0]


async def _member_talks(driver: BotDriver, user: FakeUser) -> list[str]:
    """/start and agree; returns what went wrong for this member (nothing: not lost)."""
    lost: list[str] = []
    greeting = await driver.send(user, "/start")
    if len(greeting) != 2 or not greeting[1].buttons:
        # The second action can't be made either.
        return [f"/start answered with {[m.text for m in greeting]}", "no consent to press"]
    consent = greeting[1]
    step = await driver.press(user, consent, _button(consent, "Einverstanden"))
    if len(step) != 1 or not step[0].text.startswith("Schritt 1"):
        lost.append(f"consent answered with {[m.text for m in step]}")
    return lost


@contextlib.contextmanager
def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def _storm(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    kinds: Sequence[str],
    *,
    retry_after: int = 1,
) -> tuple[int, int]:
    """MEMBERS members talk at once during a storm; returns (actions lost, faults injected)."""
    users = [
        fake_api.add_user(first_name=f"Mitglied{i}", language_code="de") for i in range(MEMBERS)
    ]
    fake_api.inject_faults(
        rate=0.5,
        kinds=kinds,
        seed=12,
        methods=REPLY_METHODS,
        retry_after=retry_after,
        timeout_seconds=0.2,
    )

    async def calm_down() -> None:
        # The storm lasts STORM_SECONDS from its first fault (a slow machine may take a while
        # to get to the first reply).
        await fake_api.wait_until(lambda: sum(fake_api.injected.values()) > 0, timeout=60)
        await asyncio.sleep(STORM_SECONDS)
        fake_api.stop_faults()

    calm = asyncio.create_task(calm_down())
    try:
        results = await asyncio.gather(*(_member_talks(driver, user) for user in users))
    finally:
        calm.cancel()
        fake_api.stop_faults()
    # An action is lost when its reply is missing or wrong, or the member got the apology.
    apology = _apology_start(app)
    for user, problems in zip(users, results, strict=True):
        said = [message.text or "" for message in fake_api.sent_to(user.id)]
        if not problems and any(apology in text for text in said):
            problems.append("got the apology")
    lost = sum(len(problems) for problems in results)
    logger.info("%s storm: %d of %d member actions lost", kinds, lost, 2 * MEMBERS)
    assert [problems for problems in results if problems] == []
    # Every press answered exactly once, none with the apology's alert.
    assert not [a for a in fake_api.callback_answers if a.get("show_alert")]
    assert len(fake_api.callback_answers) == MEMBERS
    return lost, sum(fake_api.injected.values())


async def test_no_action_lost_to_a_429_storm(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with _no_errors_logged(caplog):
        lost, injected = await _storm(driver, fake_api, app, ("429",), retry_after=1)
    assert lost == 0
    assert fake_api.injected["429"] >= 5, injected  # the storm really hit (fewer on a slow machine)


async def test_no_action_lost_to_a_5xx_storm(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Quick backoff, so the storm's seconds aren't spent sleeping.
    _retrying(app).bounds = RetryBounds(base=0.05, cap=0.3)
    with _no_errors_logged(caplog):
        lost, injected = await _storm(driver, fake_api, app, ("5xx", "timeout"))
    assert lost == 0
    assert injected >= 5


async def test_a_retried_request_arrives_once_and_4xx_are_not_retried(
    driver: BotDriver, fake_api: FakeBotAPI
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    fake_api.fail("sendMessage", status=502, chat_id=anna.id)
    fake_api.fail("sendMessage", status=503, chat_id=anna.id)
    greeting, _consent = await driver.send(anna, "/start")
    assert greeting.text.startswith("Hallo Anna!")
    sends = [r for r in fake_api.requests if r.method == "sendMessage"]
    assert [r.status for r in sends] == [502, 503, 200, 200]
    # A 400 or 403 is final: the request is made once, never again (the error handler's
    # apology is a request of its own, with another text).
    for status in (400, 403):
        fake_api.fail("sendMessage", status=status, chat_id=anna.id)
        before = len(fake_api.requests)
        await driver.send(anna, "/hilfe")
        after = [r for r in fake_api.requests[before:] if r.method == "sendMessage"]
        texts = [r.params["text"] for r in after]
        assert after[0].status == status
        assert texts.count(texts[0]) == 1
        # A 400 gets the apology; after a 403 (blocked) an apology would be refused too.
        assert len(after) == (2 if status == 400 else 1)


async def test_a_double_tap_is_no_error(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    [_greeting, consent] = await driver.send(ben, "/start")
    data = _button(consent, "Jetzt nicht")
    with _no_errors_logged(caplog):
        assert await driver.press(ben, consent, data) == []
        # The second tap edits the message to what it shows: "message is not modified".
        assert await driver.press(ben, consent, data) == []
    edits = [r for r in fake_api.requests if r.method == "editMessageText"]
    assert [r.status for r in edits] == [200, 400]
    assert "message is not modified" in str(edits[1].response)
    assert consent.text.startswith("Alles klar, ich speichere über dich nichts")
    assert len(fake_api.callback_answers) == 2
    assert not [a for a in fake_api.callback_answers if a.get("show_alert")]
    assert _apology_start(app) not in " ".join(m.text or "" for m in fake_api.sent_to(ben.id))


async def test_the_broadcast_report_arrives_after_a_502(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],  # noqa: F811
    fake_api: FakeBotAPI,
) -> None:
    panel = await _compose(driver, admin_user, "Kommt alle zur Demo!")
    await _press(driver, admin_user, panel, "Jetzt senden", "Ja, senden")
    await _drain(app)
    before = len(fake_api.sent_to(admin_user.id))
    # The report is the only message the job sends the organiser (the progress is an edit).
    fake_api.fail("sendMessage", status=502, chat_id=admin_user.id)
    await run_broadcasts(app.job_context())
    [broadcast] = await _broadcasts(app)
    assert broadcast.status is BroadcastStatus.DONE
    [report] = fake_api.sent_to(admin_user.id)[before:]
    assert report.text.startswith("Rundschreiben #1 ist fertig.")
    assert fake_api.faults == []  # the 502 was answered
    statuses = [
        r.status
        for r in fake_api.requests
        if r.method == "sendMessage" and r.params.get("chat_id") == admin_user.id
    ][-2:]
    assert statuses == [502, 200]
