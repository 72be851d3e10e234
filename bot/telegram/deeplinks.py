"""Payloads of t.me/<bot>?start=... links: where a member came from.

Telegram allows 1-64 characters of A-Z, a-z, 0-9, _ and - in a start payload, so each kind is a
one-letter prefix and a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PayloadKind = Literal["group_chat", "meeting", "invite", "group", "action_date"]

# "j" (join us) for a group of the KV: "g" already names a served Telegram chat.
_PREFIXES: dict[str, PayloadKind] = {
    "g": "group_chat",
    "m": "meeting",
    "i": "invite",
    "j": "group",
    "a": "action_date",
}
_PATTERN = re.compile(r"^([gmija])(-?\d{1,20})$")


@dataclass(frozen=True, slots=True)
class Payload:
    """A parsed start payload: a served Telegram group, a meeting, an inviting member, a
    group of the KV, or a field action's date. `id` is as written: it may name nothing, or be
    out of any id's range."""

    kind: PayloadKind
    id: int


def group_chat_payload(chat_id: int) -> str:
    """For the welcome button in a served group."""
    return f"g{chat_id}"


def group_payload(group_id: int) -> str:
    """For sharing a group: the link opens its card with a button to join."""
    return f"j{group_id}"


def meeting_payload(meeting_id: int) -> str:
    """For sharing a meeting: the link opens its card with the answer buttons."""
    return f"m{meeting_id}"


def action_date_payload(date_id: int) -> str:
    """For sharing a field action's date: the link opens its card with the shifts."""
    return f"a{date_id}"


def parse_payload(text: str | None) -> Payload | None:
    """The payload of /start, or None for none or anything malformed (treated as plain /start)."""
    if not text:
        return None
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        return None
    return Payload(_PREFIXES[match.group(1)], int(match.group(2)))


def start_link(bot_username: str, payload: str) -> str:
    """The t.me link that opens the private chat and sends /start with the payload."""
    return f"https://t.me/{bot_username}?start={payload}"
