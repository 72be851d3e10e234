"""Exporting the setup: read it back from the database and write it in the import format."""

from __future__ import annotations

import re

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.kv_setup.schema import (
    PROFILE_ID,
    ChatSetup,
    Entry,
    EntryModel,
    GroupSetup,
    GuideEntry,
    Host,
    KvSetup,
    NothingToExportError,
    derive_key,
)
from bot.services.translation import gettext as _
from models import ActivityType, District, Group, GuideSection, KvProfile, ServedChat, Topic


async def read_setup(session: AsyncSession) -> KvSetup:
    """The stored setup as a KvSetup (active groups only); NothingToExportError before the
    first import."""
    profile = await session.get(KvProfile, PROFILE_ID)
    if profile is None:
        raise NothingToExportError(_("no KV setup has been imported yet"))

    async def entries(model: EntryModel) -> tuple[Entry, ...]:
        rows = (await session.scalars(select(model).order_by(model.position, model.id))).all()
        return tuple(Entry(row.key, row.name) for row in rows)

    groups = (
        await session.scalars(
            select(Group).where(Group.active.is_(True)).order_by(Group.position, Group.id)
        )
    ).all()
    active = {group.id for group in groups}
    sections = (
        await session.scalars(select(GuideSection).order_by(GuideSection.position, GuideSection.id))
    ).all()
    chats = (await session.scalars(select(ServedChat).order_by(ServedChat.chat_id))).all()
    return KvSetup(
        name=profile.name,
        privacy_contact=profile.privacy_contact,
        districts=await entries(District),
        topics=await entries(Topic),
        activity_types=await entries(ActivityType),
        groups=tuple(_group_setup(group) for group in groups),
        guide=tuple(GuideEntry(section.title, section.body) for section in sections),
        telegram_groups=tuple(
            ChatSetup(
                chat_id=chat.chat_id,
                title=chat.title,
                # Only active groups are exported, so a link to an inactive one can't be kept.
                group=chat.group.key if chat.group and chat.group_id in active else None,
                language=chat.language,
                welcome=chat.welcome_enabled,
                welcome_text=chat.welcome_text,
                approve_join_requests=chat.approve_join_requests,
            )
            for chat in chats
        ),
    )


def _group_setup(group: Group) -> GroupSetup:
    topics = sorted(group.topics, key=lambda topic: (topic.position, topic.id))
    return GroupSetup(
        key=group.key,
        name=group.name,
        type=group.type,
        district=group.district.key if group.district else None,
        topics=tuple(topic.key for topic in topics),
        # As stored: the organiser's phrase (one that doesn't parse goes out for a human to fix).
        meets=group.rule,
        place=group.place,
        hosts=tuple(
            Host(telegram_id=None if host.username else host.telegram_id, username=host.username)
            for host in sorted(group.hosts, key=lambda host: host.id)
        ),
        newcomer_friendly=group.newcomer_friendly,
        open_to_non_members=group.open_to_non_members,
        description=group.description,
    )


async def export_setup(session: AsyncSession) -> str:
    """The stored setup as YAML in the import format; load_setup reads it back unchanged.

    Keys come in a fixed order, only active groups are included, meeting rules are the
    organiser's phrases as imported, multi-line texts use literal blocks and umlauts stay
    readable. Raises NothingToExportError
    before the first import.
    """
    return dump_setup(await read_setup(session))


class _FlowMap(dict[str, object]):
    """Written on one line: {key: nord, name: Nord-Ost}."""


class _FlowList(list[object]):
    """Written on one line: [umwelt, bildung]."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists indented under their key, as people write them by hand.
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: object) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        # Stored without the final newline; "|" (clip) reads back to the same text after strip.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value + "\n", style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _represent_flow_map(dumper: yaml.SafeDumper, value: _FlowMap) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=True)


def _represent_flow_list(dumper: yaml.SafeDumper, value: _FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_FlowMap, _represent_flow_map)
_Dumper.add_representer(_FlowList, _represent_flow_list)


def _entry_out(entry: Entry) -> object:
    if derive_key(entry.name) == entry.key:
        return entry.name
    return _FlowMap(key=entry.key, name=entry.name)


def _group_out(group: GroupSetup) -> dict[str, object]:
    out: dict[str, object] = {"key": group.key, "name": group.name, "type": group.type.value}
    if group.district:
        out["district"] = group.district
    if group.topics:
        out["topics"] = _FlowList(group.topics)
    if group.meets:
        out["meets"] = group.meets
    if group.place:
        out["place"] = group.place
    if group.hosts:
        out["hosts"] = _FlowList(
            f"@{host.username}" if host.username else host.telegram_id for host in group.hosts
        )
    out["newcomer_friendly"] = group.newcomer_friendly
    out["open_to_non_members"] = group.open_to_non_members
    if group.description:
        out["description"] = group.description
    return out


def _chat_out(chat: ChatSetup) -> dict[str, object]:
    out: dict[str, object] = {"chat_id": chat.chat_id, "title": chat.title}
    if chat.group:
        out["group"] = chat.group
    out["language"] = chat.language
    out["welcome"] = chat.welcome
    if chat.welcome_text:
        out["welcome_text"] = chat.welcome_text
    out["approve_join_requests"] = chat.approve_join_requests
    return out


def dump_setup(setup: KvSetup) -> str:
    """setup as YAML in the import format (what export_setup writes)."""
    document: dict[str, object] = {"name": setup.name}
    if setup.privacy_contact:
        document["privacy_contact"] = setup.privacy_contact
    for section, entries in (
        ("districts", setup.districts),
        ("topics", setup.topics),
        ("activity_types", setup.activity_types),
    ):
        if entries:
            document[section] = [_entry_out(entry) for entry in entries]
    if setup.groups:
        document["groups"] = [_group_out(group) for group in setup.groups]
    if setup.guide:
        document["guide"] = [{"title": entry.title, "text": entry.text} for entry in setup.guide]
    if setup.telegram_groups:
        document["telegram_groups"] = [_chat_out(chat) for chat in setup.telegram_groups]
    text = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        indent=2,
        # Long lines stay long: a folded description is harder to edit than a wide one.
        width=1 << 20,
    )
    # A blank line before each list section; only top-level keys start at column 0.
    return re.sub(r"\n(?=[a-z_]+:\n)", "\n\n", text)
