"""Dispatcher tests: intake buttons are idempotent, stale presses are quiet, forged ones refused."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.services.members import load_answers
from bot.telegram.callbacks import IntakeAction, IntakeCallback, IntakeStep
from models import Member, Profile
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.handlers.test_onboarding import _button, _consent, host, kv

__all__ = ["host", "kv"]  # fixtures shared with test_onboarding

STALE = "Dieser Knopf gilt nicht mehr."


async def _profile(app: Application, member_id: int) -> Profile:
    async with app.session_pool() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        assert member.profile is not None
        # Topics and activity types are not loaded with the member (models.profile).
        return await load_answers(session, member.profile)


async def _topic_names(app: Application, member_id: int) -> list[str]:
    return [topic.name for topic in (await _profile(app, member_id)).topics]


def _quiet(driver: BotDriver) -> bool:
    return not driver.last_answer().get("show_alert")


def _labels(message: SentMessage) -> list[str]:
    return [text for text, _ in message.buttons]


async def test_a_toggle_pressed_twice_sets_the_same(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    choose = _button(step, "Umwelt")
    # A double tap: both presses carry the data of the unticked button, "choose Umwelt".
    await driver.press(anna, step, choose)
    await driver.press(anna, step, choose)
    assert _quiet(driver)
    assert await _topic_names(app, anna.id) == ["Umwelt"]
    assert "✅ Umwelt" in _labels(step)
    unchoose = _button(step, "✅ Umwelt")
    await driver.press(anna, step, unchoose)
    await driver.press(anna, step, unchoose)
    assert _quiet(driver)
    assert await _topic_names(app, anna.id) == []
    assert "▫️ Umwelt" in _labels(step)
    # A late press of the old "choose" button chooses again rather than flipping.
    await driver.press(anna, step, choose)
    await driver.press(anna, step, _button(step, "Bildung"))
    assert await _topic_names(app, anna.id) == ["Umwelt", "Bildung"]


async def test_free_time_toggles_are_idempotent_too(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    for _ in range(3):
        await driver.press(anna, step, _button(step, "Überspringen"))
    assert step.text.startswith("Schritt 4 von 5")
    evenings = _button(step, "werktags abends")
    await driver.press(anna, step, evenings)
    await driver.press(anna, step, evenings)
    assert (await _profile(app, anna.id)).free_time == ["weekday_evening"]


async def test_a_double_tap_on_next_or_a_choice_changes_nothing(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    next_button = _button(step, "Weiter »")
    await driver.press(anna, step, next_button)
    assert step.text.startswith("Schritt 2 von 5")
    # The second tap of "Next" belongs to step 1, which she has left.
    assert await driver.press(anna, step, next_button) == []
    assert driver.last_answer()["text"] == STALE
    assert _quiet(driver)
    assert step.text.startswith("Schritt 2 von 5")
    mitte = _button(step, "Mitte")
    await driver.press(anna, step, mitte)
    assert driver.last_answer()["text"] == "Gespeichert."
    assert step.text.startswith("Schritt 3 von 5")
    await driver.press(anna, step, mitte)
    assert _quiet(driver)
    assert step.text.startswith("Schritt 3 von 5")
    profile = await _profile(app, anna.id)
    assert profile.district is not None
    assert profile.district.name == "Mitte"


@pytest.mark.parametrize(
    "data",
    [
        "in1:topics:explode:1",  # no such action
        "in1:topics:toggle:1",  # the old flip button: no longer an action
        "in1:nowhere:next:0",  # no such step
        "in1:topics:choose:1",  # one-answer action on a several-answers step
        "in1:topics:back:0",  # the first step has no Back
        "in1:topics:on:abc",  # not a number
    ],
)
async def test_forged_actions_are_refused_and_store_nothing(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None, data: str
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    assert await driver.press(anna, step, data) == []
    assert driver.last_answer()["text"] == STALE
    assert step.text.startswith("Schritt 1 von 5")
    profile = await _profile(app, anna.id)
    assert (profile.topics, profile.district_id) == ([], None)
    # She can carry on as if nothing happened.
    await driver.press(anna, step, _button(step, "Frieden"))
    assert await _topic_names(app, anna.id) == ["Frieden"]


async def test_forged_values_on_the_current_step_are_refused(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    await driver.press(anna, step, _button(step, "Weiter »"))
    for forged in (
        IntakeCallback(step=IntakeStep.DISTRICT, action=IntakeAction.CHOOSE, value=4242),
        IntakeCallback(step=IntakeStep.DISTRICT, action=IntakeAction.ON, value=1),
    ):
        await driver.press(anna, step, forged.pack())
        assert driver.last_answer()["text"] == STALE
        assert step.text.startswith("Schritt 2 von 5")
    [summary] = await driver.send(anna, "/profil")
    await driver.press(anna, summary, "in1:summary:edit:7")
    assert driver.last_answer()["text"] == STALE
    profile = await _profile(app, anna.id)
    assert (profile.district_id, profile.outside_districts) == (None, False)


async def test_agreeing_twice_asks_once(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [_greeting, consent] = await driver.send(anna, "/start")
    agree = _button(consent, "Einverstanden")
    not_now = _button(consent, "Jetzt nicht")
    [step] = await driver.press(anna, consent, agree)
    assert await driver.press(anna, consent, agree) == []
    assert _quiet(driver)
    # "Not now" from the same old question doesn't pretend nothing is stored.
    assert await driver.press(anna, consent, not_now) == []
    assert consent.text.startswith("Danke!")
    assert step.text.startswith("Schritt 1 von 5")


async def test_old_messages_after_consent_was_withdrawn(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, host: FakeUser, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    [directory] = await driver.send(anna, "/gruppen")
    [privacy] = await driver.send(anna, "/datenschutz")
    [ask] = await driver.press(anna, privacy, _button(privacy, "Alles löschen"))
    await driver.press(anna, ask, _button(ask, "Ja, alles löschen"))
    await driver.press(anna, step, _button(step, "Umwelt"))
    assert driver.last_answer()["text"] == STALE
    # Joining asks for consent again instead of joining (and keeps the join for after it).
    [question] = await driver.press(anna, directory, _button(directory, "AG Frieden beitreten"))
    assert question.text.startswith("Ich habe mir gemerkt: Beitritt zu AG Frieden.")
    assert "\n\nBevor wir loslegen:" in question.text
    assert fake_api.sent_to(host.id) == []
