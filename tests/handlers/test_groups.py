"""Dispatcher tests: /gruppen pages through suggestions; gone groups and pages are refused."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.services.kv_setup import apply_setup, load_setup
from bot.telegram.callbacks import GroupAction, GroupCallback
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, SentMessage

SETUP = """
name: KV Testhausen
districts: [Mitte]
topics: [Umwelt]
groups:
""" + "".join(
    f"""  - key: ag-{number}
    name: AG {number}
    type: ag
    topics: [umwelt]
    meets: every Tuesday 19:00
"""
    for number in range(1, 6)
)


@pytest.fixture
async def five_groups(app: Application) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.commit()


ENTRY = ["Alle Gruppen durchsuchen", "Meine Gruppen"]


def _labels(message: SentMessage) -> list[str]:
    return [text for text, _ in message.buttons]


async def test_suggestions_page_by_page(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, five_groups: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [_greeting, consent] = await driver.send(anna, "/start")
    await driver.press(anna, consent, dict(consent.buttons)["Einverstanden"])
    [summary] = await driver.send(anna, "/profil")
    [first] = await driver.press(
        anna, summary, dict(summary.buttons)["Fertig – passende Gruppen zeigen"]
    )
    assert first.text.startswith("Diese Gruppen könnten zu dir passen:")
    # Below the suggestions: more of them, then browsing every group and the member's own.
    assert _labels(first)[-3:] == ["Noch 2 Gruppen zeigen", *ENTRY]
    assert _labels(first)[:2] == ["AG 1 beitreten", "Details: AG 1"]
    [second] = await driver.press(anna, first, first.buttons[-3][1])
    assert second.text.startswith("Diese Gruppen könnten zu dir passen:")
    assert _labels(second) == [
        "AG 4 beitreten",
        "Details: AG 4",
        "AG 5 beitreten",
        "Details: AG 5",
        *ENTRY,
    ]
    # A page past the end (a forged button) is refused.
    await driver.press(anna, second, GroupCallback(action=GroupAction.MORE, page=7).pack())
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."


async def test_more_without_consent_is_refused(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, five_groups: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    [directory] = await driver.send(ben, "/gruppen")
    assert directory.text.startswith("Alle Gruppen im KV:")
    more = GroupCallback(action=GroupAction.MORE, page=1).pack()
    assert await driver.press(ben, directory, more) == []
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    # Details are open to everyone; a group that isn't there is named as gone.
    [details] = await driver.press(ben, directory, directory.buttons[1][1])
    assert details.text.startswith("AG 1 (AG)")
    gone = GroupCallback(action=GroupAction.DETAILS, group_id=4242).pack()
    await driver.press(ben, directory, gone)
    assert driver.last_answer()["text"] == "Diese Gruppe gibt es nicht mehr."
