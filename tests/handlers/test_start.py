"""Dispatcher tests: /start, /hilfe, /sprache, /abbrechen, fallbacks, duplicates, errors."""

from __future__ import annotations

import logging

import pytest
from aiogram.types import BotCommandScopeChat
from sqlalchemy import select

from bot.app import Application
from bot.services.updates import Outcome
from models import Member, MemberRole, Role
from models.base import utcnow
from tests.conftest import KV_NAME
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser
from tests.update_claims import claimed_by, claimed_by_live_instance, gone_here


async def _member(app: Application, member_id: int) -> Member | None:
    async with app.session_pool() as session:
        return await session.get(Member, member_id)


async def test_start_greets_in_german_and_records_the_member(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de-DE")
    [reply, consent] = await driver.send(anna, "/start")
    assert reply.text.startswith("Hallo Anna! 👋")
    assert f"Ich bin der Bot von {KV_NAME}." in reply.text
    assert "&lt;Test&gt; &amp; Co" in reply.html  # the KV name is escaped, not interpreted
    assert consent.text.startswith("Bevor wir loslegen:")
    assert [text for text, _ in consent.buttons] == ["Einverstanden", "Jetzt nicht"]
    member = await _member(app, anna.id)
    assert member is not None
    # Before consent nothing but the id and the language is kept.
    assert (member.first_name, member.username, member.telegram_language) == (None, None, "de-DE")


@pytest.mark.parametrize(
    ("language_code", "greeting"),
    [("en", "Hello Ben!"), ("en-GB", "Hello Ben!"), ("fr", "Hallo Ben!"), (None, "Hallo Ben!")],
)
async def test_start_uses_telegram_language_when_supported(
    driver: BotDriver, fake_api: FakeBotAPI, language_code: str | None, greeting: str
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code=language_code)
    [reply, _consent] = await driver.send(ben, "/start")
    assert reply.text.startswith(greeting)


async def test_names_are_escaped(driver: BotDriver, fake_api: FakeBotAPI) -> None:
    tricky = fake_api.add_user(first_name='<b>Anna & "Co"</b>', language_code="de")
    [reply, _consent] = await driver.send(tricky, "/start")
    assert reply.text.startswith('Hallo <b>Anna & "Co"</b>!')
    assert '&lt;b&gt;Anna &amp; "Co"&lt;/b&gt;' in reply.html


async def _grant(app: Application, member_id: int, *roles: Role) -> None:
    async with app.session_pool() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        member.roles.extend(MemberRole(role=role, granted_at=utcnow()) for role in roles)
        await session.commit()


@pytest.mark.parametrize(
    ("roles", "says", "leaves_out"),
    [
        ((Role.HOST,), ["Du bist Gastgeber:in:", "/termine"], ["Organisator:in:", "Admin:"]),
        (
            (Role.ORGANISER,),
            ["Du bist Organisator:in:", "/rundschreiben", "Geschäftsstelle"],
            ["Gastgeber:in:", "Admin:"],
        ),
        (
            (Role.HOST, Role.ORGANISER),
            ["Du bist Gastgeber:in:", "Du bist Organisator:in:"],
            ["Admin:"],
        ),
    ],
)
async def test_hosts_and_organisers_get_their_own_greeting(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    roles: tuple[Role, ...],
    says: list[str],
    leaves_out: list[str],
) -> None:
    hanna = fake_api.add_user(first_name="Hanna", language_code="de")
    await driver.send(hanna, "/hilfe")  # the bot meets her, an admin gives her the role
    await _grant(app, hanna.id, *roles)
    [reply] = await driver.send(hanna, "/start")  # no consent question
    assert reply.text.startswith(f"Hallo Hanna! 👋 Ich bin der Bot von {KV_NAME}.")
    for words in [*says, "/hilfe zeigt alles", "/profil"]:
        assert words in reply.text
    for words in leaves_out:
        assert words not in reply.text
    member = await _member(app, hanna.id)
    assert member is not None
    assert member.profile is None  # nothing stored: /profil is there if she wants suggestions
    [question] = await driver.send(hanna, "/profil")
    assert question.text.startswith("Bevor wir loslegen:")


async def test_an_admin_from_admin_ids_gets_the_admin_greeting(
    driver: BotDriver, admin_user: FakeUser
) -> None:
    [reply] = await driver.send(admin_user, "/start")
    assert reply.text.startswith("Hallo Ada! 👋")
    assert "Du bist Admin: Mit /rolle vergibst du Rollen" in reply.text
    assert "Bevor wir loslegen" not in reply.text


async def test_the_role_greeting_in_english(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    olga = fake_api.add_user(first_name="Olga", language_code="en")
    await driver.send(olga, "/help")
    await _grant(app, olga.id, Role.ORGANISER)
    [reply] = await driver.send(olga, "/start")
    assert "You are an organiser: /broadcast sends a message to members." in reply.text
    assert reply.text.endswith(
        "/help shows everything I can do for you. /profile gets you group suggestions "
        "for yourself too."
    )


async def test_help_lists_exactly_the_member_commands(
    driver: BotDriver, fake_api: FakeBotAPI
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [reply] = await driver.send(anna, "/hilfe")
    commands = [line.split(" ")[0] for line in reply.text.splitlines() if line.startswith("/")]
    assert commands == [
        "/start",
        "/hilfe",
        "/profil",
        "/gruppen",
        "/termine",
        "/aktionen",
        "/gedenktage",
        "/kalender",
        "/einladen",
        "/kv",
        "/datenschutz",
        "/einstellungen",
        "/sprache",
        "/abbrechen",
    ]
    [english] = await driver.send(fake_api.add_user(first_name="Ben", language_code="en"), "/help")
    assert english.text.startswith("What I can do for you:")
    assert "/language – Change language" in english.text


async def test_help_for_an_admin_lists_the_role_commands(
    driver: BotDriver, admin_user: FakeUser
) -> None:
    [reply] = await driver.send(admin_user, "/help")
    commands = [line.split(" ")[0] for line in reply.text.splitlines() if line.startswith("/")]
    assert commands[-8:] == [
        "/meine_gruppen",
        "/rundschreiben",
        "/umfrage",
        "/bericht",
        "/ruhige",
        "/rolle",
        "/rollen",
        "/protokoll",
    ]
    assert len(commands) == 23


async def test_language_switch(driver: BotDriver, fake_api: FakeBotAPI, app: Application) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [menu] = await driver.send(anna, "/sprache")
    assert menu.text == "In welcher Sprache soll ich mit dir sprechen?"
    buttons = dict(menu.buttons)
    assert set(buttons) == {"Deutsch", "English"}
    await driver.press(anna, menu, buttons["English"])
    edited = fake_api.sent_to(anna.id)[-1]
    assert edited.message_id == menu.message_id
    assert edited.text == "From now on I speak English with you."
    assert driver.last_answer().get("text") is None
    member = await _member(app, anna.id)
    assert member is not None
    assert member.language == "en"
    scope = BotCommandScopeChat(chat_id=anna.id).model_dump_json(exclude_none=True)
    personal = fake_api.commands[(scope, "")]
    assert [c["command"] for c in personal] == [
        "start",
        "help",
        "profile",
        "groups",
        "dates",
        "actions",
        "memorials",
        "calendar",
        "invite",
        "kv",
        "privacy",
        "settings",
        "language",
        "cancel",
    ]
    # The choice beats Telegram's language from now on.
    [reply, _consent] = await driver.send(anna, "/start")
    assert reply.text.startswith("Hello Anna!")


async def test_forged_language_button_changes_nothing(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [menu] = await driver.send(anna, "/sprache")
    await driver.press(anna, menu, "lang1:fr")
    assert driver.last_answer()["text"] == "Diese Sprache spreche ich noch nicht."
    member = await _member(app, anna.id)
    assert member is not None
    assert member.language is None


@pytest.mark.parametrize("data", ["garbage", "lang1", "role1:x:y:z", "old:42"])
async def test_unknown_buttons_get_a_polite_answer(
    driver: BotDriver, fake_api: FakeBotAPI, data: str
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [menu] = await driver.send(anna, "/sprache")
    assert await driver.press(anna, menu, data) == []
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."


async def test_unknown_command_and_stray_text(driver: BotDriver, fake_api: FakeBotAPI) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [reply] = await driver.send(anna, "/gibtsnicht")
    assert reply.text.startswith("Diesen Befehl kenne ich nicht.")
    [reply] = await driver.send(anna, "Hallo?")
    assert reply.text.startswith("Ich verstehe Befehle und Knöpfe.")
    # A plain member doesn't learn admin commands exist beyond "not for you".
    [reply] = await driver.send(anna, "/rolle")
    assert reply.text == "Das dürfen leider nur Admins."


async def test_cancel(driver: BotDriver, fake_api: FakeBotAPI, admin_user: FakeUser) -> None:
    [reply] = await driver.send(admin_user, "/abbrechen")
    assert reply.text == "Es gibt nichts abzubrechen."
    await driver.send(admin_user, "/rolle")
    [reply] = await driver.send(admin_user, "/cancel")
    assert reply.text.startswith("Abgebrochen.")
    [reply] = await driver.send(admin_user, "@whoever")
    assert reply.text.startswith("Ich verstehe Befehle und Knöpfe.")


async def test_group_messages_get_no_private_replies(
    driver: BotDriver, fake_api: FakeBotAPI
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    group = fake_api.add_group(title="KV Mitte")
    await driver.feed(await anna.send_message("/start", chat=group))
    await driver.feed(await anna.send_message("/gibtsnicht", chat=group))
    assert fake_api.sent_to(group.id) == []


async def test_a_redelivered_update_is_handled_once(
    driver: BotDriver, fake_api: FakeBotAPI
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    update = await anna.send_message("/hilfe")
    await driver.feed(update)
    await driver.feed(update)
    assert len(fake_api.sent_to(anna.id)) == 1


async def test_an_update_whose_instance_died_while_handling_it_is_handled(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    # Another instance on this host claimed it and was killed before it finished (its pid is
    # gone): Telegram brings the update again and this instance takes it over.
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    update = await anna.send_message("/hilfe")
    await claimed_by(app.session_pool, update["update_id"], gone_here())
    await driver.feed(update)
    assert len(fake_api.sent_to(anna.id)) == 1
    await driver.feed(update)  # and once only
    assert len(fake_api.sent_to(anna.id)) == 1


async def test_an_update_a_live_instance_handles_is_left_to_it(
    fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    update = await anna.send_message("/hilfe")
    await claimed_by_live_instance(app.session_pool, update["update_id"])
    outcome = Outcome()
    await app.dispatcher.feed_raw_update(app.bot, update, update_outcome=outcome)
    # Not handled here: the webhook answers 503 and Telegram asks again later.
    assert outcome.busy
    assert fake_api.sent_to(anna.id) == []


async def test_blocking_and_coming_back(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await driver.send(anna, "/start")
    await driver.feed(await anna.block_bot())
    member = await _member(app, anna.id)
    assert member is not None
    assert member.reachable is False
    await driver.feed(await anna.unblock_bot())
    member = await _member(app, anna.id)
    assert member is not None
    assert member.reachable is True
    await driver.feed(await anna.block_bot())
    await driver.send(anna, "/start")  # writing /start again also means "I'm back"
    member = await _member(app, anna.id)
    assert member is not None
    assert member.reachable is True


async def test_a_failing_handler_gets_a_message_not_a_traceback(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr("handlers.start.set_reachable", broken)
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    update = await anna.send_message("/start")
    with caplog.at_level(logging.ERROR):
        await driver.feed(update)
    [reply] = fake_api.sent_to(anna.id)
    assert reply.text.startswith("Sorry, something went wrong on my side.")
    assert str(update["update_id"]) in reply.text
    assert "secret detail" not in reply.text
    assert "Traceback" not in reply.text
    failure = [r for r in caplog.records if r.name == "handlers.errors"]
    assert failure
    assert failure[0].exc_info is not None
    assert str(update["update_id"]) in failure[0].getMessage()


async def test_failing_button_gets_an_alert(
    driver: BotDriver, fake_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("boom")

    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [menu] = await driver.send(anna, "/sprache")
    monkeypatch.setattr("handlers.basics.set_language", broken)
    await driver.press(anna, menu, dict(menu.buttons)["English"])
    answer = driver.last_answer()
    assert answer["text"].startswith("Entschuldige, bei mir ist etwas schiefgegangen.")
    assert answer["show_alert"] is True


async def test_info_logs_name_the_handler_but_not_the_text(
    driver: BotDriver, fake_api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    anna = fake_api.add_user(first_name="Annalena", username="secret_handle", language_code="de")
    with caplog.at_level(logging.INFO):
        await driver.send(anna, "/start geheimer-text-123")
    lines = [r for r in caplog.records if r.name == "mitmachbot.updates"]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert "type=message" in message
    assert "handler=handlers.start.start" in message
    assert "outcome=handled" in message
    assert "duration_ms=" in message
    everything = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    for secret in ("geheimer-text-123", "Annalena", "secret_handle"):
        assert secret not in everything


async def test_members_table_has_one_row_per_person(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    for text in ("/start", "/hilfe", "/sprache"):
        await driver.send(anna, text)
    async with app.session_pool() as session:
        ids = (await session.scalars(select(Member.id))).all()
    assert ids == [anna.id]
