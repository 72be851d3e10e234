"""Dispatcher tests: newcomers in served groups are welcomed, join requests greeted privately,
and organisers set the welcome up with /willkommen.

Expected texts are looked up in the catalogs through the app's I18n, so they follow the
translations; the names lists ("Anna, Ben und Cem") show which language was used.
"""

from __future__ import annotations

import itertools
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Application
from models import KvProfile, Member, MemberRole, Role, ServedChat
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeChat, FakeUser, SentMessage

KV = "Linke <Nord> & Co"
KV_HTML = "Linke &lt;Nord&gt; &amp; Co"

STANDARD_ONE = (
    "Welcome, {names}! 👋 Nice to have you here.\n\n"
    "I am the bot of <b>{kv}</b>. Say hello to me privately with the button below: "
    "I'll show you our regulars' tables (Stammtische), groups and dates, and how you "
    "can get involved."
)
STANDARD_SEVERAL = (
    "Welcome, {names}! 👋 Nice to have you all here.\n\n"
    "I am the bot of <b>{kv}</b>. Each of you, say hello to me privately with the button "
    "below: I'll show you our regulars' tables (Stammtische), groups and dates, and how "
    "you can get involved."
)
GROUP_BUTTON = "Say hello to me privately"
PRIVATE_BUTTON = "Say hello to me"
REQUEST_PENDING = (
    "Hello {name}! 👋 Thank you for your request to join <b>{group}</b>. "
    "The group's admins will decide on it soon."
)
REQUEST_APPROVED = "Hello {name}! 👋 Welcome to <b>{group}</b>: I'm letting you in right away."
REQUEST_BODY = (
    "Say hello to me: I am the bot of <b>{kv}</b> and I'll show you our regulars' "
    "tables (Stammtische), groups and dates, and how you can get involved."
)

_service_message_ids = itertools.count(9000)


