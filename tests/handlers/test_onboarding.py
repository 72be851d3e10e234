"""Dispatcher tests: consent, the intake, suggestions with reasons, joining, privacy, the guide."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Application, build_application
from bot.services import schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.services.members import load_answers
from bot.settings import Settings
from bot.telegram.callbacks import IntakeAction, IntakeCallback, IntakeStep
from jobs.onboarding import newcomer_digest, remind_abandoned_intakes
from models import AuditEntry, Group, GroupMembership, Member, Profile, Role, Topic
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import meetings_ahead

SETUP = """
name: KV Testhausen
privacy_contact: datenschutz@example.org
districts: [Mitte, Nord]
topics: [Umwelt, Bildung, Frieden]
activity_types: [Infostände, Social Media]
groups:
  - key: stammtisch-mitte
    name: Stammtisch <Mitte> & Co
    type: stammtisch
    district: mitte
    topics: [umwelt, bildung]
    meets: every Thursday 19:00
    place: Café Rosa
    hosts: [{host}]
    newcomer_friendly: true
  - key: ag-frieden
    name: AG Frieden
    type: ag
    topics: [frieden]
    meets: every 2nd Tuesday 10:00
  - key: basisgruppe-nord
    name: Basisgruppe Nord
    type: basisgruppe
    district: nord
    topics: [bildung]
    meets: first Monday of the month 18:30
guide:
  - title: Wer wir sind
    text: Wir sind ein kleiner KV.
  - title: Wie Stammtische funktionieren
    text: Einfach vorbeikommen <ohne Anmeldung>.
