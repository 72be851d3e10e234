"""Ids from outside: ASCII digits within the column's range, or nothing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.telegram.callbacks import GroupAction, GroupCallback, ResultCallback, RoleCallback
from bot.telegram.deeplinks import invite_payload, parse_payload
from bot.telegram.ids import INT32_MAX, INT64_MAX, parse_id, parse_int, parse_telegram_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (" 42 ", 42),
        (str(INT32_MAX), INT32_MAX),
        (str(INT32_MAX + 1), None),
        ("99999999999999999999", None),
        ("-1", None),
        ("²", None),
        ("٣", None),
        ("4²", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("+5", None),
        ("5_0", None),
        ("5.0", None),
        ("0x5", None),
        ("1e3", None),
    ],
)
def test_parse_id(text: str | None, expected: int | None) -> None:
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    ("text", "signed", "expected"),
    [
        (str(INT64_MAX), False, INT64_MAX),
        ("9223372036854775808", False, None),
        ("-100123", False, None),
        ("-100123", True, -100123),
        ("-9223372036854775808", True, -(2**63)),
        ("-9223372036854775809", True, None),
        ("²", True, None),
    ],
)
def test_parse_telegram_id(text: str, signed: bool, expected: int | None) -> None:
    assert parse_telegram_id(text, signed=signed) == expected


def test_parse_int_bounds() -> None:
    assert parse_int("5", minimum=1, maximum=5) == 5
    assert parse_int("6", minimum=1, maximum=5) is None
    assert parse_int("0", minimum=1, maximum=5) is None
    assert parse_int("-3", minimum=-5, maximum=5) == -3


@pytest.mark.parametrize(
    "data",
    [
        "gr1:details:9223372036854775808:0",
        "gr1:details:2147483648:0",  # past an Integer column: asyncpg refuses it
        "gr1:details:-1:0",
        "gr1:details:²:0",
        "gr1:details:٣:0",
    ],
)
def test_callback_ids_out_of_range_do_not_unpack(data: str) -> None:
    # aiogram's CallbackData filter treats the ValueError as "no match": the fallback answers.
    with pytest.raises(ValidationError):
        GroupCallback.unpack(data)


def test_callback_ids_in_range_unpack() -> None:
    assert GroupCallback.unpack(f"gr1:details:{INT32_MAX}:0").group_id == INT32_MAX
    assert GroupCallback(action=GroupAction.JOIN, group_id=7).pack() == "gr1:join:7:0"
    # Telegram user ids need 64 bits; a result step may be negative.
    assert RoleCallback.unpack(f"role1:{INT64_MAX}:host:1").member_id == INT64_MAX
    with pytest.raises(ValidationError):
        RoleCallback.unpack(f"role1:{INT64_MAX + 1}:host:1")
    assert ResultCallback.unpack("ar1:add:3:0:-2:0:0").value == -2


@pytest.mark.parametrize(
    ("text", "kind", "number"),
    [
        ("j7", "group", 7),
        ("m7", "meeting", 7),
        ("a7", "action_date", 7),
        ("g-100123", "group_chat", -100123),
        (f"j{INT32_MAX}", "group", INT32_MAX),
    ],
)
def test_payloads_in_range(text: str, kind: str, number: int) -> None:
    payload = parse_payload(text)
    assert payload is not None
    assert (payload.kind, payload.id) == (kind, number)


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        f"j{INT32_MAX + 1}",
        "m99999999999999999999",
        "a-1",
        "j٣",
        "g-99999999999999999999",
        # Old invitations by Telegram id: a plain /start now.
        "i12345",
        "i-5",
        "x5",
    ],
)
def test_payloads_out_of_range_or_unknown_are_plain_start(text: str | None) -> None:
    assert parse_payload(text) is None


def test_invite_payload_carries_the_token() -> None:
    token = "AbCdEfGhIjKlMnOp_-0123"
    payload = parse_payload(invite_payload(token))
    assert payload is not None
    assert (payload.kind, payload.token) == ("invite", token)
    # A long run of digits is looked up as a token, and names nobody (tests/handlers).
    digits = parse_payload("i99999999999999999999")
    assert digits is not None
    assert digits.token == "99999999999999999999"
