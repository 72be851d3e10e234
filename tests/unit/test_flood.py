"""The flood gate's bucket: humans pass untouched, a flood waits its turn, then is dropped."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Update

from bot.i18n import create_i18n
from bot.middlewares.flood import FloodMiddleware


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeBot:
    """Records what the middleware sends; nothing else is called."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.answered: list[str] = []

    async def send_message(self, chat_id: int, text: str) -> None:
        self.sent.append((chat_id, text))

    async def answer_callback_query(self, callback_query_id: str) -> None:
        self.answered.append(callback_query_id)


def _message(update_id: int, user_id: int, language: str = "de") -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": "X",
                    "language_code": language,
                },
                "text": "hi",
            },
        }
    )


def _press(update_id: int, user_id: int) -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "callback_query": {
                "id": f"q{update_id}",
                "chat_instance": "c",
                "from": {"id": user_id, "is_bot": False, "first_name": "X"},
                "data": "gr1:menu:0:0",
            },
        }
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """asyncio.sleep in the middleware records the wait instead of waiting."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("bot.middlewares.flood.asyncio.sleep", sleep)
    return waits


def _gate(clock: Clock, *, burst: int = 30, rate: float = 2.0, max_delay: float = 20.0) -> Any:
    return FloodMiddleware(
        burst=burst,
        rate=rate,
        max_delay=max_delay,
        i18n=create_i18n("de"),
        default_locale="de",
        clock=clock,
    )


async def _through(gate: FloodMiddleware, update: Update, bot: FakeBot) -> Any:
    async def handler(_event: Any, _data: dict[str, Any]) -> str:
        return "handled"

    user = (update.message or update.callback_query).from_user  # type: ignore[union-attr]
    return await gate(handler, update, {"event_from_user": user, "bot": bot})


async def test_humans_pass_untouched(sleeps: list[float]) -> None:
    clock, bot = Clock(), FakeBot()
    gate = _gate(clock)  # the defaults of Settings
    # Quick intake clicking: two taps a second for half a minute, every fifth tap doubled.
    for number in range(60):
        assert await _through(gate, _press(number, 1), bot) == "handled"
        if number % 5 == 0:
            assert await _through(gate, _press(1000 + number, 1), bot) == "handled"
        clock.now += 0.5
    # An album of ten photos at once, right after.
    for number in range(60, 70):
        assert await _through(gate, _message(number, 1), bot) == "handled"
    assert sleeps == []
    assert bot.sent == []


async def test_a_flood_waits_in_turn_then_is_dropped_with_one_notice(sleeps: list[float]) -> None:
    clock, bot = Clock(), FakeBot()
    gate = _gate(clock, burst=20, rate=1.0, max_delay=30.0)
    results = [await _through(gate, _press(number, 1), bot) for number in range(100)]
    assert results[:50] == ["handled"] * 50
    assert results[50:] == [UNHANDLED] * 50
    # 20 at once, then one a second: the 21st waits 1 s, the 50th 30 s, the 51st would wait 31.
    assert sleeps == [float(n) for n in range(1, 31)]
    # One notice, in the member's Telegram language; dropped presses are still answered.
    assert bot.sent == [
        (1, "Das ist viel auf einmal! Ich arbeite alles der Reihe nach ab – einen Moment bitte.")
    ]
    assert bot.answered == [f"q{n}" for n in range(50, 100)]
    # Another member is not slowed by it.
    assert await _through(gate, _message(200, 2), bot) == "handled"
    assert len(sleeps) == 30
    # Once the bucket is full again the flood is over; a new one gets a new notice.
    clock.now += 60
    for number in range(300, 321):
        await _through(gate, _message(number, 1, language="en"), bot)
    assert bot.sent[1:] == [
        (1, "That's a lot at once! I'll go through it one by one – give me a moment, please.")
    ]
