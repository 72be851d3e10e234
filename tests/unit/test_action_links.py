"""a<date_id> start links for field action dates: made and read back; malformed ones ignored."""

from __future__ import annotations

from bot.telegram.deeplinks import Payload, action_date_payload, parse_payload


def test_action_date_links_round_trip() -> None:
    assert action_date_payload(42) == "a42"
    assert parse_payload("a42") == Payload("action_date", 42)
    # Out of range or negative ids parse as written; the handler finds nothing and says so.
    assert parse_payload("a-7") == Payload("action_date", -7)
    assert parse_payload("a99999999999999999999") == Payload("action_date", 99999999999999999999)
    for malformed in ("a", "ax", "a1a", "aa1", "a123456789012345678901"):
        assert parse_payload(malformed) is None
