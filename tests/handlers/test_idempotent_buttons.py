"""Dispatcher tests: buttons set what they say, whatever the screen showed.

Three kinds of press for every toggle-like button: twice in a row (a double tap), after the bot
stored a press but never redrew the screen (killed between the commit and the edit: the store is
done here directly, the screen stays old), and from an older screen after the state changed
elsewhere (stale). Each ends with the stored value the pressed button named, the screen showing
what is stored, and no apology. And /start in the middle of the intake resumes it.
"""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select

from bot.app import Application
from bot.services.members import load_answers
from bot.services.preferences import set_opted_out
from bot.services.profile import set_reminder_offset, set_topic
from bot.telegram.intake_steps import Intake
from models import Category, Group, Member, OptOut, Profile, Topic
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.handlers.test_onboarding import _button, _consent, host, kv
from tests.members import signed_up

__all__ = ["host", "kv"]  # fixtures shared with test_onboarding

STALE = "Dieser Knopf gilt nicht mehr."
CLOSED = (
    "Diese Fragen sind abgeschlossen. Unter /profil siehst du deine Angaben und kannst sie ändern."
)


def _labels(message: SentMessage) -> list[str]:
    return [text for text, _ in message.buttons]


def _exact(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if text == label]
    return data


def _quiet(driver: BotDriver, text: str | None = None) -> None:
    """The last press got a toast (not an alert), with `text` when given."""
    answer = driver.last_answer()
    assert not answer.get("show_alert"), answer
    if text is not None:
        assert answer.get("text") == text, answer


async def _profile(app: Application, member_id: int) -> Profile:
    async with app.session_pool() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        assert member.profile is not None
        # Topics and activity types are not loaded with the member (models.profile).
        return await load_answers(session, member.profile)


async def _topics(app: Application, member_id: int) -> list[str]:
    return sorted(topic.name for topic in (await _profile(app, member_id)).topics)


async def _answers(app: Application, member_id: int) -> tuple[object, ...]:
    profile = await _profile(app, member_id)
    return (
        sorted(topic.name for topic in profile.topics),
        profile.district.name if profile.district else None,
        sorted(kind.name for kind in profile.activity_types),
        list(profile.free_time),
        profile.contact_frequency,
        profile.intake_completed_at is not None,
    )


async def _set_state(app: Application, user: FakeUser, state: str) -> None:
    """Move the conversation as a handler would have, without its screen being redrawn."""
    key = StorageKey(bot_id=app.bot.id, chat_id=user.id, user_id=user.id)
    # Outside an update the storage opens a session of its own and commits.
    await app.dispatcher.fsm.storage.set_state(key, state)


# --- the intake ------------------------------------------------------------------------------


