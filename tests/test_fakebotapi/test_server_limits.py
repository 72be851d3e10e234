"""Telegram's sending limits, the send timeline and its checker, fault storms, blocked chats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import Message

from tests.fakebotapi import FakeBotAPI, FakeUser

PHOTO_URL = "https://example.org/plakat.jpg"


async def _outcomes(sends: list[Awaitable[Message]]) -> list[Message | BaseException]:
    """Run the sends concurrently, so they all land inside one second."""
    return await asyncio.gather(*sends, return_exceptions=True)


def _users(server: FakeBotAPI, count: int) -> list[FakeUser]:
    return [server.add_user(first_name=f"Person{number}") for number in range(count)]


class FrozenClock:
    """A time source for the server's limits that moves only when the test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ enforcement


async def test_global_limit_refuses_the_31st_send_in_a_second(bot: Bot, server: FakeBotAPI) -> None:
    *people, latecomer = _users(server, 36)
    # A frozen clock puts the whole burst into one window, however slow the machine is.
    clock = FrozenClock(1000.0)
    server.clock = clock
    server.enforce_limits(retry_after=2)
    outcomes = await _outcomes([bot.send_message(person.id, "Hallo") for person in people])
    accepted = [
        person for person, out in zip(people, outcomes, strict=True) if isinstance(out, Message)
    ]
    refused = [out for out in outcomes if not isinstance(out, Message)]
    assert len(accepted) == 30
    assert len(refused) == 5
    for error in refused:
        assert isinstance(error, TelegramRetryAfter)
        assert error.retry_after == 2
        assert "Too Many Requests: retry after 2" in error.message
    # Refused sends were not delivered and are not on the timeline.
    delivered = {person.id for person in people if server.sent_to(person.id)}
    assert delivered == {person.id for person in accepted}
    assert sorted(chat for _, chat, _ in server.send_timeline) == sorted(delivered)
    assert sorted(r.status for r in server.requests) == [200] * 30 + [429] * 5
    assert server.limit_breaches() == []

    # The window is one second long: just before its end the next send is still refused.
    clock.now = 1000.999
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(latecomer.id, "Hallo")
    clock.now = 1001.0
    await bot.send_message(latecomer.id, "Hallo")
    assert len(server.sent_to(latecomer.id)) == 1
    assert server.limit_breaches() == []


async def test_private_chat_limit_and_retry_after(bot: Bot, server: FakeBotAPI) -> None:
    anna, ben = _users(server, 2)
    clock = FrozenClock(1000.0)
    server.clock = clock
    server.enforce_limits()
    await bot.send_message(anna.id, "eins")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(anna.id, "zwei")
    assert caught.value.retry_after == 1
    # Another chat is not affected.
    await bot.send_message(ben.id, "an Ben")
    assert [m.text for m in server.sent_to(anna.id)] == ["eins"]

    # Waiting as told is what the delivery engine will do; the window has moved on then.
    clock.now += caught.value.retry_after
    await bot.send_message(anna.id, "zwei")
    assert [m.text for m in server.sent_to(anna.id)] == ["eins", "zwei"]
    assert server.limit_breaches() == []

    server.relax_limits()
    await bot.send_message(anna.id, "drei")
    assert len(server.limit_breaches()) == 1


async def test_group_limit_per_minute(bot: Bot, server: FakeBotAPI) -> None:
    group = server.add_group()
    server.enforce_limits()
    for number in range(20):
        await bot.send_message(group.id, f"Nachricht {number}")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(group.id, "Nachricht 20")
    assert len(server.sent_to(group.id)) == 20

    # A smaller limit applies at once and counts the sends already made.
    other = server.add_group("KV Nord")
    server.enforce_limits(group_per_minute=3)
    for number in range(3):
        await bot.send_message(other.id, f"Nachricht {number}")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(other.id, "zu viel")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(group.id, "immer noch zu viel")
    assert server.limit_breaches(group_per_minute=20) == []


