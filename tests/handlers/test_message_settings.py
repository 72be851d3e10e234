"""Dispatcher tests of /einstellungen: buttons set what they say, forged ones change nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Application
from models import OptOut
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