async def test_an_intake_choice_stored_but_never_shown_is_set_not_flipped(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    choose = _button(step, "Umwelt")
    # "Killed between store and edit": Umwelt is stored, the screen still offers to choose it.
    async with app.session_pool() as session:
        member = await session.get(Member, anna.id)
        assert member is not None
        umwelt = await session.scalar(select(Topic.id).where(Topic.name == "Umwelt"))
        assert umwelt is not None
        await set_topic(session, member, umwelt, chosen=True)
        await session.commit()
    assert "▫️ Umwelt" in _labels(step)
    for _press in range(2):
        assert await driver.press(anna, step, choose) == []
        _quiet(driver)
        assert await _topics(app, anna.id) == ["Umwelt"]
        assert "✅ Umwelt" in _labels(step)


async def test_a_button_of_a_step_left_without_a_redraw_shows_the_current_step(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    # The conversation moved on to the Stadtteil, but the screen still shows the topics.
    await _set_state(app, anna, Intake.district.state)
    assert await driver.press(anna, step, _button(step, "Umwelt")) == []
    _quiet(driver, STALE)
    assert await _topics(app, anna.id) == []
    assert step.text is not None
    assert step.text.startswith("Schritt 2 von 5\nWo wohnst du?")
    # Its buttons are the current step's now, and they act.
    await driver.press(anna, step, _button(step, "Mitte"))
    assert step.text.startswith("Schritt 3 von 5")
    assert (await _answers(app, anna.id))[1] == "Mitte"


async def test_a_finished_intakes_buttons_answer_politely(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    umwelt = _button(step, "Umwelt")
    next_step = _button(step, "Weiter »")
    for _skip in range(5):
        await driver.press(anna, step, _button(step, "Überspringen"))
    assert step.text is not None
    assert step.text.startswith("Deine Angaben")
    done = _button(step, "Fertig – passende Gruppen zeigen")
    [_suggestions] = await driver.press(anna, step, done)
    before = await _answers(app, anna.id)
    for data in (done, umwelt, next_step):
        assert await driver.press(anna, step, data) == []
        _quiet(driver, CLOSED)
    assert await _answers(app, anna.id) == before


async def test_start_at_the_first_step_resumes_it_with_the_choices(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    await driver.press(anna, step, _button(step, "Umwelt"))
    [greeting, resumed] = await driver.send(anna, "/start")
    assert greeting.text is not None
    assert "Lass uns da weitermachen, wo wir aufgehört haben." in greeting.text
    assert resumed.text is not None
    assert resumed.text.startswith("Schritt 1 von 5\nWelche Themen")
    assert "✅ Umwelt" in _labels(resumed)
    # The old message's buttons are gone; one message shows the intake.
    assert step.buttons == []
    await driver.press(anna, resumed, _button(resumed, "Bildung"))
    await driver.press(anna, resumed, _button(resumed, "Weiter »"))
    assert resumed.text.startswith("Schritt 2 von 5")
    assert await _topics(app, anna.id) == ["Bildung", "Umwelt"]


async def _to_summary(driver: BotDriver, anna: FakeUser, step: SentMessage) -> None:
    await driver.press(anna, step, _button(step, "Umwelt"))
    await driver.press(anna, step, _button(step, "Weiter »"))
    await driver.press(anna, step, _button(step, "Mitte"))
    await driver.press(anna, step, _button(step, "Infostände"))
    await driver.press(anna, step, _button(step, "Weiter »"))
    await driver.press(anna, step, _button(step, "werktags abends"))
    await driver.press(anna, step, _button(step, "Weiter »"))
    await driver.press(anna, step, _button(step, "Etwa einmal im Monat"))
    assert step.text is not None
    assert step.text.startswith("Deine Angaben")


ANSWERED = (
    ["Umwelt"],
    "Mitte",
    ["Infostände"],
    ["weekday_evening"],
    "monthly",
    False,
)


@pytest.mark.parametrize(
    ("edit", "number", "chosen"),
    [
        ("Themen ändern", 1, "✅ Umwelt"),
        ("Stadtteil ändern", 2, "✅ Mitte"),
        ("Mitmachformen ändern", 3, "✅ Infostände"),
        ("Zeit ändern", 4, "✅ werktags abends"),
        ("Häufigkeit ändern", 5, "✅ Etwa einmal im Monat"),
    ],
)
async def test_start_at_each_step_resumes_it_with_its_answers(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    kv: None,
    edit: str,
    number: int,
    chosen: str,
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    await _to_summary(driver, anna, step)
    assert await _answers(app, anna.id) == ANSWERED
    await driver.press(anna, step, _button(step, edit))
    assert step.text is not None
    assert step.text.startswith(f"Schritt {number} von 5")
    old_data = [data for _label, data in step.buttons]

    [greeting, resumed] = await driver.send(anna, "/start")
    assert "Lass uns da weitermachen" in (greeting.text or "")
    assert resumed.text is not None
    assert resumed.text.startswith(f"Schritt {number} von 5")
    assert chosen in _labels(resumed)
    assert step.buttons == []
    assert await _answers(app, anna.id) == ANSWERED

    # Skip on the resumed step leads back to the summary, as the edit from the summary would:
    # the conversation's data came along.
    assert await driver.press(anna, resumed, _button(resumed, "Überspringen")) == []
    assert resumed.text.startswith("Deine Angaben\nThemen: Umwelt")
    # A press of the old message's data (in flight when its buttons went) changes no answer.
    for data in old_data:
        await driver.press(anna, step, data)
        assert not driver.last_answer().get("show_alert")
    assert await _answers(app, anna.id) == ANSWERED
    assert fake_api.sent_to(anna.id)[-1] is resumed  # no apology, nothing else sent


async def test_start_at_the_summary_shows_the_summary(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    await _to_summary(driver, anna, step)
    [_greeting, resumed] = await driver.send(anna, "/start")
    assert resumed.text is not None
    assert resumed.text.startswith("Deine Angaben\nThemen: Umwelt")
    assert step.buttons == []
    [_suggestions] = await driver.press(
        anna, resumed, _button(resumed, "Fertig – passende Gruppen zeigen")
    )
    assert (await _answers(app, anna.id))[-1] is True


async def test_start_with_a_group_link_mid_intake_opens_the_card_and_carries_on(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    await driver.press(anna, step, _button(step, "Überspringen"))
    await driver.press(anna, step, _button(step, "Mitte"))
    async with app.session_pool() as session:
        group_id = await session.scalar(select(Group.id).where(Group.name == "AG Frieden"))
    [greeting, card, resumed] = await driver.send(anna, f"/start j{group_id}")
    assert "Lass uns da weitermachen" in (greeting.text or "")
    assert (card.text or "").startswith("AG Frieden")
    assert any(label.endswith("beitreten") for label in _labels(card))
    assert (resumed.text or "").startswith("Schritt 3 von 5")
    assert step.buttons == []
    assert (await _answers(app, anna.id))[1] == "Mitte"


# --- /einstellungen --------------------------------------------------------------------------


async def _opt_outs(app: Application, user: FakeUser) -> list[str]:
    async with app.session_pool() as session:
        return list(
            await session.scalars(select(OptOut.category).where(OptOut.member_id == user.id))
        )


async def test_a_setting_stored_but_never_shown_is_set_not_flipped(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    off = _exact(panel, "Ankündigungen abschalten")
    async with app.session_pool() as session:
        await set_opted_out(session, anna.id, Category.ANNOUNCEMENTS, opted_out=True)
        await session.commit()
    for _press in range(2):
        assert await driver.press(anna, panel, off) == []
        _quiet(driver, "Ankündigungen sind jetzt abgeschaltet.")
        assert await _opt_outs(app, anna) == ["announcements"]
        assert "🔕 Ankündigungen" in (panel.text or "")


async def test_an_older_settings_panel_sets_what_its_button_says(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [old] = await driver.send(anna, "/einstellungen")
    [new] = await driver.send(anna, "/einstellungen")
    await driver.press(anna, new, _exact(new, "Ankündigungen abschalten"))
    assert await _opt_outs(app, anna) == ["announcements"]
    # The old panel still offers "switch off": pressed, it is off (not on again), and the old
    # panel now shows the truth.
    assert await driver.press(anna, old, _exact(old, "Ankündigungen abschalten")) == []
    assert await _opt_outs(app, anna) == ["announcements"]
    assert "🔕 Ankündigungen" in (old.text or "")
    assert "Ankündigungen einschalten" in _labels(old)


async def _offsets(app: Application, user: FakeUser) -> list[int]:
    return list((await _profile(app, user.id)).reminder_offsets or [])


async def test_a_reminder_time_stored_but_never_shown_is_set_not_flipped(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    week = _exact(panel, "⏰ Auch eine Woche vorher")
    async with app.session_pool() as session:
        member = await session.get(Member, anna.id)
        assert member is not None
        set_reminder_offset(member, 10080, chosen=True)
        await session.commit()
    for _press in range(2):
        assert await driver.press(anna, panel, week) == []
        _quiet(driver, "Ich erinnere dich eine Woche vorher.")
        assert await _offsets(app, anna) == [10080, 1440, 120]
        assert "eine Woche, einen Tag und 2 Stunden vor Beginn" in (panel.text or "")
    # Stale: another panel drops the week again; the old "not a week" data still means "not".
    [other] = await driver.send(anna, "/einstellungen")
    await driver.press(anna, other, _exact(other, "🔕 Nicht eine Woche vorher"))
    await driver.press(anna, other, _exact(other, "⏰ Auch eine Woche vorher"))
    await driver.press(anna, panel, _exact(panel, "🔕 Nicht eine Woche vorher"))
    assert await _offsets(app, anna) == [1440, 120]
    assert "⏰ Auch eine Woche vorher" in _labels(panel)
