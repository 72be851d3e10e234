"""Dispatcher tests of /einstellungen: buttons set what they say, forged ones change nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Application
from models import Category, OptOut, Profile
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up


def _button(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if text == label]
    return data


async def _opt_outs(app: Application, user: FakeUser) -> list[str]:
    async with app.session_pool() as session:
        return list(
            await session.scalars(select(OptOut.category).where(OptOut.member_id == user.id))
        )


async def test_pressing_off_twice_switches_off_once(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    off = _button(panel, "Ankündigungen abschalten")

    for _press in range(2):
        # The second press comes from the same (now outdated) button: it sets "off" again,
        # and editing the panel to what it already shows is no error and no new message.
        assert await driver.press(anna, panel, off) == []
        answer = driver.last_answer()
        assert answer["text"] == "Ankündigungen sind jetzt abgeschaltet."
        assert not answer.get("show_alert")
        assert await _opt_outs(app, anna) == ["announcements"]
        assert "🔕 Ankündigungen" in (panel.text or "")
    assert panel.edits == 1

    on = _button(panel, "Ankündigungen einschalten")
    for _press in range(2):
        assert await driver.press(anna, panel, on) == []
        assert driver.last_answer()["text"] == "Ankündigungen sind wieder eingeschaltet."
        assert await _opt_outs(app, anna) == []
    # A late press of the very first "off" button still means off: it says what it sets.
    await driver.press(anna, panel, off)
    assert await _opt_outs(app, anna) == ["announcements"]


async def test_forged_settings_buttons_are_a_quiet_no(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    for data in ("set1:flip:announcements", "set1:off:everything", "set1:off:", "set1:toggle:"):
        assert await driver.press(anna, panel, data) == []
        answer = driver.last_answer()
        assert answer["text"] == "Dieser Knopf gilt nicht mehr."
        assert not answer.get("show_alert")
    assert await _opt_outs(app, anna) == []
    assert panel.edits == 0


async def _offsets(app: Application, user: FakeUser) -> list[int] | None:
    async with app.session_pool() as session:
        profile = await session.get(Profile, user.id)
        return None if profile is None else list(profile.reminder_offsets)


async def test_reminder_times_buttons_set_what_they_say(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    assert "⏰ Erinnerungen an Termine: einen Tag und 2 Stunden vor Beginn" in (panel.text or "")
    assert [label for label, _data in panel.buttons][-5:] == [
        "⏰ Auch eine Woche vorher",
        "🔕 Nicht einen Tag vorher",
        "🔕 Nicht 2 Stunden vorher",
        "⏰ Auch eine Stunde vorher",
        "🔕 Keine Erinnerungen an Termine",
    ]
    week = _button(panel, "⏰ Auch eine Woche vorher")
    for _press in range(2):
        assert await driver.press(anna, panel, week) == []
        assert driver.last_answer()["text"] == "Ich erinnere dich eine Woche vorher."
        assert await _offsets(app, anna) == [10080, 1440, 120]
    assert "eine Woche, einen Tag und 2 Stunden vor Beginn" in (panel.text or "")
    assert panel.edits == 1

    await driver.press(anna, panel, _button(panel, "🔕 Nicht einen Tag vorher"))
    assert driver.last_answer()["text"] == "Keine Erinnerung mehr einen Tag vorher."
    assert await _offsets(app, anna) == [10080, 120]

    none = _button(panel, "🔕 Keine Erinnerungen an Termine")
    for _press in range(2):
        await driver.press(anna, panel, none)
        assert driver.last_answer()["text"] == "Keine Erinnerungen an Termine mehr."
        assert await _offsets(app, anna) == []
    assert "⏰ Erinnerungen an Termine: keine" in (panel.text or "")
    assert "🔕 Keine Erinnerungen an Termine" not in [label for label, _data in panel.buttons]
    # An old "not two hours" button still means "not": nothing comes back.
    await driver.press(anna, panel, "rem1:off:120")
    assert await _offsets(app, anna) == []
    await driver.press(anna, panel, _button(panel, "⏰ Auch eine Stunde vorher"))
    assert await _offsets(app, anna) == [60]


async def test_reminder_times_in_english_and_with_reminders_switched_off(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await signed_up(app.session_pool, ben, opted_out=[Category.REMINDERS])
    [panel] = await driver.send(ben, "/settings")
    text = panel.text or ""
    assert "⏰ Meeting reminders: a day and 2 hours before the start" in text
    assert "(Reminders are switched off above, so none come for now.)" in text
    await driver.press(ben, panel, _button(panel, "🔕 Not 2 hours before"))
    assert driver.last_answer()["text"] == "No reminder 2 hours before any more."
    assert await _offsets(app, ben) == [1440]


async def test_reminder_times_need_consent_and_forged_ones_change_nothing(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    cem = fake_api.add_user(first_name="Cem", language_code="de")
    await driver.send(cem, "/start")
    [panel] = await driver.send(cem, "/einstellungen")
    assert "Erinnerungen an Termine:" not in (panel.text or "")
    assert not any(data.startswith("rem1:") for _label, data in panel.buttons)
    await driver.press(cem, panel, "rem1:on:60")
    answer = driver.last_answer()
    assert answer["text"] == "Erinnerungen an Termine gibt es, sobald du in /start zugestimmt hast."
    assert answer.get("show_alert")

    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    for data in ("rem1:on:61", "rem1:on:99999999999999999999999", "rem1:flip:60", "rem1:on:x"):
        assert await driver.press(anna, panel, data) == []
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    assert await _offsets(app, anna) == [1440, 120]
    assert panel.edits == 0
