"""Dispatcher tests: admins grant and revoke roles; everyone else is refused, politely."""

from __future__ import annotations

from aiogram.types import BotCommandScopeChat

from bot.app import Application
from models import Member, Role
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage


async def _roles(app: Application, member_id: int) -> set[Role]:
    async with app.session_pool() as session:
        member = await session.get(Member, member_id)
        return set(member.role_set) if member else set()


async def _known(driver: BotDriver, fake_api: FakeBotAPI, name: str, username: str) -> FakeUser:
    """Someone who wrote /start and agreed, so the bot keeps their name and @username."""
    user = fake_api.add_user(first_name=name, username=username, language_code="de")
    [_greeting, consent] = await driver.send(user, "/start")
    await driver.press(user, consent, dict(consent.buttons)["Einverstanden"])
    return user


def _button(message: SentMessage, label_end: str) -> str:
    [data] = [data for text, data in message.buttons if text.endswith(label_end)]
    return data


async def test_grant_by_username_and_revoke(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    anna = await _known(driver, fake_api, "Anna", "anna_k")
    [panel] = await driver.send(admin_user, "/rolle @Anna_K")
    assert panel.text.startswith(f"Anna (ID {anna.id}) hat diese Rolle: Mitglied.")
    assert [text for text, _ in panel.buttons] == [
        "➕ Gastgeber:in",
        "➕ Organisator:in",
        "➕ Admin",
    ]

    grant = _button(panel, "Organisator:in")
    assert await driver.press(admin_user, panel, grant) == []
    assert driver.last_answer()["text"] == "Gespeichert."
    note = fake_api.sent_to(anna.id)[-1]
    assert await _roles(app, anna.id) == {Role.ORGANISER}
    assert note.chat_id == anna.id
    assert note.text.startswith("Du hast jetzt die Rolle Organisator:in.")
    panel_now = fake_api.sent_to(admin_user.id)[-1]
    assert panel_now.message_id == panel.message_id
    assert "hat diese Rolle: Organisator:in." in panel_now.text
    assert "✅ Organisator:in" in [text for text, _ in panel_now.buttons]
    scope = BotCommandScopeChat(chat_id=anna.id).model_dump_json(exclude_none=True)
    assert (scope, "") in fake_api.commands

    # The same (now stale) button again changes nothing.
    await driver.press(admin_user, panel, grant)
    assert driver.last_answer()["text"] == "Da gibt es nichts zu ändern."

    await driver.press(admin_user, panel_now, _button(panel_now, "Organisator:in"))
    assert await _roles(app, anna.id) == set()
    note = fake_api.sent_to(anna.id)[-1]
    assert note.text.startswith("Deine Rolle Organisator:in wurde zurückgenommen.")


async def test_grant_by_id_and_by_reply_to_a_forward(
    driver: BotDriver, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    anna = await _known(driver, fake_api, "Anna", "anna_k")
    [panel] = await driver.send(admin_user, f"/role {anna.id}")
    assert panel.text.startswith("Anna (ID")
    forward = await admin_user.send_message("Kommst du Donnerstag?", forward_from=anna)
    await driver.feed(forward)
    [panel] = await driver.send(admin_user, "/rolle", reply_to=forward["message"])
    assert panel.text.startswith("Anna (ID")


async def test_two_step_conversation(
    driver: BotDriver, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    anna = await _known(driver, fake_api, "Anna", "anna_k")
    [question] = await driver.send(admin_user, "/rolle")
    assert question.text.startswith("Wessen Rollen möchtest du ändern?")
    [retry] = await driver.send(admin_user, "@nobody_here")
    assert retry.text.startswith("@nobody_here kenne ich nicht.")
    assert retry.text.endswith("Versuche es noch einmal oder tippe /abbrechen.")
    [too_long] = await driver.send(admin_user, "x" * 300)
    assert too_long.text.startswith("Das ist zu lang")
    forward = await admin_user.send_message("Hi", forward_from=anna)
    [panel] = await driver.deliver(admin_user, forward)
    assert panel.text.startswith("Anna (ID")
    # The conversation is over: the next text is stray again.
    [stray] = await driver.send(admin_user, "@anna_k")
    assert stray.text.startswith("Ich verstehe Befehle und Knöpfe.")


async def test_hidden_forward_and_unknown_person(
    driver: BotDriver, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    hidden = await admin_user.send_message("Hi", forward_hidden_name="Geheim")
    await driver.feed(hidden)
    [reply] = await driver.send(admin_user, "/rolle", reply_to=hidden["message"])
    assert reply.text.startswith("Diese Person verbirgt ihr Konto")
    stranger = fake_api.add_user(first_name="Stranger", language_code="de")
    forward = await admin_user.send_message("Hi", forward_from=stranger)
    await driver.feed(forward)
    [reply] = await driver.send(admin_user, "/rolle", reply_to=forward["message"])
    assert reply.text.startswith("Diese Person kenne ich noch nicht.")
    [reply] = await driver.send(admin_user, "/rolle <b>@x</b>")
    assert reply.text.startswith("<b>@x</b> kenne ich nicht.")


async def test_members_cannot_use_role_commands_or_forged_buttons(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    mallory = await _known(driver, fake_api, "Mallory", "mallory")
    await driver.send(admin_user, "/start")
    for command in ("/rolle @mallory", "/rollen", f"/role {admin_user.id}"):
        [reply] = await driver.send(mallory, command)
        assert reply.text == "Das dürfen leider nur Admins."
    [menu] = await driver.send(mallory, "/sprache")
    assert await driver.press(mallory, menu, f"role1:{mallory.id}:admin:1") == []
    assert driver.last_answer()["text"] == "Das dürfen leider nur Admins."
    assert await _roles(app, mallory.id) == set()


async def test_admin_edge_cases(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    await driver.send(admin_user, "/start")
    [panel] = await driver.send(admin_user, f"/rolle {admin_user.id}")
    assert "✅ Admin" in [text for text, _ in panel.buttons]
    await driver.press(admin_user, panel, _button(panel, "Admin"))
    assert (
        driver.last_answer()["text"]
        == "Wer in ADMIN_IDS steht, bleibt Admin; das lässt sich nur dort ändern."
    )
    # A button for someone the bot never met, or a role that can't be granted.
    await driver.press(admin_user, panel, "role1:999999:host:1")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    await driver.press(admin_user, panel, f"role1:{admin_user.id}:member:1")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    await driver.press(admin_user, panel, f"role1:{admin_user.id}:superuser:1")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    assert await _roles(app, admin_user.id) == set()


async def test_granted_admin_can_grant_but_not_drop_own_admin(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    bea = await _known(driver, fake_api, "Bea", "bea")
    carl = await _known(driver, fake_api, "Carl", "carl")
    [panel] = await driver.send(admin_user, "/rolle @bea")
    await driver.press(admin_user, panel, _button(panel, "Admin"))
    assert await _roles(app, bea.id) == {Role.ADMIN}
    [panel] = await driver.send(bea, "/rolle @carl")
    await driver.press(bea, panel, _button(panel, "Gastgeber:in"))
    assert await _roles(app, carl.id) == {Role.HOST}
    [own] = await driver.send(bea, "/rolle @bea")
    await driver.press(bea, own, _button(own, "Admin"))
    assert driver.last_answer()["text"] == "Du kannst dir die Admin-Rolle nicht selbst entziehen."
    assert await _roles(app, bea.id) == {Role.ADMIN}


async def test_role_list(driver: BotDriver, fake_api: FakeBotAPI, admin_user: FakeUser) -> None:
    [reply] = await driver.send(admin_user, "/rollen")
    assert reply.text == f"Rollen in diesem KV:\n\n• Ada (ID {admin_user.id}): Admin (ADMIN_IDS)"
    anna = await _known(driver, fake_api, "<i>Anna</i>", "anna_k")
    [panel] = await driver.send(admin_user, "/rolle @anna_k")
    await driver.press(admin_user, panel, _button(panel, "Gastgeber:in"))
    [reply] = await driver.send(admin_user, "/roles")
    lines = reply.text.splitlines()
    assert lines[0] == "Rollen in diesem KV:"
    assert f"• <i>Anna</i> (ID {anna.id}): Gastgeber:in" in lines
    assert f"• Ada (ID {admin_user.id}): Admin (ADMIN_IDS)" in lines
    assert "&lt;i&gt;Anna&lt;/i&gt;" in reply.html


async def test_a_member_pressing_a_real_role_button_is_refused_and_nothing_changes(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    mallory = await _known(driver, fake_api, "Mallory", "mallory")
    [panel] = await driver.send(admin_user, "/rolle @mallory")
    make_admin = _button(panel, "Admin")
    # Mallory got hold of the button's data (it is no secret) and presses it herself.
    [reply] = await driver.send(mallory, "/rolle @mallory")
    assert reply.text == "Das dürfen leider nur Admins."
    before = len(fake_api.sent_to(mallory.id))
    assert await driver.press(mallory, reply, make_admin) == []
    answer = driver.last_answer()
    assert answer["text"] == "Das dürfen leider nur Admins."
    assert answer["show_alert"] is True  # a real refusal, not a harmless double tap
    assert await _roles(app, mallory.id) == set()
    assert len(fake_api.sent_to(mallory.id)) == before
    assert panel.edits == 0  # the admin's panel is untouched


async def test_an_admin_demoted_mid_conversation_is_refused_at_the_next_step(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    bea = await _known(driver, fake_api, "Bea", "bea")
    carl = await _known(driver, fake_api, "Carl", "carl")
    [panel] = await driver.send(admin_user, "/rolle @bea")
    await driver.press(admin_user, panel, _button(panel, "Admin"))
    [bea_panel] = await driver.send(bea, "/rolle @carl")
    [question] = await driver.send(bea, "/rolle")
    assert question.text.startswith("Wessen Rollen möchtest du ändern?")
    await driver.press(admin_user, panel, _button(panel, "Admin"))  # taken back meanwhile
    assert await _roles(app, bea.id) == set()

    [reply] = await driver.send(bea, "@carl")
    assert reply.text == "Das dürfen leider nur Admins."
    # The step is over: the next text is stray, not a name.
    [stray] = await driver.send(bea, "@carl")
    assert stray.text.startswith("Ich verstehe Befehle und Knöpfe.")
    await driver.press(bea, bea_panel, _button(bea_panel, "Gastgeber:in"))
    assert driver.last_answer()["text"] == "Das dürfen leider nur Admins."
    assert await _roles(app, carl.id) == set()