"""


@pytest.fixture
def host(fake_api: FakeBotAPI) -> FakeUser:
    return fake_api.add_user(first_name="Hanna", username="hanna_host", language_code="de")


@pytest.fixture
async def kv(app: Application, host: FakeUser) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP.format(host=host.id)))
        await session.flush()
        # The groups' meetings, as the horizon job makes them.
        await schedule.extend_horizon(session, now=utcnow(), zone=app.settings.zone)
        await session.commit()
    await meetings_ahead(app.session_pool)


def _button(message: SentMessage, label: str) -> str:
    matches = [data for text, data in message.buttons if text.endswith(label)]
    assert matches, f"no button ending in {label!r}: {message.buttons}"
    return matches[0]


async def _consent(driver: BotDriver, user: FakeUser) -> SentMessage:
    """/start and agree; returns the first intake step."""
    [_greeting, consent] = await driver.send(user, "/start")
    [step] = await driver.press(user, consent, _button(consent, "Einverstanden"))
    return step


async def _profile(app: Application, member_id: int) -> Profile | None:
    async with app.session_pool() as session:
        member = await session.get(Member, member_id)
        # Topics and activity types are not loaded with the member (models.profile).
        return await load_answers(session, member.profile) if member and member.profile else None


async def test_the_whole_intake_and_joining(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, host: FakeUser, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    step = await _consent(driver, anna)
    assert step.text.startswith("Schritt 1 von 5\nWelche Themen sind dir wichtig?")
    await driver.press(anna, step, _button(step, "Umwelt"))
    await driver.press(anna, step, _button(step, "Bildung"))
    assert "✅ Umwelt" in [text for text, _ in step.buttons]
    await driver.press(anna, step, _button(step, "Weiter »"))
    assert step.text.startswith("Schritt 2 von 5\nWo wohnst du?")
    await driver.press(anna, step, _button(step, "Mitte"))
    assert step.text.startswith("Schritt 3 von 5")
    await driver.press(anna, step, _button(step, "Infostände"))
    await driver.press(anna, step, _button(step, "Weiter »"))
    assert step.text.startswith("Schritt 4 von 5\nWann hast du meistens Zeit?")
    await driver.press(anna, step, _button(step, "werktags abends"))
    await driver.press(anna, step, _button(step, "Weiter »"))
    await driver.press(anna, step, _button(step, "Etwa einmal im Monat"))
    assert step.text.startswith("Deine Angaben")
    assert "Themen: Umwelt, Bildung" in step.text
    assert "Stadtteil: Mitte" in step.text
    assert "Mitmachformen: Infostände" in step.text
    assert "Zeit: werktags abends" in step.text
    assert "Von uns hören: Etwa einmal im Monat" in step.text

    [suggestions] = await driver.press(anna, step, _button(step, "passende Gruppen zeigen"))
    assert "Ändern kannst du das jederzeit: /profil" in step.text
    lines = suggestions.text.splitlines()
    assert lines[0] == "Diese Gruppen könnten zu dir passen:"
    assert lines[2] == "Stammtisch <Mitte> & Co (Stammtisch)"
    assert lines[3] == (
        "Mitte · Umwelt, Bildung · Donnerstagabends, passt zu deiner Zeit · offen für Neue"
    )
    assert lines[4].startswith("Nächstes Treffen: Do., ")
    assert lines[4].endswith("19:00 · Café Rosa")
    assert "Stammtisch &lt;Mitte&gt; &amp; Co" in suggestions.html
    # KV-wide, but no shared topic and outside her free time: last.
    assert lines[-3:-1] == ["AG Frieden (AG)", "ganzer KV · Dienstags tagsüber"]
    assert "Basisgruppe Nord" in suggestions.text  # another Stadtteil, but a shared topic

    [joined, card] = await driver.press(anna, suggestions, suggestions.buttons[0][1])
    assert joined.text.startswith("Du bist jetzt bei Stammtisch <Mitte> & Co.\n")
    assert joined.text.endswith("Der nächste Termin – sag den Gastgeber:innen, ob du kommst:")
    assert card.text.startswith("Stammtisch <Mitte> & Co\n🗓 Do., ")
    assert [data.split(":")[1] for _label, data in card.buttons][:3] == ["y", "m", "n"]
    [note] = fake_api.sent_to(host.id)
    assert note.text == (
        f"Anna (ID {anna.id}) ist Stammtisch <Mitte> & Co beigetreten – die erste Gruppe bei uns. "
        "Begrüße die Person doch kurz!"
    )
    assert note.reply_markup is not None
    assert note.reply_markup["inline_keyboard"][0][0]["url"] == f"tg://user?id={anna.id}"
    # Joining again changes nothing and tells nobody.
    assert await driver.press(anna, suggestions, suggestions.buttons[0][1]) == []
    assert driver.last_answer()["text"] == "Du bist schon in dieser Gruppe."
    assert len(fake_api.sent_to(host.id)) == 1

    profile = await _profile(app, anna.id)
    assert profile is not None
    assert profile.intake_completed_at is not None
    async with app.session_pool() as session:
        member = await session.get(Member, anna.id)
        assert member is not None
        assert (member.first_name, member.username) == ("Anna", "anna_k")
        count = await session.scalar(select(func.count()).select_from(GroupMembership))
    assert count == 1


async def test_back_skip_and_stale_buttons(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    topic_button = _button(step, "Umwelt")
    await driver.press(anna, step, _button(step, "Überspringen"))
    assert step.text.startswith("Schritt 2 von 5")
    # A topic button from the previous step is stale now: a quiet note, not an alert.
    await driver.press(anna, step, topic_button)
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    assert not driver.last_answer().get("show_alert")
    await driver.press(anna, step, _button(step, "« Zurück"))
    assert step.text.startswith("Schritt 1 von 5")
    # A forged topic id is refused and nothing is stored.
    forged = IntakeCallback(step=IntakeStep.TOPICS, action=IntakeAction.ON, value=9999)
    await driver.press(anna, step, forged.pack())
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    await driver.press(anna, step, "in1:topics:fly:1")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    await driver.press(anna, step, "in1:summary:done:0")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    profile = await _profile(app, anna.id)
    assert profile is not None
    assert profile.topics == []
    assert profile.intake_completed_at is None


async def test_not_now_stores_nothing_and_the_directory_still_works(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", username="ben_b", language_code="de")
    [_greeting, consent] = await driver.send(ben, "/start")
    assert await driver.press(ben, consent, _button(consent, "Jetzt nicht")) == []
    assert consent.text.startswith("Alles klar, ich speichere über dich nichts")
    async with app.session_pool() as session:
        member = await session.get(Member, ben.id)
    assert member is not None
    assert (member.first_name, member.username, member.profile) == (None, None, None)

    [directory] = await driver.send(ben, "/gruppen")
    assert directory.text.startswith("Alle Gruppen im KV:")
    assert "AG Frieden (AG, ganzer KV)" in directory.text
    # Joining needs consent: the question comes again instead.
    [question] = await driver.press(
        ben, directory, _button(directory, "Stammtisch <Mitte> & Co beitreten")
    )
    assert question.text.startswith("Ich habe mir gemerkt: Beitritt zu Stammtisch <Mitte> & Co.")
    assert "\n\nBevor wir loslegen:" in question.text
    [dates] = await driver.send(ben, "/termine")
    assert dates.text.startswith("Die nächsten Treffen")
    assert "Stammtisch <Mitte> & Co (Café Rosa)" in dates.text
    [guide] = await driver.send(ben, "/kv")
    assert guide.text.startswith("So funktioniert KV Testhausen")
    await driver.press(ben, guide, _button(guide, "Wie Stammtische funktionieren"))
    assert guide.text == "Wie Stammtische funktionieren\n\nEinfach vorbeikommen <ohne Anmeldung>."
    await driver.press(ben, guide, _button(guide, "« Alle Abschnitte"))
    assert guide.text.startswith("So funktioniert KV Testhausen")
    await driver.press(ben, guide, "kv1:424242")
    assert driver.last_answer()["text"] == "Diesen Abschnitt gibt es nicht mehr."


async def test_details_and_a_dropped_group(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    [directory] = await driver.send(ben, "/groups")
    assert directory.text.startswith("All groups of the KV:")
    [details] = await driver.press(ben, directory, directory.buttons[1][1])
    assert details.text.startswith("Stammtisch <Mitte> & Co (Stammtisch)\nStadtteil: Mitte")
    # English in a German KV: the KV's 24-hour clock, not 7:00 PM.
    assert "Meets: every Thursday, 19:00" in details.text
    assert "Open to newcomers: you are especially welcome here." in details.text
    async with app.session_pool() as session:
        group = await session.scalar(select(Group).where(Group.key == "stammtisch-mitte"))
        assert group is not None
        group.active = False
        await session.commit()
    await driver.press(ben, directory, directory.buttons[1][1])
    assert driver.last_answer()["text"] == "This group no longer exists."


async def test_edit_from_the_profile_returns_to_the_summary(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(driver, anna)
    umwelt = _button(step, "Umwelt")
    [summary] = await driver.send(anna, "/profil")
    assert summary.text.startswith("Deine Angaben\nThemen: keine Angabe")
    # One message shows the intake: the old step's message lost its buttons.
    assert step.buttons == []
    await driver.press(anna, summary, _button(summary, "Themen ändern"))
    assert summary.text.startswith("Schritt 1 von 5")
    await driver.press(anna, summary, _button(summary, "Frieden"))
    await driver.press(anna, summary, _button(summary, "Weiter »"))
    assert summary.text.startswith("Deine Angaben\nThemen: Frieden")
    # A press of the old step's data (sent before its buttons went) changes nothing and
    # shows where the conversation is: the summary.
    await driver.press(anna, step, umwelt)
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    assert not driver.last_answer().get("show_alert")
    assert step.text.startswith("Deine Angaben\nThemen: Frieden")
    assert summary.buttons == []


async def test_no_fitting_group_offers_the_office(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser, kv: None
) -> None:
    async with app.session_pool() as session:
        for group in await session.scalars(select(Group)):
            group.active = False
        await session.commit()
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await _consent(driver, anna)
    [summary] = await driver.send(anna, "/profil")
    [nothing] = await driver.press(anna, summary, _button(summary, "passende Gruppen zeigen"))
    assert nothing.text.startswith("Ich habe noch keine Gruppe gefunden")
    await driver.press(anna, nothing, _button(nothing, "Mit der Geschäftsstelle sprechen"))
    assert (
        driver.last_answer()["text"] == "Danke! Jemand aus der Geschäftsstelle meldet sich bei dir."
    )
    assert not driver.last_answer().get("show_alert")  # a thank-you, not a refusal
    assert nothing.buttons == []  # asked once is enough
    [note] = fake_api.sent_to(admin_user.id)
    assert note.text == (
        f"Anna (ID {anna.id}) hat keine passende Gruppe gefunden und möchte mit jemandem sprechen."
    )
    # Each organiser is asked alone, so the note says "du", not "ihr".
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    await _consent(driver, ben)
    [summary] = await driver.send(ben, "/profil")
    [nothing] = await driver.press(ben, summary, _button(summary, "passende Gruppen zeigen"))
    # Starting a group is a conversation of its own (tests/handlers/test_founding.py).
    [question] = await driver.press(ben, nothing, _button(nothing, "Eine Gruppe gründen"))
    assert "Wie soll dein Stammtisch heißen?" in question.text


async def test_privacy_shows_and_erases_everything(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    step = await _consent(driver, anna)
    await driver.press(anna, step, _button(step, "Umwelt"))
    [privacy] = await driver.send(anna, "/datenschutz")
    assert privacy.text.startswith("Datenschutz\n\nImmer: deine Telegram-ID und deine Sprache")
    assert "Fragen zum Datenschutz: datenschutz@example.org" in privacy.text
    [data] = await driver.press(anna, privacy, _button(privacy, "Meine Daten anzeigen"))
    assert "Vorname: Anna" in data.text
    assert "Benutzername: @anna_k" in data.text
    assert "Themen: Umwelt" in data.text
    [ask] = await driver.press(anna, privacy, _button(privacy, "Alles löschen"))
    await driver.press(anna, ask, _button(ask, "Ja, alles löschen"))
    assert ask.text == (
        "Erledigt. Ich habe alles gelöscht, was ich über dich wusste. Wenn du mir wieder "
        "schreibst, fangen wir von vorn an."
    )
    async with app.session_pool() as session:
        # Everything, the member row included (tests/handlers/test_erasure_every_table.py).
        assert await session.get(Member, anna.id) is None
        assert await session.scalar(select(func.count()).select_from(Profile)) == 0
        # The topics themselves belong to the KV and stay.
        assert await session.scalar(select(func.count()).select_from(Topic)) == 3
    # The intake's buttons died with the profile.
    await driver.press(anna, step, _button(step, "Bildung"))
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."


async def test_a_restart_in_the_middle_of_the_intake(
    app: Application, settings: Settings, fake_api: FakeBotAPI, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    step = await _consent(BotDriver(app, fake_api), anna)
    await BotDriver(app, fake_api).press(anna, step, _button(step, "Überspringen"))
    assert step.text.startswith("Schritt 2 von 5")
    await app.close()
    restarted = await build_application(settings, migrate=False)
    try:
        driver = BotDriver(restarted, fake_api)
        await driver.press(anna, step, _button(step, "Nord"))
        assert step.text.startswith("Schritt 3 von 5")
    finally:
        await restarted.close()


async def test_reminder_once_and_the_newcomer_digest(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser, kv: None
) -> None:
    organiser = fake_api.add_user(first_name="Olga", language_code="en")
    await driver.send(organiser, "/hilfe")
    async with app.session_pool() as session:
        member = await session.get(Member, organiser.id)
        assert member is not None
        member.roles.append(
            __import__("models").MemberRole(role=Role.ORGANISER, granted_at=utcnow())
        )
        await session.commit()
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await _consent(driver, anna)
    ctx = app.job_context()
    now = utcnow()
    assert await remind_abandoned_intakes(ctx, now=now + timedelta(hours=23)) == 0
    assert await remind_abandoned_intakes(ctx, now=now + timedelta(hours=25)) == 1
    assert await remind_abandoned_intakes(ctx, now=now + timedelta(hours=49)) == 0
    # A run on a second instance that read the member before the first one's mark was
    # committed queues nothing more: the row's key names the member's intake.
    async with app.session_pool() as session:
        profile = await session.get(Profile, anna.id)
        assert profile is not None
        profile.intake_reminded_at = None
        await session.commit()
    assert await remind_abandoned_intakes(ctx, now=now + timedelta(hours=49)) == 0
    # The outbox sends it.
    assert await app.worker.run_once(now=now + timedelta(hours=49)) == 1
    reminder = fake_api.sent_to(anna.id)[-1]
    assert reminder.text.startswith("Du hast gestern angefangen, mir zu erzählen")
    [resumed] = await driver.press(anna, reminder, _button(reminder, "Weitermachen"))
    assert resumed.text.startswith("Schritt 1 von 5")

    assert await newcomer_digest(ctx, now=now + timedelta(days=13)) == 0
    assert await newcomer_digest(ctx, now=now + timedelta(days=15)) == 1
    # A list of members to organisers, on the KV's behalf: the bot is the actor.
    async with app.session_pool() as session:
        [entry] = list(await session.scalars(select(AuditEntry)))
    assert (entry.actor_id, entry.action, entry.count) == (None, "digest", 1)
    assert await app.worker.run_once(now=now + timedelta(days=15)) == 1
    [digest] = fake_api.sent_to(organiser.id)[-1:]
    assert digest.text.startswith("Newcomers without a group (1)")
    assert "This newcomer has been with us for 14 days or more" in digest.text
    assert f"• Anna (ID {anna.id})" in digest.text
    assert digest.reply_markup is not None
    assert digest.reply_markup["inline_keyboard"][0][0]["url"] == f"tg://user?id={anna.id}"
    # The admin isn't bothered while there are organisers.
    assert fake_api.sent_to(admin_user.id) == []


async def test_suggestions_in_english(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    [_greeting, consent] = await driver.send(ben, "/start")
    assert consent.text.startswith("Before we start:")
    [step] = await driver.press(ben, consent, _button(consent, "Agree"))
    assert step.text.startswith("Step 1 of 5\nWhich topics do you care about?")
    await driver.press(ben, step, _button(step, "Umwelt"))
    await driver.press(ben, step, _button(step, "Next »"))
    await driver.press(ben, step, _button(step, "Mitte"))
    for _ in range(2):
        await driver.press(ben, step, _button(step, "Skip"))
    await driver.press(ben, step, _button(step, "Weekly"))
    assert step.text.startswith("Your answers\nTopics: Umwelt\nStadtteil: Mitte")
    [suggestions] = await driver.press(ben, step, _button(step, "Done – show groups that fit me"))
    assert suggestions.text.splitlines()[:4] == [
        "These groups could fit you:",
        "",
        "Stammtisch <Mitte> & Co (Stammtisch)",
        "Mitte · Umwelt · Thursday evenings · open to newcomers",
    ]
