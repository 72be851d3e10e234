"""End to end over HTTP: a newcomer joins the KV's group and ends up at a Stammtisch."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.app import Application, build_application, run_polling
from bot.services.kv_setup import apply_setup, load_setup
from bot.settings import Settings
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage

pytestmark = pytest.mark.e2e

SETUP = """
name: KV Testhausen
districts: [Mitte, Nord]
topics: [Umwelt, Bildung]
activity_types: [Infostände]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    topics: [umwelt]
    meets: every Thursday 19:00
    place: Café Rosa
    hosts: [{host}]
    newcomer_friendly: true
telegram_groups:
  - chat_id: {chat}
    title: KV Testhausen – Alle
"""


async def _run(app: Application, fake_api: FakeBotAPI) -> asyncio.Task[None]:
    calls = fake_api.get_updates_calls
    task = asyncio.create_task(run_polling(app, handle_signals=False))
    await fake_api.wait_until(lambda: fake_api.get_updates_calls > calls, timeout=15)
    return task


async def _stop(app: Application, task: asyncio.Task[None]) -> None:
    await app.dispatcher.stop_polling()
    await asyncio.wait_for(task, timeout=15)
    await app.close()


def _button(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if text.endswith(label)]
    return data


async def _edited(fake_api: FakeBotAPI, message: SentMessage, prefix: str) -> None:
    await fake_api.wait_until(lambda: message.text.startswith(prefix), timeout=10)


@pytest.mark.parametrize("restart", [False, True], ids=["straight", "restart-mid-intake"])
async def test_from_the_group_to_a_stammtisch(
    app: Application, settings: Settings, fake_api: FakeBotAPI, restart: bool
) -> None:
    host = fake_api.add_user(first_name="Hanna", username="hanna_host", language_code="de")
    group = fake_api.add_group(title="KV Testhausen – Alle")
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP.format(host=host.id, chat=group.id)))
        await session.commit()
    task = await _run(app, fake_api)

    # Anna joins the KV's group and is welcomed there, with a link into the private chat.
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    group.set_member_status(anna, "left")  # the fake counts everyone in until told otherwise
    await anna.join(group)
    welcome = await fake_api.wait_for_message(group.id)
    assert welcome.text.startswith("Willkommen, Anna!")
    link = welcome.reply_markup["inline_keyboard"][0][0]["url"]  # type: ignore[index]
    payload = parse_qs(urlsplit(link).query)["start"][0]

    # She follows it: greeting with the KV's name and where she came from, then consent.
    await anna.send_message(f"/start {payload}")
    greeting = await fake_api.wait_for_message(anna.id)
    assert "Ich bin der Bot von KV Testhausen." in greeting.text
    assert "Schön, dass du über KV Testhausen – Alle zu uns gefunden hast." in greeting.text
    consent = await fake_api.wait_for_message(anna.id)
    await anna.press(consent, _button(consent, "Einverstanden"))
    step = await fake_api.wait_for_message(anna.id)
    assert step.text.startswith("Schritt 1 von 5")
    await anna.press(step, _button(step, "Umwelt"))
    await fake_api.wait_until(lambda: "✅ Umwelt" in [t for t, _ in step.buttons], timeout=10)
    await anna.press(step, _button(step, "Weiter »"))
    await _edited(fake_api, step, "Schritt 2 von 5")

    if restart:
        await _stop(app, task)
        app = await build_application(settings, migrate=False)
        task = await _run(app, fake_api)

    await anna.press(step, _button(step, "Mitte"))
    await _edited(fake_api, step, "Schritt 3 von 5")
    for _ in range(2):  # activities, free time
        current = step.text
        await anna.press(step, _button(step, "Überspringen"))
        await fake_api.wait_until(lambda text=current: step.text != text, timeout=10)
    await anna.press(step, _button(step, "Wöchentlich"))
    await _edited(fake_api, step, "Deine Angaben")
    assert "Themen: Umwelt" in step.text
    await anna.press(step, _button(step, "passende Gruppen zeigen"))

    suggestions = await fake_api.wait_for_message(anna.id)
    assert suggestions.text.splitlines()[2:4] == [
        "Stammtisch Mitte (Stammtisch)",
        "Mitte · Umwelt · Donnerstagabends · offen für Neue",
    ]
    await anna.press(suggestions, _button(suggestions, "Stammtisch Mitte beitreten"))
    joined = await fake_api.wait_for_message(anna.id)
    assert joined.text.startswith("Du bist jetzt bei Stammtisch Mitte.")
    note = await fake_api.wait_for_message(host.id)
    assert note.text == (
        f"Anna (ID {anna.id}) ist Stammtisch Mitte beigetreten – die erste Gruppe bei uns. "
        "Begrüße die Person doch kurz!"
    )
    await _stop(app, task)


async def test_join_request_is_greeted_privately(
    app: Application, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    group = fake_api.add_group(title="KV Testhausen – Alle")
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP.format(host=admin_user.id, chat=group.id)))
        await session.commit()
    task = await _run(app, fake_api)
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await ben.request_join(group)
    hello = await fake_api.wait_for_message(ben.id)
    assert hello.text.startswith("Hello Ben! 👋")
    assert hello.reply_markup is not None
    await _stop(app, task)
