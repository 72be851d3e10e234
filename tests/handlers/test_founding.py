"""Dispatcher tests: a member proposes a Stammtisch, organisers approve or decline it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.services.kv_setup import apply_setup, export_setup, load_setup
from bot.telegram.callbacks import ProposalAction, ProposalCallback
from models import (
    Group,
    GroupMembership,
    GroupProposal,
    KvProfile,
    Meeting,
    Member,
    MemberRole,
    ProposalStatus,
    Role,
)
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

SETUP = """
name: KV Testhausen
districts: [Mitte, Nord]
topics: [Umwelt]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
"""


@pytest.fixture
async def kv(app: Application) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.commit()


@pytest.fixture
async def organisers(app: Application, fake_api: FakeBotAPI) -> tuple[FakeUser, FakeUser]:
    olga = fake_api.add_user(first_name="Olga", language_code="de")
    otto = fake_api.add_user(first_name="Otto", language_code="en")
    await signed_up(app.session_pool, olga, role=Role.ORGANISER)
    await signed_up(app.session_pool, otto, role=Role.ORGANISER)
    async with app.session_pool() as session:
        member = await session.get(Member, otto.id)
        assert member is not None
        member.language = "en"
        await session.commit()
    return olga, otto


def _button(message: SentMessage, label: str) -> str:
    matches = [data for text, data in message.buttons if text == label]
    assert matches, f"no button {label!r}: {message.buttons}"
    return matches[0]


async def _propose(driver: BotDriver, anna: FakeUser, rhythm: str | None) -> list[SentMessage]:
    """Anna goes through the questions; returns what the last answer brought."""
    [directory] = await driver.send(anna, "/gruppen")
    [menu] = await driver.press(anna, directory, _button(directory, "Alle Gruppen durchsuchen"))
    [question] = await driver.press(anna, menu, _button(menu, "Einen Stammtisch gründen"))
    assert "Wie soll dein Stammtisch heißen?" in question.text
    [refused] = await driver.send(anna, "ab")
    assert refused.text == "Bitte gib einen Namen mit 3 bis 100 Zeichen an."
    [district] = await driver.send(anna, "  Stammtisch <Nord>  ")
    assert district.text == "In welchem Stadtteil?"
    assert [label for label, _ in district.buttons] == ["Mitte", "Nord", "Ganzer KV / weiß nicht"]
    [place] = await driver.press(anna, district, _button(district, "Nord"))
    assert district.text == "Notiert: Nord"
    assert place.text.startswith("Wo würdet ihr euch treffen?")
    [rhythm_question] = await driver.send(anna, "Kneipe <Eck>")
    assert rhythm_question.text.startswith("Wie oft würdet ihr euch treffen?")
    if rhythm is None:
        return await driver.press(
            anna, rhythm_question, _button(rhythm_question, "Weiß ich noch nicht")
        )
    [unreadable] = await driver.send(anna, "wenn es passt")
    assert unreadable.text.startswith("Das konnte ich nicht lesen: ")
    return await driver.send(anna, rhythm)


async def test_a_proposal_approved_becomes_a_group_with_its_host(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    kv: None,
    organisers: tuple[FakeUser, FakeUser],
) -> None:
    olga, otto = organisers
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [sent] = await _propose(driver, anna, "jeden 2. Donnerstag 19 Uhr")
    assert sent.text.startswith("Danke! Ich habe deinen Vorschlag an die Organisator:innen")
    assert "Name: Stammtisch <Nord>" in sent.text
    assert "Stammtisch &lt;Nord&gt;" in sent.html
    assert "Ort: Kneipe <Eck>" in sent.text
    [card] = fake_api.sent_to(olga.id)
    [english] = fake_api.sent_to(otto.id)
    assert card.text.startswith(f"Anna (ID {anna.id}) schlägt einen neuen Stammtisch vor:")
    assert english.text.startswith(f"Anna (ID {anna.id}) proposes a new Stammtisch:")
    assert [label for label, _ in card.buttons] == ["Annehmen", "Ablehnen"]

    # Someone who isn't an organiser can't decide (a forwarded or forged button).
    approve = _button(card, "Annehmen")
    assert await driver.press(anna, card, approve) == []
    assert (
        driver.last_answer()["text"] == "Nur Organisator:innen können über Vorschläge entscheiden."
    )
    async with app.session_pool() as session:
        proposal = await session.scalar(select(GroupProposal))
        assert proposal is not None
        assert proposal.status == ProposalStatus.PENDING

    await driver.press(olga, card, approve)
    assert card.text.endswith(
        "Angenommen: Der Stammtisch steht jetzt in der Liste, und wer ihn vorgeschlagen hat, "
        "ist Gastgeber:in."
    )
    assert card.buttons == []
    told = fake_api.sent_to(anna.id)[-1]
    assert told.text.startswith("Gute Nachricht: Dein Stammtisch Stammtisch <Nord> wurde")
    # The second organiser comes too late: told who decided.
    await driver.press(otto, english, _button(english, "Decline"))
    assert driver.last_answer()["text"] == "Already approved by Olga."
    async with app.session_pool() as session:
        group = await session.scalar(select(Group).where(Group.name == "Stammtisch <Nord>"))
        assert group is not None
        assert (group.key, group.type.value, group.district.key if group.district else None) == (
            "stammtisch-nord",
            "stammtisch",
            "nord",
        )
        assert group.rule == "jeden 2. Donnerstag 19 Uhr"
        assert group.rrule is not None
        assert group.place == "Kneipe <Eck>"
        assert [host.telegram_id for host in group.hosts] == [anna.id]
        roles = set(
            await session.scalars(select(MemberRole.role).where(MemberRole.member_id == anna.id))
        )
        assert roles == {Role.HOST}
        assert await session.get(GroupMembership, (group.id, anna.id)) is not None
        meetings = list(await session.scalars(select(Meeting).where(Meeting.group_id == group.id)))
        assert meetings  # the horizon for the new group
        proposal = await session.scalar(select(GroupProposal))
        assert proposal is not None
        assert (proposal.status, proposal.group_id, proposal.decided_by) == (
            ProposalStatus.APPROVED,
            group.id,
            olga.id,
        )
        exported = await export_setup(session)
        # Also when the setup was imported from a file: its text is kept and updated.
        profile = await session.get(KvProfile, 1)
        assert profile is not None
        profile.setup_source = SETUP
        from_file = await export_setup(session)
    for text in (exported, from_file):
        assert "key: stammtisch-nord" in text
        assert "meets: jeden 2. Donnerstag 19 Uhr" in text
        assert f"hosts: [{anna.id}]" in text
        # What is exported reads back, with the new group in it.
        assert [group.key for group in load_setup(text).groups] == [
            "stammtisch-mitte",
            "stammtisch-nord",
        ]
    # The new group is listed for everyone.
    [directory] = await driver.send(olga, "/gruppen")
    assert "Stammtisch <Nord>" in directory.text


async def test_a_declined_proposal_is_told_kindly(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    kv: None,
    organisers: tuple[FakeUser, FakeUser],
) -> None:
    olga, _otto = organisers
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [sent] = await _propose(driver, anna, None)
    assert "Rhythmus: noch offen" in sent.text
    [card] = fake_api.sent_to(olga.id)
    await driver.press(olga, card, _button(card, "Ablehnen"))
    assert card.text.endswith("Abgelehnt. Ich habe es der Person freundlich mitgeteilt.")
    told = fake_api.sent_to(anna.id)[-1]
    assert told.text.startswith("Danke für deinen Vorschlag Stammtisch <Nord>.")
    await driver.press(olga, card, _button(card, "Ablehnen") if card.buttons else "gp1:a:1")
    assert driver.last_answer()["text"] == "Schon abgelehnt von Olga."
    async with app.session_pool() as session:
        assert await session.scalar(select(Group).where(Group.name == "Stammtisch <Nord>")) is None
    # A forged proposal id; one past any id is answered like a stale button.
    data = ProposalCallback(action=ProposalAction.APPROVE, proposal_id=4242).pack()
    await driver.press(olga, card, data)
    assert driver.last_answer()["text"] == "Diesen Vorschlag gibt es nicht mehr."
    await driver.press(olga, card, f"gp1:a:{2**63}")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."


async def test_cancel_ends_the_proposal(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [directory] = await driver.send(anna, "/gruppen")
    [menu] = await driver.press(anna, directory, _button(directory, "Alle Gruppen durchsuchen"))
    await driver.press(anna, menu, _button(menu, "Einen Stammtisch gründen"))
    await driver.send(anna, "Stammtisch Süd")
    [cancelled] = await driver.send(anna, "/abbrechen")
    assert cancelled.text
    [stray] = await driver.send(anna, "Kneipe")
    assert "Wo würdet" not in stray.text
    async with app.session_pool() as session:
        assert await session.scalar(select(GroupProposal)) is None


async def test_proposing_needs_consent_first(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    [directory] = await driver.send(ben, "/gruppen")
    [menu] = await driver.press(ben, directory, _button(directory, "Alle Gruppen durchsuchen"))
    [question] = await driver.press(ben, menu, _button(menu, "Einen Stammtisch gründen"))
    assert question.text.startswith("Bevor wir loslegen:")


async def test_an_abandoned_questions_buttons_do_not_answer_a_new_conversation(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [directory] = await driver.send(anna, "/gruppen")
    [menu] = await driver.press(anna, directory, _button(directory, "Alle Gruppen durchsuchen"))
    found = _button(menu, "Einen Stammtisch gründen")
    await driver.press(anna, menu, found)
    [old] = await driver.send(anna, "Stammtisch Alt")
    # She starts over: the same question again, for the new name.
    await driver.press(anna, menu, found)
    [new] = await driver.send(anna, "Stammtisch Neu")
    assert new.text == "In welchem Stadtteil?"
    # The old question's button is the same step, but not this conversation's question.
    assert await driver.press(anna, old, _button(old, "Mitte")) == []
    assert not driver.last_answer().get("show_alert")
    assert old.buttons == []
    assert new.buttons  # still waiting for the answer
    [place] = await driver.press(anna, new, _button(new, "Nord"))
    assert new.text == "Notiert: Nord"
    assert place.text.startswith("Wo würdet ihr euch treffen?")
