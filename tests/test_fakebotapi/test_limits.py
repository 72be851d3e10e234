"""The checks that run on every request, with or without the spec file."""

from __future__ import annotations

from typing import Any

from tests.fakebotapi import check_limits


def _messages(method: str, params: dict[str, Any]) -> list[str]:
    return [problem.message for problem in check_limits(method, params)]


def _keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


def test_text_of_4096_characters_is_fine_and_4097_is_too_long() -> None:
    assert _messages("sendMessage", {"chat_id": 1, "text": "x" * 4096}) == []
    [problem] = check_limits("sendMessage", {"chat_id": 1, "text": "x" * 4097})
    assert "4097 characters" in problem.message
    assert problem.reject == "Bad Request: message is too long"


def test_text_length_counts_after_entity_parsing_in_utf16() -> None:
    tagged = "<b>" + "x" * 4096 + "</b>"
    assert _messages("sendMessage", {"text": tagged, "parse_mode": "HTML"}) == []
    assert _messages("sendMessage", {"text": "👍" * 2048}) == []
    assert _messages("editMessageText", {"text": "👍" * 2049}) != []


def test_empty_text_is_refused() -> None:
    [problem] = check_limits("sendMessage", {"text": "<b> </b>", "parse_mode": "HTML"})
    assert problem.reject == "Bad Request: message text is empty"


def test_caption_limit() -> None:
    assert _messages("sendDocument", {"caption": "c" * 1024}) == []
    [problem] = check_limits("sendPhoto", {"caption": "c" * 1025})
    assert problem.reject == "Bad Request: message caption is too long"


def test_callback_data_of_65_bytes_is_flagged() -> None:
    assert (
        _messages(
            "sendMessage",
            {"text": "t", "reply_markup": _keyboard({"text": "ok", "callback_data": "x" * 64})},
        )
        == []
    )
    [problem] = check_limits(
        "sendMessage",
        {"text": "t", "reply_markup": _keyboard({"text": "ok", "callback_data": "x" * 65})},
    )
    assert "65 bytes" in problem.message
    assert problem.reject == "Bad Request: BUTTON_DATA_INVALID"
    # Bytes, not characters: 33 umlauts are 66 bytes in UTF-8.
    assert (
        _messages(
            "editMessageReplyMarkup",
            {"reply_markup": _keyboard({"text": "ok", "callback_data": "ä" * 33})},
        )
        != []
    )


def test_inline_buttons_need_text_and_an_action() -> None:
    problems = _messages(
        "sendMessage",
        {"text": "t", "reply_markup": _keyboard({"text": "", "callback_data": "a"}, {"text": "b"})},
    )
    assert any("empty text" in problem for problem in problems)
    assert any("no action" in problem for problem in problems)


def test_html_is_checked_for_text_and_caption() -> None:
    [problem] = check_limits("editMessageText", {"text": "<b>x", "parse_mode": "HTML"})
    assert problem.reject is not None
    assert problem.reject.startswith("Bad Request: can't parse entities: Can't find end tag")
    assert _messages("sendPhoto", {"caption": "a & b", "parse_mode": "html"}) != []
    # Without parse_mode the same text is plain and fine.
    assert _messages("sendMessage", {"text": "<b>x"}) == []


def test_callback_answer_text_limit() -> None:
    assert _messages("answerCallbackQuery", {"text": "a" * 200}) == []
    assert _messages("answerCallbackQuery", {"text": "a" * 201}) != []


def test_bot_commands() -> None:
    good = {"commands": [{"command": "start", "description": "Loslegen"}]}
    assert _messages("setMyCommands", good) == []
    bad = {
        "commands": [
            {"command": "Start", "description": "x"},
            {"command": "a" * 33, "description": "x"},
            {"command": "ok", "description": ""},
            {"command": "ok2", "description": "d" * 257},
        ]
    }
    problems = _messages("setMyCommands", bad)
    assert len(problems) == 4
