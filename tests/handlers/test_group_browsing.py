"""Dispatcher tests: browsing every group, my groups and leaving, joining (chat link and the next
meeting's card), presses before consent kept until after it, and links to groups and meetings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.services import rsvp, schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.telegram.callbacks import GroupAction, GroupCallback, RsvpAction, RsvpCallback
from models import Attendance, Group, GroupMembership, Meeting, RsvpAnswer
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

SETUP = """
name: KV Testhausen
districts: [Mitte, Nord]
topics: [Umwelt, Bildung]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    topics: [umwelt]
    meets: every Thursday 19:00
    place: Café Rosa
    hosts: [{host}]
  - key: ag-umwelt
    name: AG Umwelt
    type: ag
    topics: [umwelt]
    meets: every Tuesday 18:00
  - key: basisgruppe-nord
    name: Basisgruppe Nord
    type: basisgruppe
    district: nord
    topics: [bildung]
telegram_groups:
  - chat_id: -100123
    title: Stammtisch Mitte Chat
    group: stammtisch-mitte
    link: https://t.me/+mitte
"""


@pytest.fixture
def host(fake_api: FakeBotAPI) -> FakeUser:
    return fake_api.add_user(first_name="Hanna", language_code="de")


@pytest.fixture
async def kv(app: Application, host: FakeUser) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP.format(host=host.id)))
        await session.flush()
        await schedule.extend_horizon(session, now=utcnow(), zone=app.settings.zone)
        await session.commit()


def _button(message: SentMessage, label: str) -> str:
    matches = [data for text, data in message.buttons if text == label or text.endswith(label)]
    assert matches, f"no button {label!r}: {message.buttons}"
    return matches[0]


def _labels(message: SentMessage) -> list[str]:
    return [text for text, _ in message.buttons]


async def _group_id(app: Application, key: str) -> int:
    async with app.session_pool() as session:
        group_id = await session.scalar(select(Group.id).where(Group.key == key))
    assert group_id is not None
    return group_id


async def _next_meeting(app: Application, key: str) -> Meeting:
    async with app.session_pool() as session:
        meeting = await schedule.next_meeting(session, await _group_id(app, key), now=utcnow())
    assert meeting is not None
    return meeting


async def _members_of(app: Application, key: str) -> set[int]:
    group_id = await _group_id(app, key)
    async with app.session_pool() as session:
        rows = await session.scalars(
            select(GroupMembership.member_id).where(GroupMembership.group_id == group_id)
        )
        return set(rows)


async def test_browse_by_kind_stadtteil_and_topic(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, district="Mitte", topics=["Umwelt"])
    [suggestions] = await driver.send(anna, "/gruppen")
    assert suggestions.text.startswith("Diese Gruppen könnten zu dir passen:")
    [menu] = await driver.press(anna, suggestions, _button(suggestions, "Alle Gruppen durchsuchen"))
    assert menu.text.startswith("Gruppen durchsuchen")
    assert _labels(menu) == [
        "Nach Art",
        "Nach Stadtteil",
        "Nach Thema",
        "Alle Gruppen",
        "Meine Gruppen",
        "Einen Stammtisch gründen",
    ]
    # By kind: edited in place, with Back.
    assert await driver.press(anna, menu, _button(menu, "Nach Art")) == []
    assert _labels(menu) == ["Stammtische", "Basisgruppen", "AGs", "« Zurück"]
    await driver.press(anna, menu, _button(menu, "AGs"))
    assert menu.text.startswith("AGs\n\nAG Umwelt (AG, ganzer KV)\nNächstes Treffen: Di., ")
    assert "Stammtisch Mitte" not in menu.text
    assert _labels(menu) == ["AG Umwelt beitreten", "Details: AG Umwelt", "« Zurück"]
    await driver.press(anna, menu, _button(menu, "« Zurück"))
    assert _labels(menu)[0] == "Stammtische"
    await driver.press(anna, menu, _button(menu, "« Zurück"))
    # By Stadtteil, including the whole KV.
    await driver.press(anna, menu, _button(menu, "Nach Stadtteil"))
    assert _labels(menu) == ["Mitte", "Nord", "Ganzer KV", "« Zurück"]
    await driver.press(anna, menu, _button(menu, "Nord"))
    assert menu.text.startswith("Nord\n\nBasisgruppe Nord (Basisgruppe, Nord)\nNoch kein fester")
    await driver.press(anna, menu, _button(menu, "« Zurück"))
    await driver.press(anna, menu, _button(menu, "Ganzer KV"))
    assert "AG Umwelt" in menu.text
    assert "Basisgruppe Nord" not in menu.text
    # By topic.
    await driver.press(anna, menu, _button(menu, "« Zurück"))
    await driver.press(anna, menu, _button(menu, "« Zurück"))
    await driver.press(anna, menu, _button(menu, "Nach Thema"))
    await driver.press(anna, menu, _button(menu, "Umwelt"))
    assert "Stammtisch Mitte (Stammtisch, Mitte)" in menu.text
    assert "AG Umwelt" in menu.text
    assert "Basisgruppe" not in menu.text
    # Forged values and pages are refused politely.
    for forged in (
        GroupCallback(action=GroupAction.BY_TOPIC, group_id=4242).pack(),
        GroupCallback(action=GroupAction.BY_TYPE, group_id=9).pack(),
        f"gr1:dist:{2**63}:0",  # past any id: the same answer as a stale button
        GroupCallback(action=GroupAction.ALL, page=5).pack(),
    ):
        await driver.press(anna, menu, forged)
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."


async def test_all_groups_page_through(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    extra = "".join(
        f"""  - key: ag-{number}
    name: AG {number}
    type: ag
