"""a<date_id> start links for field action dates: made and read back; malformed ones ignored."""

from __future__ import annotations

from bot.telegram.deeplinks import Payload, action_date_payload, parse_payload


def test_action_date_links_round_trip() -> None:
    assert action_date_payload(42) == "a42"
    assert parse_payload("a42") == Payload("action_date", 42)
    # Ids no row can have (negative, past 2^31) are no link: a plain /start.
    assert parse_payload("a-7") is None
    assert parse_payload("a99999999999999999999") is None
    for malformed in ("a", "ax", "a1a", "aa1", "a123456789012345678901"):
        assert parse_payload(malformed) is None
