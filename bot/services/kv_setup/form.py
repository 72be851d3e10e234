"""The form the export writes each part of the setup in: which keys, in which order and style.

Shared by the plain export (export.py) and the export into the file last imported (roundtrip.py),
so an entry the latter has to write looks like one the former would.
"""

from __future__ import annotations

from datetime import date, time

from bot.services.kv_setup.schema import (
    ActionSetup,
    CampaignSetup,
    ChatSetup,
    Entry,
    GroupSetup,
    GuideEntry,
    Host,
    MemorialSetup,
    ShiftSetup,
    derive_key,
)


class FlowMap(dict[str, object]):
    """Written on one line: {key: nord, name: Nord-Ost}."""


class FlowList(list[object]):
    """Written on one line: [umwelt, bildung]."""


def entry_out(entry: Entry) -> object:
    """A bare name when the key derives from it and there is nothing more, else {key, name}
    on one line, with a district's neighbours and an activity type's action."""
    if derive_key(entry.name) == entry.key and not entry.neighbours and entry.action is None:
        return entry.name
    out = FlowMap(key=entry.key, name=entry.name)
    if entry.neighbours:
        out["neighbours"] = FlowList(entry.neighbours)
    if entry.action is not None:
        out["action"] = entry.action.value
    return out


def day_out(day: date) -> str:
    """A date as German organisers write it: 12.12.2026."""
    return day.strftime("%d.%m.%Y")


def clock_out(moment: time) -> str:
    """A wall-clock time: 09:30."""
    return moment.strftime("%H:%M")


def host_out(host: Host) -> object:
    """@username, or the numeric id."""
    return f"@{host.username}" if host.username else host.telegram_id


def campaign_out(campaign: CampaignSetup) -> dict[str, object]:
    """A campaign: key, name and the period's ends that are set."""
    out: dict[str, object] = {"key": campaign.key, "name": campaign.name}
    if campaign.starts_on:
        out["from"] = day_out(campaign.starts_on)
    if campaign.ends_on:
        out["until"] = day_out(campaign.ends_on)
    return out


def shift_out(shift: ShiftSetup) -> FlowMap:
    """A shift on one line: {label: Aufbau, time: 09:30-10:00, people: 2}."""
    out = FlowMap()
    if shift.label:
        out["label"] = shift.label
    out["time"] = f"{clock_out(shift.start)}-{clock_out(shift.end)}"
    out["people"] = shift.people
    return out


def action_out(action: ActionSetup) -> dict[str, object]:
    """A field action's keys in file order; empty optional fields left out."""
    out: dict[str, object] = {
        "key": action.key,
        "kind": action.kind.value,
        "title": action.title,
    }
    if action.campaign:
        out["campaign"] = action.campaign
    if action.district:
        out["district"] = action.district
    out["place"] = action.place
    if action.on_day:
        out["date"] = day_out(action.on_day)
    if action.repeats:
        out["repeats"] = action.repeats
    if action.starts_on:
        out["from"] = day_out(action.starts_on)
    if action.ends_on:
        out["until"] = day_out(action.ends_on)
    out["shifts"] = [shift_out(shift) for shift in action.shifts]
    if action.material:
        out["material"] = action.material
    if action.contact:
        out["contact"] = host_out(action.contact)
    return out


def memorial_out(memorial: MemorialSetup) -> dict[str, object]:
    """A Gedenktag's keys in file order; the event as a mapping of its own."""
    out: dict[str, object] = {"key": memorial.key, "name": memorial.name, "rule": memorial.rule}
    if memorial.about:
        out["about"] = memorial.about
    if memorial.event:
        event: dict[str, object] = {
            "time": clock_out(memorial.event.time),
            "place": memorial.event.place,
        }
        if memorial.event.note:
            event["note"] = memorial.event.note
        out["event"] = event
    return out


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
        out["hosts"] = FlowList(host_out(host) for host in group.hosts)
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