async def test_limits_cover_every_sending_method(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    source = await bot.send_message(anna.id, "Vorlage")
    server.enforce_limits()
    with pytest.raises(TelegramRetryAfter):
        await bot.copy_message(anna.id, anna.id, source.message_id)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_photo(anna.id, PHOTO_URL)
    # Not a send: chat actions and edits are not limited here.
    await bot.send_chat_action(anna.id, "typing")
    await bot.edit_message_text(
        "Vorlage, bearbeitet", chat_id=anna.id, message_id=source.message_id
    )
    assert [m.method for m in server.sent_to(anna.id)] == ["sendMessage"]


async def test_paid_broadcast_lifts_the_global_limit(bot: Bot, server: FakeBotAPI) -> None:
    people = _users(server, 41)
    # Frozen, so the free send below lands in the paid burst's second even on a slow machine.
    server.clock = FrozenClock(1000.0)
    server.enforce_limits()
    outcomes = await _outcomes(
        [bot.send_message(person.id, "Hallo", allow_paid_broadcast=True) for person in people[:40]]
    )
    assert all(isinstance(out, Message) for out in outcomes)
    assert len(server.paid_sends) == 40
    # Free sends are still limited by everything sent in the last second, paid or not.
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(people[40].id, "gratis")
    assert server.limit_breaches() == []
    assert len(server.limit_breaches(paid_per_second=30)) == 10


# ------------------------------------------------------------- the breach checker


def test_limit_breaches_on_a_synthetic_timeline() -> None:
    server = FakeBotAPI()
    timeline = server.send_timeline
    assert server.limit_breaches() == []

    # Paced: one per second per person, 20 per minute in the group, 30 per second overall.
    for second in range(3):
        timeline.extend((100.0 + second + i / 100, 1000 + i, "sendMessage") for i in range(29))
        timeline.append((100.0 + second + 0.5, -1001, "sendMessage"))
    timeline.extend((110.0 + 3 * i, -1002, "copyMessage") for i in range(20))
    assert server.limit_breaches() == []

    # Exactly one second apart is a new window, as with enforcement.
    server.send_timeline[:] = [(100.0, 1000, "sendMessage"), (101.0, 1000, "sendMessage")]
    assert server.limit_breaches() == []

    server.send_timeline[:] = [(100.0, 1000, "sendMessage"), (100.5, 1000, "sendPhoto")]
    assert server.limit_breaches() == [
        "+0.500s private chat 1000: 2 sends within 1 s, limit 1 (sendPhoto to 1000)"
    ]

    server.send_timeline[:] = [(100.0 + i / 100, 1000 + i, "sendMessage") for i in range(31)]
    assert server.limit_breaches() == [
        "+0.300s global limit: 31 sends within 1 s, limit 30 (sendMessage to 1030)"
    ]

    server.send_timeline[:] = [(100.0 + 2.9 * i, -1002, "sendMessage") for i in range(21)]
    breaches = server.limit_breaches()
    assert breaches == [
        "+58.000s group -1002: 21 sends within 60 s, limit 20 (sendMessage to -1002)"
    ]
    assert server.limit_breaches(group_per_minute=21) == []

    # Paid sends count against the paid limit, and the free ones among them still break theirs.
    server.send_timeline[:] = [(100.0 + i / 100, 1000 + i, "sendMessage") for i in range(40)]
    server.paid_sends.update(server.send_timeline[:39])
    assert server.limit_breaches() == [
        "+0.390s global limit: 40 sends within 1 s, limit 30 (sendMessage to 1039)"
    ]
    assert len(server.limit_breaches(paid_per_second=35)) == 5


# ------------------------------------------------------------------- fault storms


async def _storm_run(bot: Bot, server: FakeBotAPI, user: FakeUser, sends: int) -> list[str]:
    """Send one by one during a storm; what happened to each send, in order."""
    outcomes: list[str] = []
    for number in range(sends):
        try:
            await bot.send_message(user.id, f"Nachricht {number}")
        except TelegramRetryAfter:
            outcomes.append("429")
        except TelegramServerError as error:
            outcomes.append(error.message)
        else:
            outcomes.append("ok")
    return outcomes


async def test_fault_storm_rate_determinism_and_counts(bot: Bot, server: FakeBotAPI) -> None:
    anna, ben = _users(server, 2)
    server.inject_faults(rate=0.1, seed=1, timeout_seconds=0.001)
    first = await _storm_run(bot, server, anna, 300)
    failures = [outcome for outcome in first if outcome != "ok"]
    assert 10 <= len(failures) <= 50
    assert server.injected.total() == len(failures)
    assert server.injected["5xx"] == first.count("Bad Gateway")
    assert server.injected["timeout"] == first.count("Gateway Timeout")
    assert server.injected["429"] == first.count("429")
    assert set(server.injected) == {"5xx", "timeout", "429"}
    # Failed sends were not delivered and are not on the timeline.
    assert [m.text for m in server.sent_to(anna.id)] == [
        f"Nachricht {number}" for number, outcome in enumerate(first) if outcome == "ok"
    ]
    assert len(server.send_timeline) == 300 - len(failures)
    # Other methods are left alone by default.
    await bot.get_me()
    await bot.send_chat_action(anna.id, "typing")

    server.injected.clear()
    server.inject_faults(rate=0.1, seed=1, timeout_seconds=0.001)
    assert await _storm_run(bot, server, ben, 300) == first
    assert server.injected.total() == len(failures)

    server.inject_faults(rate=0.1, seed=2, timeout_seconds=0.001)
    assert await _storm_run(bot, server, ben, 300) != first
    server.stop_faults()
    assert await _storm_run(bot, server, ben, 5) == ["ok"] * 5


async def test_fault_storm_kinds_reach_aiogram(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    server.inject_faults(rate=1.0, kinds=["429"], retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(anna.id, "eins")
    assert caught.value.retry_after == 3

    server.inject_faults(rate=1.0, kinds=["5xx"], methods={"sendPhoto"})
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_photo(anna.id, PHOTO_URL)
    await bot.send_message(anna.id, "nur Fotos scheitern")

    server.inject_faults(rate=1.0, kinds=["timeout"], timeout_seconds=0.3)
    with pytest.raises(TelegramServerError, match="Gateway Timeout"):
        await bot.send_message(anna.id, "wartet")
    with pytest.raises(TelegramNetworkError, match="timeout"):
        # aiogram annotates the timeout as int, but aiohttp takes any number of seconds.
        await bot.send_message(anna.id, "wartet nicht", request_timeout=0.05)
    # The server still answers the abandoned request, and delivers nothing for it.
    abandoned = await server.wait_for_request(
        "sendMessage", predicate=lambda r: r.params["text"] == "wartet nicht", answered=True
    )
    assert abandoned.status == 504
    assert server.injected == {"429": 1, "5xx": 1, "timeout": 2}
    assert [m.text for m in server.sent_to(anna.id)] == ["nur Fotos scheitern"]

    with pytest.raises(ValueError, match="kinds"):
        server.inject_faults(rate=0.5, kinds=["boom"])
    with pytest.raises(ValueError, match="rate"):
        server.inject_faults(rate=1.5)


# ---------------------------------------------------------------- blocked chats


async def test_blocked_chats_refuse_every_sending_method(bot: Bot, server: FakeBotAPI) -> None:
    anna, ben, clara = _users(server, 3)
    group = server.add_group()
    source = await bot.send_message(anna.id, "Vorlage")
    server.block_many([ben.id, clara.id, group.id])
    for chat_id in (ben.id, clara.id):
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(chat_id, "Hallo")
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.copy_message(chat_id, anna.id, source.message_id)
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.forward_message(chat_id, anna.id, source.message_id)
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_photo(chat_id, PHOTO_URL)
        # Even methods the server does not implement answer 403 first, like Telegram.
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_dice(chat_id)
    with pytest.raises(TelegramForbiddenError, match="kicked from the supergroup"):
        await bot.send_document(group.id, PHOTO_URL)
    assert server.send_timeline == [(server.send_timeline[0][0], anna.id, "sendMessage")]
    assert not server.sent_to(ben.id)
    assert not server.sent_to(clara.id)

    # An unknown id blocks nothing, not even the known ones before it.
    with pytest.raises(KeyError):
        server.block_many([anna.id, 424242])
    await bot.send_message(anna.id, "noch erreichbar")
