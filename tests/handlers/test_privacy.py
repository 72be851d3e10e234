"""Dispatcher tests of /datenschutz: the stored data in the member's locale, forged buttons."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.services import calendar
from bot.services.kv_setup import apply_setup, load_setup
from models import Member, Profile
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import meetings_ahead, signed_up

SETUP = """
name: KV Testhausen
districts: [Mitte]
topics: [Umwelt, Bildung]
activity_types: [Infostände, Social Media]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    meets: every Thursday 19:00
"""
CONSENT_AT = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)


@pytest.fixture
async def kv(app: Application) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.commit()
    await meetings_ahead(app.session_pool)


async def _member(app: Application, user: FakeUser, language: str) -> None:
    """A member who agreed on CONSENT_AT and answered every question."""
    await signed_up(
        app.session_pool,
        user,
        district="Mitte",
        topics=["Umwelt", "Bildung"],
        activities=["Infostände"],
    )
    async with app.session_pool() as session:
        member = await session.get(Member, user.id)
        profile = await session.get(Profile, user.id)
        assert member is not None
        assert profile is not None
        member.telegram_language = language
        profile.consent_at = CONSENT_AT
        profile.contact_frequency = "monthly"
        profile.free_time = ["weekday_evening", "weekend"]
        await session.commit()


def _button(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if label in text]
    return data


def _line(text: str, start: str) -> str:
    [line] = [line for line in text.splitlines() if line.startswith(start)]
    return line


async def _my_data(driver: BotDriver, user: FakeUser, command: str, label: str) -> str:
    [privacy] = await driver.send(user, command)
    [data] = await driver.press(user, privacy, _button(privacy, label))
    return data.text or ""


async def test_my_data_reads_naturally_in_german(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    await _member(app, anna, "de")
    [dates] = await driver.send(anna, "/termine")
    await driver.rsvp(anna, dates, 0)
    await driver.rsvp(anna, dates, 1)

    async with app.session_pool() as session:
        await calendar.new_feed_token(session, anna.id, now=CONSENT_AT)
        await session.commit()

    mine = await _my_data(driver, anna, "/datenschutz", "Meine Daten anzeigen")
    assert "Zugestimmt am: 01.12.2026" in mine.splitlines()
    assert "Erinnerungen an Treffen: einen Tag und 2 Stunden vorher" in mine.splitlines()
    assert "Kalender-Link: angelegt am 01.12.2026" in mine.splitlines()
    assert "Sprache: Deutsch" in mine.splitlines()
    assert "Mitmachformen: Infostände" in mine.splitlines()
    assert "Wann du Zeit hast: werktags abends, am Wochenende" in mine.splitlines()
    assert "Wie oft du von uns hören möchtest: Etwa einmal im Monat" in mine.splitlines()
    # One line per answer: the meeting's day and time, the answer, when it was given.
    answers = [line for line in mine.splitlines() if line.startswith("Stammtisch Mitte, ")]
    assert len(answers) == 2
    for line in answers:
        assert re.fullmatch(
            r"Stammtisch Mitte, \d\d\.12\.2026, 19:00: ja, geantwortet am \d\d\.\d\d\.\d{4}", line
        )


async def test_my_data_in_english_uses_the_kvs_region(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await _member(app, ben, "en")
    [dates] = await driver.send(ben, "/dates")
    await driver.rsvp(ben, dates, 0)

    mine = await _my_data(driver, ben, "/privacy", "Show my data")
    assert "Agreed on: 1 Dec 2026" in mine.splitlines()
    assert "Language: English" in mine.splitlines()
    assert "How often you want to hear from us: About once a month" in mine.splitlines()
    assert "Meeting reminders: a day and 2 hours before" in mine.splitlines()
    assert not any(line.startswith("Calendar link") for line in mine.splitlines())
    # English words, the KV's clock: 19:00, not 7:00 PM.
    coming = _line(mine, "Stammtisch Mitte, ")
    assert re.fullmatch(
        r"Stammtisch Mitte, \d{1,2} Dec 2026, 19:00: yes, answered \d{1,2} \S+ \d{4}", coming
    )


async def test_forged_privacy_buttons_are_a_quiet_no(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await _member(app, anna, "de")
    [privacy] = await driver.send(anna, "/datenschutz")
    for data in ("pr1:wipe", "pr1:", "pr1:erase:1", "pr1:ERASE"):
        assert await driver.press(anna, privacy, data) == []
        answer = driver.last_answer()
        assert answer["text"] == "Dieser Knopf gilt nicht mehr."
        assert not answer.get("show_alert")  # a toast: nothing happened, nothing to alarm
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Profile)) == 1


async def test_keeping_deletes_nothing(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await _member(app, anna, "de")
    [privacy] = await driver.send(anna, "/datenschutz")
    [ask] = await driver.press(anna, privacy, _button(privacy, "Alles löschen"))
    assert [text for text, _data in ask.buttons] == ["Ja, alles löschen", "Nein, behalten"]
    await driver.press(anna, ask, _button(ask, "Nein, behalten"))
    assert ask.text == "Es wurde nichts gelöscht."
    assert ask.buttons == []
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Profile)) == 1


async def test_erase_pressed_twice_keeps_saying_what_was_done(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await _member(app, anna, "de")
    [privacy] = await driver.send(anna, "/datenschutz")
    [ask] = await driver.press(anna, privacy, _button(privacy, "Alles löschen"))
    erase = _button(ask, "Ja, alles löschen")
    done = (
        "Erledigt. Ich habe alles gelöscht, was ich über dich wusste. Wenn du mir wieder "
        "schreibst, fangen wir von vorn an."
    )
    assert await driver.press(anna, ask, erase) == []
    assert ask.text == done
    # The second tap finds nothing left: a toast, and the message still says what was done.
    assert await driver.press(anna, ask, erase) == []
    answer = driver.last_answer()
    assert answer["text"] == "Es gab nichts zu löschen."
    assert not answer.get("show_alert")
    assert ask.text == done
    assert ask.buttons == []
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Profile)) == 0
