"""Dispatcher tests of /termine and the meeting card: answers with capacity, the waiting list,
moving up (told through the outbox), moved and cancelled dates, forged and stale buttons, in
German and English."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.services import schedule
from bot.services.kv_setup import apply_setup, load_setup
from models import Attendance, Meeting, MeetingStatus
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import meetings_ahead, signed_up

SETUP = """
name: KV Testhausen
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    meets: every Thursday 19:00
    place: Café Rosa
"""


@pytest.fixture
async def kv(app: Application) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.commit()
    await meetings_ahead(app.session_pool)


async def _member(app: Application, fake_api: FakeBotAPI, name: str, language: str) -> FakeUser:
    user = fake_api.add_user(first_name=name, language_code=language)
    await signed_up(app.session_pool, user)
    return user


async def _first_meeting(app: Application, *, capacity: int | None = None) -> Meeting:
    async with app.session_pool() as session:
        now = utcnow()
        [meeting, *_rest] = await schedule.upcoming(session, now=now, until=now + timedelta(days=8))
        if capacity is not None:
            await schedule.set_capacity(session, meeting.id, capacity, now=now)
        await session.commit()
        return meeting


async def _attendances(app: Application) -> int:
    async with app.session_pool() as session:
        return int(await session.scalar(select(func.count()).select_from(Attendance)) or 0)


async def _card(driver: BotDriver, user: FakeUser, command: str = "/termine") -> SentMessage:
    [dates] = await driver.send(user, command)
    [card] = await driver.press(user, dates, dates.buttons[0][1])
    return card


def _data(message: SentMessage, action: str, value: int | None = None) -> str:
    """The callback data of the card's button for `action` (y, m, n, g)."""
    found = [data for _label, data in message.buttons if data.startswith(f"rv1:{action}:")]
    if value is not None:
        found = [data for data in found if data.endswith(f":{value}")]
    assert found, message.buttons
    return found[0]


