"""The shapes of the defects issue #12 names, each once, so a failure says which it is.

On main before the fixes were merged, the cases marked "links" (ids past 2^63, "²" as an id:
OverflowError and ValueError tracebacks) and "tgretry" (a second tap on the same screen:
"message is not modified") fail here; the fuzz test draws the same shapes at random.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from bot.app import Application
from tests.fakebotapi import FakeBotAPI, FakeUser
from tests.security.harness import Outcome, Recorder
from tests.security.world import Who, World, build_world

APOLOGY = "Entschuldige, bei mir ist etwas schiefgegangen"  # views.basics.error_note, German


@dataclass(frozen=True)
class Shape:
    """`who` sends `text`, or presses `data` (twice with `twice`, after sending `text`)."""

    who: Who
    text: str = ""
    data: str = ""
    twice: bool = False


SHAPES = {
    "links: /rolle past 2^63": Shape(Who.ADMIN, "/rolle 99999999999999999999"),
    "links: /rolle ²": Shape(Who.ADMIN, "/rolle ²"),
    "links: /start invitation past 2^63": Shape(Who.MEMBER, "/start i99999999999999999999"),
    "links: group details past 2^63": Shape(Who.MEMBER, data="gr1:details:9223372036854775808:0"),
    "links: intake value past 2^63": Shape(Who.MEMBER, data="in1:topics:on:99999999999999999999"),
    "links: meeting below -2^63": Shape(Who.MEMBER, data="rv1:y:-9223372036854775809:0"),
    "links: action date past 2^63": Shape(
        Who.MEMBER, data="fa1:date:99999999999999999999999:0:0:0:0"
    ),
    "links: host group past 2^63": Shape(Who.HOST, data="ho1:group:99999999999999999999:0:0"),
    "tgretry: guide section tapped twice": Shape(Who.MEMBER, "/kv", "kv1:1", twice=True),
    "tgretry: privacy tapped twice": Shape(Who.MEMBER, "/datenschutz", "pr1:show", twice=True),
    "tgretry: consent tapped twice": Shape(Who.UNCONSENTED, "/start", "cons1:0", twice=True),
    "tgretry: settings tapped twice": Shape(Who.MEMBER, "/einstellungen", "set1:open", twice=True),
}


@pytest.fixture
async def world(app: Application, fake_api: FakeBotAPI, admin_user: FakeUser) -> World:
    return await build_world(app, fake_api, admin_user)


def _failures(outcome: Outcome) -> list[str]:
    problems = [error for error in outcome.errors if "failed:" not in error]
    if outcome.callback_open:
        problems.append("the press was not answered")
    if any(reply.startswith(APOLOGY) for reply in outcome.replies):
        problems.append("the error apology")
    return problems


@pytest.mark.parametrize("name", list(SHAPES))
async def test_known_shape(
    name: str,
    app: Application,
    fake_api: FakeBotAPI,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    recorder = Recorder(app, fake_api, caplog.handler.records)
    shape = SHAPES[name]
    user = world.person(shape.who, fake_api)
    outcomes: list[Outcome] = []
    if shape.text:
        outcomes.append(await recorder.send(user, shape.text))
    if shape.data:
        # The screen the text brought up (its last message), or a message of the bot's.
        screens = fake_api.sent_to(user.id)
        message = screens[-1].as_message() if shape.text and screens else None
        if message is None:
            message = await recorder.anchor(user.id)
        for _ in range(2 if shape.twice else 1):
            outcomes.append(
                await recorder.feed(await fake_api.user_presses(user, message, shape.data))
            )
            current = fake_api.message(user.id, message["message_id"])
            assert current is not None
            message = current.as_message()
    problems = [problem for outcome in outcomes for problem in _failures(outcome)]
    assert not problems, f"{name}: {problems}"
