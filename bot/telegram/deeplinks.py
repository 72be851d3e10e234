"""Payloads of t.me/<bot>?start=... links: where a member came from.

Telegram allows 1-64 characters of A-Z, a-z, 0-9, _ and - in a start payload, so each kind is a
one-letter prefix and a number, or for an invitation a random token: a link names the public
thing it opens (a served chat, a meeting, a group, an action's date) but never a member.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.telegram.ids import parse_id, parse_telegram_id

PayloadKind = Literal["group_chat", "meeting", "invite", "group", "action_date"]

# "j" (join us) for a group of the KV: "g" already names a served Telegram chat.
_PREFIXES: dict[str, PayloadKind] = {
    "g": "group_chat",
    "m": "meeting",
    "j": "group",
    "a": "action_date",
}
_PATTERN = re.compile(r"([gmja])(-?[0-9]{1,20})")
# An invitation: "i" and the inviter's random token (bot.services.invitations).
_INVITE = re.compile(r"i([A-Za-z0-9_-]{16,63})")


@dataclass(frozen=True, slots=True)
class Payload:
    """A parsed start payload: a served Telegram group, a meeting, a group of the KV or a field
    action's date by `id` (in range, but it may name nothing), or an invitation by `token`."""

    kind: PayloadKind
    id: int = 0
    token: str = ""


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


def invite_payload(token: str) -> str:
    """For a member's invitation link: their token, never their id."""
    return f"i{token}"


def parse_payload(text: str | None) -> Payload | None:
    """The payload of /start, or None for none, anything malformed or an id out of range
    (treated as plain /start). An old invitation by Telegram id ("i12345") is one of those."""
    if not text:
        return None
    text = text.strip()
    invite = _INVITE.fullmatch(text)
    if invite is not None:
        return Payload("invite", token=invite.group(1))
    match = _PATTERN.fullmatch(text)
    if match is None:
        return None
    kind = _PREFIXES[match.group(1)]
    # Served chats are Telegram chats (negative ids); the rest are rows of the KV's tables.
    number = (
        parse_telegram_id(match.group(2), signed=True)
        if kind == "group_chat"
        else parse_id(match.group(2))
    )
    return Payload(kind, number) if number is not None else None


def start_link(bot_username: str, payload: str) -> str:
    """The t.me link that opens the private chat and sends /start with the payload."""
    return f"https://t.me/{bot_username}?start={payload}"