class Clock:
    """The handlers' clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 6, 18, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(app: Application) -> Clock:
    fixed = Clock()
    app.dispatcher["clock"] = fixed
    return fixed


def _t(app: Application, locale: str, msgid: str) -> str:
    return app.i18n.gettext(msgid, locale=locale)


async def _serve(app: Application, group: FakeChat, *, language: str = "de", **values: Any) -> None:
    async with app.session_pool() as session:
        if await session.get(KvProfile, 1) is None:
            session.add(KvProfile(id=1, name=KV))
        session.add(ServedChat(chat_id=group.id, title=group.title, language=language, **values))
        await session.commit()


async def _served(app: Application, group: FakeChat) -> ServedChat:
    async with app.session_pool() as session:
        chat = await session.get(ServedChat, group.id)
        assert chat is not None
        return chat


async def _organiser(app: Application, fake_api: FakeBotAPI, name: str = "Olga") -> FakeUser:
    user = fake_api.add_user(first_name=name, language_code="de")
    async with app.session_pool() as session:
        member = Member(id=user.id, first_name=name, telegram_language="de")
        member.roles.append(MemberRole(role=Role.ORGANISER, granted_by=None))
        session.add(member)
        await session.commit()
    return user


async def _join(driver: BotDriver, user: FakeUser, group: FakeChat) -> None:
    # The fake server counts everyone as a member of every group until told otherwise.
    group.set_member_status(user, "left")
    await driver.feed(await user.join(group))


async def _service_message(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    group: FakeChat,
    *people: dict[str, Any],
    actor: FakeUser | None = None,
) -> None:
    """The "X joined" message Telegram posts in the group (sent by whoever added them)."""
    message = {
        "message_id": next(_service_message_ids),
        "from": actor.as_dict() if actor is not None else people[0],
        "chat": group.as_dict(),
        "date": int(time.time()),
        "new_chat_members": list(people),
    }
    await driver.feed(await fake_api.push_update({"message": message}))


async def _command(driver: BotDriver, user: FakeUser, group: FakeChat, text: str) -> SentMessage:
    before = len(driver.server.sent_to(group.id))
    await driver.feed(await user.send_message(text, chat=group))
    [reply] = driver.server.sent_to(group.id)[before:]
    return reply


def _button(message: SentMessage) -> dict[str, Any]:
    assert message.reply_markup is not None
    [[button]] = message.reply_markup["inline_keyboard"]
    return button


def _expected_welcome(app: Application, locale: str, names: str, *, several: bool) -> str:
    template = _t(app, locale, STANDARD_SEVERAL if several else STANDARD_ONE)
    return template.format(names=names, kv=KV_HTML)


def _calls(fake_api: FakeBotAPI, method: str) -> list[dict[str, Any]]:
    return [request.params for request in fake_api.requests if request.method == method]


# --- joins ----------------------------------------------------------------------------------


async def test_chat_member_join_is_welcomed_in_the_group_language(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group("KV Mitte")
    await _serve(app, group)
    # Anna's Telegram speaks English; the group speaks German, and everyone reads the welcome.
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    await _join(driver, anna, group)

    [welcome] = fake_api.sent_to(group.id)
    assert welcome.html == _expected_welcome(app, "de", "Anna", several=False)
    assert f"<b>{KV_HTML}</b>" in welcome.html
    assert KV in welcome.text
    assert _button(welcome) == {
        "text": _t(app, "de", GROUP_BUTTON),
        "url": f"https://t.me/{fake_api.bot_username}?start=g{group.id}",
    }
    assert (await _served(app, group)).last_welcome_message_id == welcome.message_id
    assert fake_api.sent_to(anna.id) == []


async def test_service_message_join_is_welcomed(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna = fake_api.add_user(first_name="Anna")
    await _service_message(driver, fake_api, group, anna.as_dict())

    [welcome] = fake_api.sent_to(group.id)
    assert welcome.html == _expected_welcome(app, "de", "Anna", several=False)
    assert _button(welcome)["url"] == f"https://t.me/{fake_api.bot_username}?start=g{group.id}"


async def test_joins_within_a_minute_share_one_welcome(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna, ben, cem = (fake_api.add_user(first_name=name) for name in ("Anna", "Ben", "Cem"))
    await _join(driver, anna, group)
    # Where the bot is admin, Telegram reports the same join a second time as a service message.
    await _service_message(driver, fake_api, group, anna.as_dict())
    clock.advance(30)
    await _join(driver, ben, group)
    clock.advance(29)
    await _service_message(driver, fake_api, group, cem.as_dict())

    [welcome] = fake_api.sent_to(group.id)
    assert welcome.edits == 2
    assert welcome.html == _expected_welcome(app, "de", "Anna, Ben und Cem", several=True)
    assert _button(welcome)["url"] == f"https://t.me/{fake_api.bot_username}?start=g{group.id}"
    assert _calls(fake_api, "deleteMessage") == []


async def test_a_join_after_a_minute_gets_a_new_welcome_and_the_old_one_goes(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna, ben = fake_api.add_user(first_name="Anna"), fake_api.add_user(first_name="Ben")
    await _join(driver, anna, group)
    clock.advance(60)
    await _join(driver, ben, group)

    first, second = fake_api.sent_to(group.id)
    assert first.deleted
    assert first.edits == 0
    assert not second.deleted
    assert second.html == _expected_welcome(app, "de", "Ben", several=False)
    assert (await _served(app, group)).last_welcome_message_id == second.message_id


async def test_an_old_welcome_that_cant_be_deleted_stays(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna, ben = fake_api.add_user(first_name="Anna"), fake_api.add_user(first_name="Ben")
    await _join(driver, anna, group)
    clock.advance(3600)
    fake_api.fail("deleteMessage", status=400, description="Bad Request: message can't be deleted")
    with caplog.at_level(logging.INFO, logger="handlers.greeting"):
        await _join(driver, ben, group)

    first, second = fake_api.sent_to(group.id)
    assert not first.deleted
    assert "Ben" in second.text
    assert (await _served(app, group)).last_welcome_message_id == second.message_id
    [record] = [r for r in caplog.records if r.name == "handlers.greeting"]
    assert record.levelno == logging.INFO
    assert "not deleted" in record.getMessage()


async def test_a_welcome_deleted_by_an_admin_is_not_extended_but_replaced(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna, ben = fake_api.add_user(first_name="Anna"), fake_api.add_user(first_name="Ben")
    await _join(driver, anna, group)
    fake_api.fail(
        "editMessageText", status=400, description="Bad Request: message to edit not found"
    )
    clock.advance(10)
    await _join(driver, ben, group)

    first, second = fake_api.sent_to(group.id)
    assert first.deleted
    assert second.html == _expected_welcome(app, "de", "Ben", several=False)


async def test_english_group_gets_an_english_welcome(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group("KV International")
    await _serve(app, group, language="en")
    anna, ben = (fake_api.add_user(first_name=name, language_code="de") for name in ("Anna", "Ben"))
    await _service_message(driver, fake_api, group, anna.as_dict(), ben.as_dict())

    [welcome] = fake_api.sent_to(group.id)
    assert welcome.html == STANDARD_SEVERAL.format(names="Anna and Ben", kv=KV_HTML)
    assert _button(welcome)["text"] == GROUP_BUTTON


async def test_unregistered_groups_get_nothing(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser, clock: Clock
) -> None:
    served = fake_api.add_group("KV Mitte")
    await _serve(app, served)
    stranger_group = fake_api.add_group("Somebody else's group")
    anna = fake_api.add_user(first_name="Anna")
    await _join(driver, anna, stranger_group)
    await _service_message(driver, fake_api, stranger_group, anna.as_dict())
    await driver.feed(await admin_user.send_message("/willkommen aus", chat=stranger_group))
    await driver.feed(await anna.request_join(stranger_group))

    assert fake_api.sent_to(stranger_group.id) == []
    assert fake_api.sent_to(anna.id) == []
    assert fake_api.sent_to(admin_user.id) == []
    assert _calls(fake_api, "approveChatJoinRequest") == []


async def test_bots_are_not_welcomed(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    other_bot = {"id": 4242, "is_bot": True, "first_name": "Umfragebot", "username": "poll_bot"}
    anna = fake_api.add_user(first_name="Anna")
    await driver.feed(
        await fake_api.push_update(
            {
                "chat_member": {
                    "chat": group.as_dict(),
                    "from": anna.as_dict(),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": other_bot},
                    "new_chat_member": {"status": "member", "user": other_bot},
                }
            }
        )
    )
    await _service_message(driver, fake_api, group, fake_api.bot_user, other_bot, actor=anna)
    assert fake_api.sent_to(group.id) == []


async def test_leaving_is_not_a_join(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    anna = fake_api.add_user(first_name="Anna")
    await driver.feed(await anna.leave(group))
    assert fake_api.sent_to(group.id) == []


async def test_welcome_off_means_no_welcome_and_no_private_greeting(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group, welcome_enabled=False, approve_join_requests=True)
    anna, ben = fake_api.add_user(first_name="Anna"), fake_api.add_user(first_name="Ben")
    await _join(driver, anna, group)
    await _service_message(driver, fake_api, group, anna.as_dict())
    await driver.feed(await ben.request_join(group))

    assert fake_api.sent_to(group.id) == []
    assert fake_api.sent_to(ben.id) == []
    # Letting people in is a setting of its own.
    assert _calls(fake_api, "approveChatJoinRequest") == [{"chat_id": group.id, "user_id": ben.id}]


# --- /willkommen ----------------------------------------------------------------------------


async def test_organiser_sets_a_custom_text_which_stays_plain_text(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    olga = await _organiser(app, fake_api)
    custom = "<i>Hallo</i> {names}!\nSchön, dass du bei {kv} bist. {{Klammern}} & mehr"
    reply = await _command(driver, olga, group, f"/willkommen text {custom}")
    assert reply.text.startswith(_t(app, "de", "Saved. This is how newcomers will be welcomed:"))
    assert reply.text.endswith(
        f"<i>Hallo</i> Olga!\nSchön, dass du bei {KV} bist. {{Klammern}} & mehr"
    )
    assert reply.message["reply_to_message"]["from"]["id"] == olga.id
    assert (await _served(app, group)).welcome_text == custom

    tricky = fake_api.add_user(first_name='<b>Anna & "Co"</b>')
    await _join(driver, tricky, group)
    welcome = fake_api.sent_to(group.id)[-1]
    assert welcome.text == (
        f'<i>Hallo</i> <b>Anna & "Co"</b>!\nSchön, dass du bei {KV} bist. {{Klammern}} & mehr'
    )
    assert welcome.html == (
        '&lt;i&gt;Hallo&lt;/i&gt; &lt;b&gt;Anna &amp; "Co"&lt;/b&gt;!\n'
        f"Schön, dass du bei {KV_HTML} bist. {{Klammern}} &amp; mehr"
    )
    assert _button(welcome)["url"] == f"https://t.me/{fake_api.bot_username}?start=g{group.id}"

    reply = await _command(driver, olga, group, "/welcome default")
    assert reply.text == _t(app, "de", "Done: newcomers get the standard welcome again.")
    assert (await _served(app, group)).welcome_text is None


async def test_organiser_switches_the_welcome_off_and_on_and_sees_the_setting(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    olga = await _organiser(app, fake_api)

    status = await _command(driver, olga, group, "/willkommen")
    assert status.text.startswith(
        _t(app, "de", "I welcome newcomers to this group, including those who ask to join.")
    )
    assert _t(app, "de", "I use the standard welcome text.") in status.text

    off = await _command(driver, olga, group, "/willkommen AUS")
    assert off.text == _t(
        app, "de", "Done: I don't welcome newcomers here any more. /welcome on switches it back on."
    )
    assert (await _served(app, group)).welcome_enabled is False
    await _join(driver, fake_api.add_user(first_name="Anna"), group)
    assert fake_api.sent_to(group.id)[-1].message_id == off.message_id

    await _command(driver, olga, group, "/welcome text Hallo {names}!")
    status = await _command(driver, olga, group, "/willkommen")
    assert status.text.startswith(
        _t(app, "de", "The welcome for newcomers is switched off in this group.")
    )
    assert "Hallo {names}!" in status.text

    on = await _command(driver, olga, group, "/willkommen an")
    assert on.text == _t(app, "de", "Done: I welcome newcomers here again.")
    assert (await _served(app, group)).welcome_enabled is True
    await _join(driver, fake_api.add_user(first_name="Ben"), group)
    assert fake_api.sent_to(group.id)[-1].text == "Hallo Ben!"


async def test_admins_may_too_and_english_groups_get_english_replies(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group, language="en")
    reply = await _command(driver, admin_user, group, "/willkommen off")
    assert reply.text == (
        "Done: I don't welcome newcomers here any more. /welcome on switches it back on."
    )
    assert (await _served(app, group)).welcome_enabled is False


async def test_plain_members_are_refused(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group)
    mallory = fake_api.add_user(first_name="Mallory", language_code="en")
    for command in ("/willkommen aus", "/welcome text Pwned {names}", "/willkommen"):
        reply = await _command(driver, mallory, group, command)
        assert reply.text == _t(app, "de", "Sorry, only organisers can change the welcome.")
    chat = await _served(app, group)
    assert (chat.welcome_enabled, chat.welcome_text) == (True, None)


async def test_the_refusal_speaks_the_groups_language(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group("KV International")
    await _serve(app, group, language="en")
    # A host is no organiser; her Telegram speaks German, the group English.
    hanna = fake_api.add_user(first_name="Hanna", language_code="de")
    async with app.session_pool() as session:
        member = Member(id=hanna.id, first_name="Hanna", telegram_language="de")
        member.roles.append(MemberRole(role=Role.HOST, granted_by=None))
        session.add(member)
        await session.commit()
    for command in ("/willkommen aus", "/welcome default", "/welcome"):
        reply = await _command(driver, hanna, group, command)
        assert reply.text == "Sorry, only organisers can change the welcome."
        assert reply.message["reply_to_message"]["from"]["id"] == hanna.id
    chat = await _served(app, group)
    assert (chat.welcome_enabled, chat.welcome_text) == (True, None)
    assert fake_api.sent_to(hanna.id) == []


UNKNOWN_PLACEHOLDER = (
    "I can't fill in {placeholder}: only {names} and {kv} may stand in curly braces. "
    "Nothing was saved."
)
OPEN_BRACE = (
    "There is a lone curly brace: only {names} and {kv} may stand in curly braces. "
    "Nothing was saved."
)
TOO_LONG = (
    "That text is too long: {length} character, at most {limit} are possible. Nothing was saved.",
    "That text is too long: {length} characters, at most {limit} are possible. Nothing was saved.",
)
NO_TEXT = (
    "Write your text after the command, for example:\n"
    "/welcome text Hello {names}, nice to have you at {kv}!"
)


async def test_invalid_custom_texts_are_rejected_and_nothing_is_stored(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group, welcome_text="Hallo {names}!")
    olga = await _organiser(app, fake_api)
    keep = {"names": "{names}", "kv": "{kv}"}
    cases = [
        ("Hallo {name}!", _t(app, "de", UNKNOWN_PLACEHOLDER).format(placeholder="{name}", **keep)),
        (
            "Hallo {names!r}!",
            _t(app, "de", UNKNOWN_PLACEHOLDER).format(placeholder="{names!r}", **keep),
        ),
        ("Hallo {names", _t(app, "de", OPEN_BRACE).format(**keep)),
        ("Hallo }", _t(app, "de", OPEN_BRACE).format(**keep)),
        (
            "x" * 1001,
            app.i18n.gettext(*TOO_LONG, n=1001, locale="de").format(length=1001, limit=1000),
        ),
        ("", _t(app, "de", NO_TEXT).format(**keep)),
    ]
    for text, expected in cases:
        reply = await _command(driver, olga, group, f"/willkommen text {text}".rstrip())
        assert reply.text == expected, text
        assert (await _served(app, group)).welcome_text == "Hallo {names}!"


# --- join requests --------------------------------------------------------------------------


async def test_join_request_is_greeted_privately_in_the_applicants_language(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group("KV <Mitte>")
    await _serve(app, group)
    # Never wrote to the bot: Telegram still lets it answer a join request for a while.
    ben = fake_api.add_user(first_name="Ben", language_code="en-GB", started=False)
    await driver.feed(await ben.request_join(group))

    [greeting] = fake_api.sent_to(ben.id)
    head = REQUEST_PENDING.format(name="Ben", group="KV &lt;Mitte&gt;")
    assert greeting.html == head + "\n\n" + REQUEST_BODY.format(kv=KV_HTML)
    assert _button(greeting) == {
        "text": PRIVATE_BUTTON,
        "url": f"https://t.me/{fake_api.bot_username}?start=g{group.id}",
    }
    assert _calls(fake_api, "approveChatJoinRequest") == []
    assert fake_api.sent_to(group.id) == []


async def test_join_request_in_an_unsupported_language_uses_the_default(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group, language="en")
    cloe = fake_api.add_user(first_name="Cloé", language_code="fr")
    await driver.feed(await cloe.request_join(group))
    [greeting] = fake_api.sent_to(cloe.id)
    head = _t(app, "de", REQUEST_PENDING).format(name="Cloé", group=group.title)
    assert greeting.html.startswith(head)
    assert _button(greeting)["text"] == _t(app, "de", PRIVATE_BUTTON)


async def test_join_request_is_approved_when_the_group_says_so(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, clock: Clock
) -> None:
    group = fake_api.add_group()
    await _serve(app, group, approve_join_requests=True)
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    await driver.feed(await ben.request_join(group))

    [greeting] = fake_api.sent_to(ben.id)
    assert greeting.html.startswith(
        _t(app, "de", REQUEST_APPROVED).format(name="Ben", group=group.title)
    )
    assert _calls(fake_api, "approveChatJoinRequest") == [{"chat_id": group.id, "user_id": ben.id}]
    assert group.member_status(ben) == "member"

    # Telegram then reports the join, and the group welcomes Ben.
    [joined] = [u for u in fake_api.pending_updates if "chat_member" in u]
    await driver.feed(joined)
    [welcome] = fake_api.sent_to(group.id)
    assert welcome.html == _expected_welcome(app, "de", "Ben", several=False)


async def test_an_applicant_who_cant_be_reached_is_still_approved(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    group = fake_api.add_group()
    await _serve(app, group, approve_join_requests=True)
    ben = fake_api.add_user(first_name="Ben")
    fake_api.block(ben.id)
    with caplog.at_level(logging.INFO, logger="handlers.greeting"):
        await driver.feed(await ben.request_join(group))

    assert fake_api.sent_to(ben.id) == []
    assert _calls(fake_api, "approveChatJoinRequest") == [{"chat_id": group.id, "user_id": ben.id}]
    [record] = [r for r in caplog.records if r.name == "handlers.greeting"]
    assert "could not greet" in record.getMessage()
