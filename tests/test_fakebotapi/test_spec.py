"""Validation against the machine-readable Bot API spec, and the missing-spec fallback."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramServerError

from tests.fakebotapi import (
    BotApiSpec,
    FakeBotAPI,
    SpecMissingWarning,
    default_spec_path,
    load_spec,
    reset_spec_cache,
    spec_missing_notice,
    validate_request,
)
from tests.fakebotapi.wire import coerce_params


def test_spec_is_read_from_outside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_API_SPEC", raising=False)
    path = default_spec_path()
    assert path.name == "bot-api-spec.json"
    assert Path(__file__).resolve().parents[2] not in path.resolve().parents


def test_valid_request(spec: BotApiSpec) -> None:
    params = {
        "chat_id": 42,
        "text": "hi",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    }
    assert spec.validate_request("sendMessage", params) == []
    assert validate_request("sendMessage", params) == []


def test_unknown_method(spec: BotApiSpec) -> None:
    assert spec.validate_request("sendMesage", {}) == ["unknown method 'sendMesage'"]


def test_method_names_are_case_insensitive(spec: BotApiSpec) -> None:
    assert spec.validate_request("SENDMESSAGE", {"chat_id": 1, "text": "x"}) == []


def test_missing_chat_id(spec: BotApiSpec) -> None:
    assert spec.validate_request("sendMessage", {"text": "hi"}) == [
        "missing required field 'chat_id'"
    ]


def test_unknown_field(spec: BotApiSpec) -> None:
    assert spec.validate_request("sendMessage", {"chat_id": 1, "text": "x", "txt": "y"}) == [
        "unknown field 'txt' (not a parameter of sendMessage)"
    ]


def test_wrong_type_in_nested_inline_keyboard_button(spec: BotApiSpec) -> None:
    params = {
        "chat_id": 1,
        "text": "x",
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": 5}]]},
    }
    assert spec.validate_request("sendMessage", params) == [
        "reply_markup.inline_keyboard[0][0].callback_data: expected String, got int 5"
    ]


def test_unknown_field_in_nested_object(spec: BotApiSpec) -> None:
    params = {
        "chat_id": 1,
        "text": "x",
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback": "a"}]]},
    }
    assert spec.validate_request("sendMessage", params) == [
        "reply_markup.inline_keyboard[0][0].callback: unknown field of InlineKeyboardButton"
    ]


def test_union_subtype_is_picked_by_its_type_field(spec: BotApiSpec) -> None:
    commands = [{"command": "start", "description": "Start"}]
    assert spec.validate_request(
        "setMyCommands", {"commands": commands, "scope": {"type": "chat"}}
    ) == ["scope: BotCommandScopeChat is missing required field 'chat_id'"]
    [problem] = spec.validate_request(
        "setMyCommands", {"commands": commands, "scope": {"type": "chats"}}
    )
    assert problem.startswith("scope.type: str 'chats' is not a BotCommandScope")
    assert (
        spec.validate_request(
            "setMyCommands",
            {"commands": commands, "scope": {"type": "chat_member", "chat_id": 1, "user_id": 2}},
        )
        == []
    )


def test_input_file_accepts_ids_urls_and_attachments(spec: BotApiSpec) -> None:
    for document in ("BQACAgIAAxkB", "https://example.org/a.pdf", "attach://file0"):
        assert spec.validate_request("sendDocument", {"chat_id": 1, "document": document}) == []
    [problem] = spec.validate_request("sendDocument", {"chat_id": 1, "document": 7})
    assert "expected InputFile or String" in problem


def test_form_values_are_coerced_to_the_declared_types(spec: BotApiSpec) -> None:
    raw = {
        "chat_id": "-1001234",
        "text": "123",
        "disable_notification": "true",
        "reply_markup": '{"inline_keyboard": [[{"text": "A", "callback_data": "1"}]]}',
    }
    params = coerce_params("sendMessage", raw, spec)
    assert params == {
        "chat_id": -1001234,
        "text": "123",
        "disable_notification": True,
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "1"}]]},
    }
    assert spec.validate_request("sendMessage", params) == []


def test_server_answers_conform_to_the_spec(spec: BotApiSpec) -> None:
    member = {"status": "member", "user": {"id": 1, "is_bot": False, "first_name": "A"}}
    assert spec.check_value(member, ["ChatMember"], "result") == []
    assert spec.check_value({"status": "member"}, ["ChatMember"], "result") == [
        "result: ChatMemberMember is missing required field 'user'"
    ]


@pytest.fixture
def missing_spec(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "nowhere" / "bot-api-spec.json"
    monkeypatch.setenv("BOT_API_SPEC", str(path))
    reset_spec_cache()
    yield path
    monkeypatch.delenv("BOT_API_SPEC")
    reset_spec_cache()


async def test_without_spec_only_the_spec_part_is_skipped(missing_spec: Path) -> None:
    with pytest.warns(SpecMissingWarning) as caught:
        assert load_spec() is None
    assert [str(warning.message) for warning in caught] == [spec_missing_notice(missing_spec)]
    assert "set BOT_API_SPEC or put bot-api-spec.json in ../shared/telegram" in str(
        caught[0].message
    )
    # Once per path and process, even when the cache is reset: it is about the machine.
    reset_spec_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_spec() is None
    assert validate_request("sendMesage", {}) == []
    async with FakeBotAPI() as server:
        assert server.spec is None
        anna, ben = server.add_user(), server.add_user("Ben")
        await ben.block_bot()
        session = AiohttpSession(api=TelegramAPIServer.from_base(server.api_url))
        async with Bot(
            server.token, session=session, default=DefaultBotProperties(parse_mode="HTML")
        ) as bot:
            message = await bot.send_message(anna.id, "<b>fine</b>")
            assert message.text == "fine"
            # HTML and length checks do not need the spec.
            with pytest.raises(TelegramBadRequest, match="can't parse entities"):
                await bot.send_message(anna.id, "<b>broken")
            with pytest.raises(TelegramBadRequest, match="message is too long"):
                await bot.send_message(anna.id, "<b>x</b>" * 4097)
            # Sending methods are known without the spec: a blocked chat answers 403 ...
            with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
                await bot.send_dice(ben.id)
            # ... and one the server does not implement 501, as with the spec.
            with pytest.raises(TelegramServerError, match="Not Implemented"):
                await bot.send_dice(anna.id)
        assert server.violations == [
            'sendMessage: text: Can\'t find end tag corresponding to start tag "b"',
            "sendMessage: text is 4097 characters after entity parsing (limit 4096)",
            "sendDice: not implemented by the fake Bot API server",
        ]
        assert [r.method for r in server.requests] == ["sendMessage"] * 3 + ["sendDice"] * 2
