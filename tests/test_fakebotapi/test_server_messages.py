"""The real aiogram Bot against the fake server: messages, edits, commands, files, chats."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonDefault,
    MenuButtonWebApp,
    MessageId,
    WebAppInfo,
)

from tests.fakebotapi import BotApiSpec, FakeBotAPI


def _keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs
        ]
    )


async def test_get_me(bot: Bot, server: FakeBotAPI) -> None:
    me = await bot.get_me()
    assert me.id == server.bot_id == 123456789
    assert me.username == "mitmachbot_test_bot"
    assert me.is_bot


async def test_send_message_with_inline_keyboard(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user(first_name="Anna", username="anna")
    message = await bot.send_message(
        anna.id,
        "<b>Willkommen</b> &amp; los geht's",
        reply_markup=_keyboard(("Mitmachen", "join"), ("Später", "later")),
    )
    assert message.text == "Willkommen & los geht's"
    assert message.entities is not None
    assert message.entities[0].type == "bold"
    assert message.chat.id == anna.id
    assert message.from_user is not None
    assert message.from_user.id == server.bot_id

    sent = await server.wait_for_message(anna.id)
    assert sent.message_id == message.message_id
    assert sent.method == "sendMessage"
    assert sent.html == "<b>Willkommen</b> &amp; los geht's"
    assert sent.parse_mode == "HTML"
    assert sent.buttons == [("Mitmachen", "join"), ("Später", "later")]
    assert sent.as_message()["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "join"
    request = await server.wait_for_request("sendMessage")
    assert request.params["chat_id"] == anna.id
    assert request.status == 200


async def test_edit_message_text(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    keyboard = _keyboard(("A", "a"))
    message = await bot.send_message(anna.id, "eins", reply_markup=keyboard)
    edited = await bot.edit_message_text(
        text="<i>zwei</i>", chat_id=anna.id, message_id=message.message_id, reply_markup=keyboard
    )
    assert not isinstance(edited, bool)
    assert edited.text == "zwei"
    [sent] = server.sent_to(anna.id)
    assert (sent.text, sent.html, sent.edits) == ("zwei", "<i>zwei</i>", 1)
    assert sent.as_message()["edit_date"] > 0

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="<i>zwei</i>",
            chat_id=anna.id,
            message_id=message.message_id,
            reply_markup=keyboard,
        )
    # Like Telegram: editing the text without reply_markup drops the inline keyboard.
    await bot.edit_message_text(text="drei", chat_id=anna.id, message_id=message.message_id)
    assert sent.buttons == []
    assert "reply_markup" not in sent.as_message()

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=anna.id, message_id=999)


async def test_edit_reply_markup_and_delete(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    message = await bot.send_message(anna.id, "Frage", reply_markup=_keyboard(("Ja", "yes")))
    await bot.edit_message_reply_markup(
        chat_id=anna.id, message_id=message.message_id, reply_markup=_keyboard(("Nein", "no"))
    )
    assert server.sent_to(anna.id)[0].buttons == [("Nein", "no")]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=anna.id, message_id=message.message_id, reply_markup=_keyboard(("Nein", "no"))
        )
    assert await bot.delete_message(anna.id, message.message_id)
    assert server.sent_to(anna.id)[0].deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(anna.id, message.message_id)


async def test_set_my_commands_with_scopes_and_languages(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    german = [BotCommand(command="start", description="Loslegen")]
    english = [BotCommand(command="start", description="Get started")]
    personal = [BotCommand(command="rolle", description="Rollen verwalten")]
    await bot.set_my_commands(german, language_code="de")
    await bot.set_my_commands(english, scope=BotCommandScopeAllPrivateChats(), language_code="en")
    await bot.set_my_commands(personal, scope=BotCommandScopeChat(chat_id=anna.id))

    chat_scope = BotCommandScopeChat(chat_id=anna.id).model_dump_json(exclude_none=True)
    assert server.commands == {
        ('{"type":"default"}', "de"): [{"command": "start", "description": "Loslegen"}],
        ('{"type":"all_private_chats"}', "en"): [
            {"command": "start", "description": "Get started"}
        ],
        (chat_scope, ""): [{"command": "rolle", "description": "Rollen verwalten"}],
    }
    listed = await bot.get_my_commands(language_code="de")
    assert [(c.command, c.description) for c in listed] == [("start", "Loslegen")]
    assert await bot.get_my_commands() == []
    assert await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=anna.id))
    assert (chat_scope, "") not in server.commands


async def test_answer_callback_query(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    await bot.send_message(anna.id, "Dabei?", reply_markup=_keyboard(("Ja", "yes")))
    sent = await server.wait_for_message(anna.id)
    update = await anna.press(sent, "yes")
    query = update["callback_query"]
    assert query["data"] == "yes"
    assert query["from"]["id"] == anna.id
    assert query["message"]["message_id"] == sent.message_id
    assert query["chat_instance"]

    assert await bot.answer_callback_query(query["id"], text="Gespeichert.")
    assert server.callback_answers == [{"callback_query_id": query["id"], "text": "Gespeichert."}]
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query["id"])
    with pytest.raises(AssertionError, match="no button with callback_data"):
        await anna.press(sent, "forged", must_exist=True)


async def test_send_document_copy_and_download(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    ben = server.add_user(first_name="Ben")
    content = b"name;rolle\nAnna;Mitglied\n"
    message = await bot.send_document(
        anna.id, BufferedInputFile(content, filename="mitglieder.csv"), caption="<b>Export</b>"
    )
    assert message.document is not None
    assert message.document.file_name == "mitglieder.csv"
    assert message.caption == "Export"
    [sent] = server.sent_to(anna.id)
    assert (sent.document, sent.caption, sent.html) == (content, "Export", "<b>Export</b>")
    request = await server.wait_for_request("sendDocument")
    assert request.params["document"].startswith("attach://")
    assert list(request.files.values()) == [content]

    copied = await bot.copy_message(ben.id, anna.id, message.message_id)
    assert isinstance(copied, MessageId)
    copy = await server.wait_for_message(ben.id)
    assert (copy.method, copy.document, copy.caption) == ("copyMessage", content, "Export")
    assert copy.message_id == copied.message_id

    downloaded = await bot.download(message.document.file_id)
    assert downloaded is not None
    assert downloaded.read() == content


async def test_send_photo_and_forward(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    photo = await bot.send_photo(anna.id, BufferedInputFile(b"\x89PNG", filename="a.png"))
    assert photo.photo is not None
    again = await bot.send_photo(anna.id, photo.photo[-1].file_id)
    assert server.sent_to(anna.id)[1].photo == photo.photo[-1].file_id
    forwarded = await bot.forward_message(anna.id, anna.id, again.message_id)
    assert forwarded.forward_origin is not None
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(anna.id, "no-such-file-id")


async def test_user_messages(server: FakeBotAPI) -> None:
    anna = server.add_user(first_name="Anna", username="anna")
    ben = server.add_user(first_name="Ben")
    group = server.add_group("KV Mitte")
    start = await anna.send_message("/start@mitmachbot_test_bot hallo")
    message = start["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 26}]
    assert message["chat"] == {
        "id": anna.id,
        "type": "private",
        "first_name": "Anna",
        "username": "anna",
    }
    assert start["update_id"] == 1

    forward = await anna.send_message("Hallo", forward_from=ben)
    assert forward["message"]["forward_origin"]["sender_user"]["id"] == ben.id
    hidden = await anna.send_message("Hallo", forward_hidden_name="Geheim")
    assert hidden["message"]["forward_origin"]["type"] == "hidden_user"
    reply = await anna.send_message("Antwort", reply_to=message)
    assert reply["message"]["reply_to_message"]["message_id"] == message["message_id"]

    in_group = await ben.send_message("Moin", chat=group)
    assert in_group["message"]["chat"] == {
        "id": group.id,
        "type": "supergroup",
        "title": "KV Mitte",
    }
    assert group.id < -1000000000000
    assert [u["update_id"] for u in server.pending_updates] == [1, 2, 3, 4, 5]


async def test_chats_members_and_join_requests(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    group = server.add_group()
    member = await bot.get_chat_member(group.id, anna.id)
    assert member.status == "member"
    assert (await bot.get_chat_member(group.id, 555)).status == "left"
    assert (await bot.get_chat_member(group.id, server.bot_id)).status == "administrator"
    chat = await bot.get_chat(group.id)
    assert chat.title == "KV Mitte"

    newcomer = server.add_user(first_name="Neu", started=False)
    request = await newcomer.request_join(group, bio="Hallo!")
    assert request["chat_join_request"]["user_chat_id"] == newcomer.id
    assert group.member_status(newcomer) == "left"
    # The bot may write to someone with a pending join request.
    await bot.send_message(newcomer.id, "Willkommen!")
    assert await bot.approve_chat_join_request(group.id, newcomer.id)
    assert group.member_status(newcomer) == "member"
    assert server.pending_updates[-1]["chat_member"]["new_chat_member"]["status"] == "member"
    with pytest.raises(TelegramBadRequest, match="HIDE_REQUESTER_MISSING"):
        await bot.decline_chat_join_request(group.id, newcomer.id)

    # Without only_if_banned, unban removes a member, as on Telegram.
    assert await bot.unban_chat_member(group.id, anna.id, only_if_banned=True)
    assert group.member_status(anna) == "member"
    assert await bot.unban_chat_member(group.id, anna.id)
    assert group.member_status(anna) == "left"
    assert await bot.ban_chat_member(group.id, newcomer.id)
    assert (await bot.get_chat_member(group.id, newcomer.id)).status == "kicked"

    link = await bot.create_chat_invite_link(group.id, name="Neue", creates_join_request=True)
    assert link.invite_link.startswith("https://t.me/+")
    assert link.creates_join_request
    assert await bot.send_chat_action(group.id, "typing")


async def test_profile_texts(bot: Bot, server: FakeBotAPI) -> None:
    await bot.set_my_description("Ich helfe beim Mitmachen.", language_code="de")
    await bot.set_my_short_description("Mitmachen leicht gemacht")
    assert (await bot.get_my_description(language_code="de")).description.startswith("Ich")
    assert (await bot.get_my_short_description()).short_description == "Mitmachen leicht gemacht"
    assert (await bot.get_my_name()).name == "Mitmachbot"
    assert await bot.close()
    assert await bot.log_out()


async def test_results_conform_to_the_spec(bot: Bot, server: FakeBotAPI, spec: BotApiSpec) -> None:
    anna = server.add_user()
    group = server.add_group()
    await bot.send_message(anna.id, "<b>x</b>", reply_markup=_keyboard(("A", "a")))
    await bot.send_document(anna.id, BufferedInputFile(b"x", filename="x.txt"))
    await bot.get_me()
    await bot.get_chat(group.id)
    await bot.get_chat_member(group.id, server.bot_id)
    await bot.get_chat_member(group.id, anna.id)
    await bot.get_webhook_info()
    await bot.create_chat_invite_link(group.id)
    await anna.block_bot()
    for request in server.requests:
        assert request.response is not None
        returns = spec.returns(request.method)
        problems = spec.check_value(
            request.response["result"], returns, "result", allow_unknown_fields=True
        )
        assert problems == [], request.method
    for update in server.pending_updates:
        assert spec.check_value(update, ["Update"], "update") == []


async def test_json_query_and_curl_style_requests(server: FakeBotAPI) -> None:
    anna = server.add_user()
    base = f"{server.api_url}/bot{server.token}"
    async with aiohttp.ClientSession() as client:
        body = {
            "chat_id": anna.id,
            "text": "per JSON",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        }
        async with client.post(f"{base}/sendMessage", json=body) as response:
            assert response.status == 200
            assert (await response.json())["result"]["text"] == "per JSON"
        async with client.get(
            f"{base}/sendMessage", params={"chat_id": str(anna.id), "text": "per query"}
        ) as response:
            assert response.status == 200
        form = aiohttp.FormData()
        form.add_field("chat_id", str(anna.id))
        form.add_field(
            "reply_markup", json.dumps({"inline_keyboard": [[{"text": "B", "callback_data": "b"}]]})
        )
        form.add_field("document", b"raw bytes", filename="raw.bin")
        async with client.post(f"{base}/sendDocument", data=form) as response:
            assert response.status == 200
    texts = [(m.method, m.text, m.document, m.buttons) for m in server.sent_to(anna.id)]
    assert texts == [
        ("sendMessage", "per JSON", None, [("A", "a")]),
        ("sendMessage", "per query", None, []),
        ("sendDocument", None, b"raw bytes", [("B", "b")]),
    ]


async def test_chat_menu_buttons_are_kept_per_chat(bot: Bot, server: FakeBotAPI) -> None:
    anna = server.add_user()
    app = MenuButtonWebApp(text="Übersicht", web_app=WebAppInfo(url="https://bot.example.org/app/"))
    assert isinstance(await bot.get_chat_menu_button(chat_id=anna.id), MenuButtonDefault)
    await bot.set_chat_menu_button(chat_id=anna.id, menu_button=app)
    shown = await bot.get_chat_menu_button(chat_id=anna.id)
    assert isinstance(shown, MenuButtonWebApp)
    assert shown.web_app.url == "https://bot.example.org/app/"
    await bot.set_chat_menu_button(chat_id=anna.id, menu_button=MenuButtonDefault())
    assert isinstance(await bot.get_chat_menu_button(chat_id=anna.id), MenuButtonDefault)
    assert server.violations == []
