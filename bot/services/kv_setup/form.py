"""The form the export writes each part of the setup in: which keys, in which order and style.

Shared by the plain export (export.py) and the export into the file last imported (roundtrip.py),
so an entry the latter has to write looks like one the former would.
"""

from __future__ import annotations

from bot.services.kv_setup.schema import ChatSetup, Entry, GroupSetup, GuideEntry, derive_key


class FlowMap(dict[str, object]):
    """Written on one line: {key: nord, name: Nord-Ost}."""


class FlowList(list[object]):
    """Written on one line: [umwelt, bildung]."""


def entry_out(entry: Entry) -> object:
    """A bare name when the key derives from it, else {key, name} on one line."""
    if derive_key(entry.name) == entry.key:
        return entry.name
    return FlowMap(key=entry.key, name=entry.name)


def group_out(group: GroupSetup) -> dict[str, object]:
    """A group's keys in file order; empty optional fields left out, flags always written."""
    out: dict[str, object] = {"key": group.key, "name": group.name, "type": group.type.value}
    if group.district:
        out["district"] = group.district
    if group.topics:
        out["topics"] = FlowList(group.topics)
    if group.meets:
        out["meets"] = group.meets
    if group.place:
        out["place"] = group.place
    if group.hosts:
        out["hosts"] = FlowList(
            f"@{host.username}" if host.username else host.telegram_id for host in group.hosts
        )
    out["newcomer_friendly"] = group.newcomer_friendly
    out["open_to_non_members"] = group.open_to_non_members
    if group.description:
        out["description"] = group.description
    return out


def chat_out(chat: ChatSetup) -> dict[str, object]:
    """A served chat's keys in file order; empty optional fields left out."""
    out: dict[str, object] = {"chat_id": chat.chat_id, "title": chat.title}
    if chat.group:
        out["group"] = chat.group
    if chat.link:
        out["link"] = chat.link
    out["language"] = chat.language
    out["welcome"] = chat.welcome
    if chat.welcome_text:
        out["welcome_text"] = chat.welcome_text
    out["approve_join_requests"] = chat.approve_join_requests
    return out


def guide_out(entry: GuideEntry) -> dict[str, object]:
    """A guide section: title and text."""
    return {"title": entry.title, "text": entry.text}