async def test_english_readers_in_a_german_kv_see_the_kvs_clock(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = await _member(app, fake_api, "Ben", "en")
    [dates] = await driver.send(ben, "/dates")
    assert dates.text is not None
    lines = dates.text.splitlines()
    assert lines[0] == "The next meetings"
    assert lines[1].startswith("Thu, ")
    assert lines[1].endswith(", 19:00 – Stammtisch Mitte (Café Rosa)")
    assert "PM" not in dates.text
    label = dates.buttons[0][0]
    assert label.startswith("Thu, ")
    assert label.endswith(", 19:00 · Stammtisch Mitte")
    assert len(dates.buttons) == 4  # four weeks ahead


async def test_capacity_waiting_list_and_moving_up(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    await _first_meeting(app, capacity=2)
    anna = await _member(app, fake_api, "Anna", "de")
    ben = await _member(app, fake_api, "Ben", "en")
    carla = await _member(app, fake_api, "Carla", "de")

    card = await _card(driver, anna)
    assert card.text.startswith("Stammtisch Mitte\n🗓 Do., ")
    assert "📍 Café Rosa" in card.text
    assert "✅ 0 · 🤔 0 · ❌ 0 · noch 2 Plätze frei" in card.text
    assert [label for label, _d in card.buttons] == ["✅ Ja", "🤔 Vielleicht", "❌ Nein"]
    await driver.press(anna, card, _data(card, "y"))
    assert driver.last_answer()["text"] == "Bis dann! Ich habe notiert, dass du kommst."
    assert "✅ 1 · 🤔 0 · ❌ 0 · noch 1 Platz frei" in card.text
    assert card.text.endswith("Du kommst.")
    # After a yes: how many guests come along (0-5), the current number marked.
    assert [label for label, _d in card.buttons][3:] == ["•+0•", "+1", "+2", "+3", "+4", "+5"]
    await driver.press(anna, card, _data(card, "g", 5))
    assert driver.last_answer() == {
        "callback_query_id": driver.last_answer()["callback_query_id"],
        "text": "Für so viele Gäste ist kein Platz mehr.",
        "show_alert": True,
    }

    ben_card = await _card(driver, ben, "/dates")
    await driver.press(ben, ben_card, _data(ben_card, "y"))
    assert driver.last_answer()["text"] == "See you there! I noted that you are coming."
    assert "✅ 2 · 🤔 0 · ❌ 0 · full" in ben_card.text

    carla_card = await _card(driver, carla)
    await driver.press(carla, carla_card, _data(carla_card, "y"))
    assert driver.last_answer()["text"] == "Es ist voll: Dein Platz auf der Warteliste: 1."
    assert "⏳ 1 wartet · voll" in carla_card.text
    assert carla_card.text.endswith(
        "Du stehst auf der Warteliste; ich sage dir Bescheid, sobald ein Platz frei wird."
    )
    [dates] = await driver.send(carla, "/termine")
    assert dates.buttons[0][0].startswith("⏳ Do., ")

    # Anna can't come: Carla moves up and is told through the outbox, with the card.
    await driver.press(anna, card, _data(card, "n"))
    assert driver.last_answer()["text"] == "Notiert: Du kommst nicht."
    before = len(fake_api.sent_to(carla.id))
    assert await app.worker.run_once() == 1
    [notice] = fake_api.sent_to(carla.id)[before:]
    assert notice.text.startswith(
        "🎉 Ein Platz ist frei geworden: Du bist dabei! Du bist von der Warteliste nachgerückt."
    )
    assert notice.text.endswith("Du kommst.")
    # From the notice, one tap gives the place back.
    await driver.press(carla, notice, _data(notice, "n"))
    assert driver.last_answer()["text"] == "Notiert: Du kommst nicht."
    assert "✅ 1 · 🤔 0 · ❌ 2 · noch 1 Platz frei" in notice.text
    assert await app.worker.run_once() == 0


async def test_repeated_taps_set_the_same_answer(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = await _member(app, fake_api, "Anna", "de")
    card = await _card(driver, anna)
    yes = _data(card, "y")
    for _press in range(3):
        assert await driver.press(anna, card, yes) == []
        assert driver.last_answer()["text"] == "Bis dann! Ich habe notiert, dass du kommst."
        assert await _attendances(app) == 1
    assert card.edits == 1
    assert [label for label, _d in card.buttons][:3] == ["• ✅ Ja •", "🤔 Vielleicht", "❌ Nein"]
    await driver.press(anna, card, _data(card, "g", 2))
    assert (
        driver.last_answer()["text"] == "Bis dann! Ich habe notiert, dass du kommst, mit Gästen: 2."
    )
    assert "✅ 1 (+2 Gäste)" in card.text
    guests = _data(card, "g", 3)
    await driver.press(anna, card, _data(card, "m"))
    assert driver.last_answer()["text"] == "Notiert: vielleicht."
    # A guests button left from the yes doesn't turn the maybe back into a yes.
    await driver.press(anna, card, guests)
    assert driver.last_answer()["text"] == (
        "Sag zuerst zu, dann wähle, wie viele Gäste du mitbringst."
    )
    async with app.session_pool() as session:
        [row] = await session.scalars(select(Attendance))
        assert (row.answer.value, row.guests) == ("maybe", 2)


async def test_forged_cancelled_and_started_meetings_get_a_polite_answer(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = await _member(app, fake_api, "Anna", "de")
    card = await _card(driver, anna)
    unknown = "Dieses Treffen steht nicht mehr auf der Liste. /termine zeigt die aktuellen."
    for data in (
        "rv1:y:0:0",
        "rv1:y:424242:0",
        "rv1:g:424242:1",
    ):
        assert await driver.press(anna, card, data) == []
        answer = driver.last_answer()
        assert (answer["text"], answer["show_alert"]) == (unknown, True), data
    # Ids no row can have: the fallback's "no longer valid".
    for data in ("rv1:y:-4:0", "rv1:y:9223372036854775809:0", "rv1:s:99999999999999999999999:0"):
        assert await driver.press(anna, card, data) == []
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr.", data
    meeting_id = int(_data(card, "y").split(":")[2])
    await driver.press(anna, card, _data(card, "y"))
    await driver.press(anna, card, f"rv1:g:{meeting_id}:6")
    assert driver.last_answer()["text"] == "Du kannst bis zu fünf Gäste mitbringen."
    await driver.press(anna, card, f"rv1:g:{meeting_id}:99999999999999999999")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    # Not a number at all: the fallback's "no longer valid".
    await driver.press(anna, card, "rv1:y:abc:0")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."

    async with app.session_pool() as session:
        await schedule.cancel(session, meeting_id, now=utcnow())
        await session.commit()
    await driver.press(anna, card, _data(card, "m"))
    assert driver.last_answer()["text"] == "Dieses Treffen wurde abgesagt."
    assert driver.last_answer()["show_alert"] is True
    # The card now shows the cancellation, without buttons.
    assert "abgesagt" in card.text
    assert card.buttons == []
    [dates] = await driver.send(anna, "/termine")
    assert "<s>" not in dates.text  # the struck-through date is formatting, not text
    assert dates.text.splitlines()[1].startswith("❌ Do., ")
    assert "abgesagt · Stammtisch Mitte" in dates.text.splitlines()[1]
    assert len(dates.buttons) == 3  # a cancelled date has nothing to answer

    # A meeting that has begun takes no more answers.
    async with app.session_pool() as session:
        [started] = await session.scalars(select(Meeting).where(Meeting.id != meeting_id).limit(1))
        started.starts_at = utcnow() - timedelta(minutes=5)
        started.status = MeetingStatus.SCHEDULED
        await session.commit()
    await driver.press(anna, card, f"rv1:y:{started.id}:0")
    assert driver.last_answer()["text"] == (
        "Dieses Treffen hat schon begonnen; Antworten lassen sich nicht mehr ändern."
    )


async def test_without_consent_the_dates_point_to_start(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    fritz = fake_api.add_user(first_name="Fritz", language_code="en")
    await driver.send(fritz, "/start")
    [dates] = await driver.send(fritz, "/dates")
    assert dates.text.startswith("The next meetings\nThu, ")
    assert dates.buttons == []
    assert "Once you have agreed in /start" in dates.text
    meeting = await _first_meeting(app)
    await driver.press(fritz, dates, f"rv1:s:{meeting.id}:0")
    assert driver.last_answer()["text"] == "To answer for meetings, agree in /start first."
    # An answer pressed anyway (an old card) is kept for after consent: the question comes.
    for data in (f"rv1:y:{meeting.id}:0", f"rv1:g:{meeting.id}:2"):
        [question] = await driver.press(fritz, dates, data)
        assert any("agree" in text.lower() for text, _data in question.buttons)
    assert await _attendances(app) == 0


async def test_moved_and_cancelled_dates_are_told_to_yes_and_maybe(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    meeting = await _first_meeting(app)
    anna = await _member(app, fake_api, "Anna", "de")
    ben = await _member(app, fake_api, "Ben", "en")
    carla = await _member(app, fake_api, "Carla", "de")
    for user, action in ((anna, "y"), (ben, "m"), (carla, "n")):
        card = await _card(driver, user)
        await driver.press(user, card, _data(card, action))
    async with app.session_pool() as session:
        await schedule.move(
            session, meeting.id, starts_at=meeting.starts_at + timedelta(days=1), now=utcnow()
        )
        await session.commit()
    counts = {user.id: len(fake_api.sent_to(user.id)) for user in (anna, ben, carla)}
    assert await app.worker.run_once() == 2
    [moved] = fake_api.sent_to(anna.id)[counts[anna.id] :]
    assert moved.text.startswith("🔁 Verschoben: Stammtisch Mitte ist jetzt am Fr., ")
    assert ", 19:00 statt am Do., " in moved.text.splitlines()[0]
    assert moved.text.splitlines()[1] == (
        "Kannst du trotzdem kommen? Tippe, um deine Antwort zu ändern."
    )
    [english] = fake_api.sent_to(ben.id)[counts[ben.id] :]
    assert english.text.startswith("🔁 Moved: Stammtisch Mitte is now on Fri, ")
    assert len(fake_api.sent_to(carla.id)) == counts[carla.id]
    # Anna answers right from the notice.
    await driver.press(anna, moved, _data(moved, "m"))
    assert driver.last_answer()["text"] == "Notiert: vielleicht."

    async with app.session_pool() as session:
        await schedule.cancel(session, meeting.id, now=utcnow())
        await session.commit()
    assert await app.worker.run_once() == 2
    cancelled = fake_api.sent_to(anna.id)[-1]
    assert cancelled.text.startswith("❌ Abgesagt: Stammtisch Mitte am Fr., ")
    assert cancelled.text.endswith("findet nicht statt.\n/termine zeigt die nächsten Treffen.")
    assert cancelled.buttons == []
    assert fake_api.sent_to(ben.id)[-1].text.endswith(
        "does not take place.\n/dates shows the next meetings."
    )