"""
        for number in range(1, 6)
    )
    async with app.session_pool() as session:
        without_chats = SETUP.format(host=1).split("telegram_groups")[0]
        await apply_setup(session, load_setup(without_chats + extra))
        await session.commit()
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    [directory] = await driver.send(ben, "/groups")
    assert directory.text.startswith("All groups of the KV:")
    assert _labels(directory)[-2:] == ["Browse all groups", "My groups"]
    assert "Page 1 of 2" in _labels(directory)
    await driver.press(ben, directory, _button(directory, "Next »"))
    assert directory.text.startswith("All groups of the KV\n\nAG 3 (AG, whole KV)")
    assert "« Previous" in _labels(directory)


async def test_join_gives_the_chat_link_and_the_next_meeting(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, host: FakeUser, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, district="Mitte", topics=["Umwelt"])
    [suggestions] = await driver.send(anna, "/gruppen")
    [joined, card] = await driver.press(
        anna, suggestions, _button(suggestions, "Stammtisch Mitte beitreten")
    )
    assert joined.text.startswith("Du bist jetzt bei Stammtisch Mitte.\n")
    assert "Die Gruppe hat einen Telegram-Chat" in joined.text
    assert joined.reply_markup is not None
    assert joined.reply_markup["inline_keyboard"][0][0]["url"] == "https://t.me/+mitte"
    meeting = await _next_meeting(app, "stammtisch-mitte")
    assert card.text.startswith("Stammtisch Mitte\n🗓 Do., ")
    assert RsvpCallback(action=RsvpAction.YES, meeting_id=meeting.id).pack() in [
        data for _, data in card.buttons
    ]
    yes = RsvpCallback(action=RsvpAction.YES, meeting_id=meeting.id).pack()
    await driver.press(anna, card, yes)
    assert "Du kommst." in card.text
    assert len(fake_api.sent_to(host.id)) == 1  # the host heard of the join
    # Without a chat link and without dates: no link button, no card.
    [suggestions] = await driver.send(anna, "/gruppen")
    details = await driver.press(anna, suggestions, _button(suggestions, "Details: AG Umwelt"))
    assert details[0].text.startswith("AG Umwelt (AG)")


async def test_my_groups_and_leaving(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, host: FakeUser, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, group="Stammtisch Mitte")
    meeting = await _next_meeting(app, "stammtisch-mitte")
    async with app.session_pool() as session:
        await rsvp.answer(
            session,
            meeting_id=meeting.id,
            member_id=anna.id,
            consented=True,
            answer=RsvpAnswer.YES,
            now=utcnow(),
        )
        await session.commit()
    [suggestions] = await driver.send(anna, "/gruppen")
    [mine] = await driver.press(anna, suggestions, _button(suggestions, "Meine Gruppen"))
    assert mine.text.startswith("Meine Gruppen\n\nStammtisch Mitte (Stammtisch, Mitte)")
    assert _labels(mine) == [
        "Details: Stammtisch Mitte",
        "Stammtisch Mitte verlassen",
        "Alle Gruppen durchsuchen",
    ]
    leave = _button(mine, "Stammtisch Mitte verlassen")
    await driver.press(anna, mine, leave)
    assert mine.text.startswith("Stammtisch Mitte verlassen?\n\nNiemand wird benachrichtigt.")
    await driver.press(anna, mine, _button(mine, "Nein, bleiben"))
    assert mine.text.startswith("Meine Gruppen")
    await driver.press(anna, mine, leave)
    before = len(fake_api.sent_to(host.id))
    await driver.press(anna, mine, _button(mine, "Ja, verlassen"))
    assert mine.text.startswith(
        "Du hast Stammtisch Mitte verlassen. Ich habe deine Antwort zu 1 kommenden Termin "
        "zurückgezogen.\n\nDu bist noch in keiner Gruppe."
    )
    assert len(fake_api.sent_to(host.id)) == before  # leaving tells nobody
    assert anna.id not in await _members_of(app, "stammtisch-mitte")
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Attendance)) == 0
    # A second confirmation (an old message) changes nothing.
    again = GroupCallback(action=GroupAction.LEAVE_OK, group_id=meeting.group_id).pack()
    await driver.press(anna, mine, again)
    assert driver.last_answer()["text"] == "Du bist nicht (mehr) in dieser Gruppe."


async def test_a_join_before_consent_is_done_after_the_intake(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, host: FakeUser, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    [directory] = await driver.send(ben, "/gruppen")
    join = _button(directory, "Stammtisch Mitte beitreten")
    [question] = await driver.press(ben, directory, join)
    assert question.text.startswith("Ich habe mir gemerkt: Beitritt zu Stammtisch Mitte.")
    # A plain /start meanwhile doesn't lose it.
    [_greeting, question] = await driver.send(ben, "/start")
    [note, step] = await driver.press(ben, question, _button(question, "Einverstanden"))
    assert note.text.startswith("Gemerkt: Beitritt zu Stammtisch Mitte. Das erledige ich,")
    assert step.text.startswith("Schritt 1 von 5")
    assert ben.id not in await _members_of(app, "stammtisch-mitte")
    [summary] = await driver.send(ben, "/profil")
    [_suggestions, done, joined, card] = await driver.press(
        ben, summary, _button(summary, "Fertig – passende Gruppen zeigen")
    )
    assert done.text == "Wie vorhin gewünscht: Beitritt zu Stammtisch Mitte."
    assert joined.text.startswith("Du bist jetzt bei Stammtisch Mitte.")
    assert card.text.startswith("Stammtisch Mitte\n🗓")
    assert ben.id in await _members_of(app, "stammtisch-mitte")
    assert len(fake_api.sent_to(host.id)) == 1


async def test_an_answer_before_consent_is_done_when_skipping_the_questions(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    meeting = await _next_meeting(app, "stammtisch-mitte")
    [dates] = await driver.send(ben, "/termine")
    yes = RsvpCallback(action=RsvpAction.YES, meeting_id=meeting.id).pack()
    [question] = await driver.press(ben, dates, yes)
    assert question.text.startswith("Ich habe mir gemerkt: Zusage für Stammtisch Mitte am ")
    [note, step] = await driver.press(ben, question, _button(question, "Einverstanden"))
    [done, card] = await driver.press(ben, note, _button(note, "Fragen überspringen"))
    assert done.text.startswith("Wie vorhin gewünscht: Zusage für Stammtisch Mitte am ")
    assert "Du kommst." in card.text
    async with app.session_pool() as session:
        row = await session.get(Attendance, (meeting.id, ben.id))
    assert row is not None
    assert row.answer == RsvpAnswer.YES
    # Done once: the skip button again, and the old intake step, change nothing.
    assert await driver.press(ben, note, _button(note, "Fragen überspringen")) == []
    assert driver.last_answer()["text"] == "Es wartet nichts mehr darauf, erledigt zu werden."
    await driver.press(ben, step, _button(step, "Umwelt"))
    # The intake was left by skipping: its buttons point to /profil.
    assert driver.last_answer()["text"] == (
        "Diese Fragen sind abgeschlossen. Unter /profil siehst du deine Angaben und kannst sie "
        "ändern."
    )


async def test_not_now_drops_what_was_kept(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    [directory] = await driver.send(ben, "/gruppen")
    [question] = await driver.press(ben, directory, _button(directory, "AG Umwelt beitreten"))
    await driver.press(ben, question, _button(question, "Jetzt nicht"))
    [_greeting, question] = await driver.send(ben, "/start")
    assert question.text.startswith("Bevor wir loslegen:")


async def test_links_to_a_group_and_a_meeting(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    group_id = await _group_id(app, "stammtisch-mitte")
    meeting = await _next_meeting(app, "stammtisch-mitte")
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [greeting, card] = await driver.send(anna, f"/start j{group_id}")
    assert greeting.text.endswith("/hilfe alles Weitere.")
    assert card.text.startswith("Stammtisch Mitte (Stammtisch)\nStadtteil: Mitte")
    assert f"Link zum Teilen dieser Gruppe: https://t.me/mitmachbot_test_bot?start=j{group_id}" in (
        card.text
    )
    assert _labels(card)[-1] == "Stammtisch Mitte beitreten"
    [_greeting, meeting_card] = await driver.send(anna, f"/start m{meeting.id}")
    assert meeting_card.text.startswith("Stammtisch Mitte\n🗓")
    assert RsvpCallback(action=RsvpAction.MAYBE, meeting_id=meeting.id).pack() in [
        data for _, data in meeting_card.buttons
    ]
    # Forged or unknown ids: a polite note and the usual start.
    for payload in ("j4242", "m4242"):
        [greeting] = await driver.send(anna, f"/start {payload}")
        assert "Die Gruppe oder der Termin aus deinem Link ist nicht mehr verfügbar." in (
            greeting.text
        )
    # Ids no row can have (overflowing, negative) are no link at all: the plain start.
    [plain] = await driver.send(anna, "/start")
    for payload in (f"j{2**63}", "m99999999999999999999", "j-5", f"j{2**31}"):
        [greeting] = await driver.send(anna, f"/start {payload}")
        assert greeting.text == plain.text


async def test_a_link_before_consent_asks_first_and_shows_the_card_after(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    meeting = await _next_meeting(app, "stammtisch-mitte")
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    [_greeting, question] = await driver.send(ben, f"/start m{meeting.id}")
    assert question.text.startswith("Ich habe mir gemerkt: Stammtisch Mitte am ")
    assert "anzeigen. Zuerst brauche ich dein Einverständnis." in question.text
    [note, _step] = await driver.press(ben, question, _button(question, "Einverstanden"))
    [done, card] = await driver.press(ben, note, _button(note, "Fragen überspringen"))
    assert done.text.startswith("Wie vorhin gewünscht: Stammtisch Mitte am ")
    assert card.text.startswith("Stammtisch Mitte\n🗓")
    # A meeting gone meanwhile: said politely.
    group_id = await _group_id(app, "ag-umwelt")
    carl = fake_api.add_user(first_name="Carl", language_code="en")
    [_greeting, question] = await driver.send(carl, f"/start j{group_id}")
    async with app.session_pool() as session:
        group = await session.get(Group, group_id)
        assert group is not None
        group.active = False
        await session.commit()
    # The kept card is gone: no note about it, the questions come as usual.
    [step] = await driver.press(carl, question, _button(question, "Agree"))
    assert step.text.startswith("Step 1 of 5")
