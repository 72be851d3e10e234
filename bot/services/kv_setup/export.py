"""Exporting the setup: read it back from the database and write it in the import format."""

from __future__ import annotations

import re

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import field_actions
from bot.services.kv_setup.form import (
    FlowList,
    FlowMap,
    action_out,
    campaign_out,
    chat_out,
    entry_out,
    group_out,
    guide_out,
    memorial_out,
)
from bot.services.kv_setup.schema import (
    PROFILE_ID,
    ActionSetup,
    CampaignSetup,
    ChatSetup,
    Entry,
    EntryModel,
    GroupSetup,
    GuideEntry,
    Host,
    KvSetup,
    MemorialEvent,
    MemorialSetup,
    NothingToExportError,
    ShiftSetup,
)
from bot.services.translation import gettext as _
from models import (
    ActionKind,
    ActivityType,
    Campaign,
    District,
    FieldAction,
    Group,
    GuideSection,
    KvProfile,
    Member,
    Memorial,
    ServedChat,
    Topic,
)
from models.kv import district_neighbours


async def read_setup(session: AsyncSession) -> KvSetup:
    """The stored setup as a KvSetup (active groups, actions and memorials only);
    NothingToExportError before the first import."""
    profile = await session.get(KvProfile, PROFILE_ID)
    if profile is None:
        raise NothingToExportError(_("no KV setup has been imported yet"))

    async def entries(model: EntryModel) -> tuple[Entry, ...]:
        rows = (await session.scalars(select(model).order_by(model.position, model.id))).all()
        return tuple(Entry(row.key, row.name) for row in rows)

    activity_types = tuple(
        Entry(row.key, row.name, action=_action_kind(row.action_kind))
        for row in (
            await session.scalars(
                select(ActivityType).order_by(ActivityType.position, ActivityType.id)
            )
        ).all()
    )

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
    campaigns = (
        await session.scalars(select(Campaign).order_by(Campaign.position, Campaign.id))
    ).all()
    actions = (
        await session.scalars(
            select(FieldAction)
            .where(FieldAction.active.is_(True), FieldAction.key.is_not(None))
            .order_by(FieldAction.position, FieldAction.id)
        )
    ).unique()
    memorials = (
        await session.scalars(
            select(Memorial)
            .where(Memorial.active.is_(True))
            .order_by(Memorial.position, Memorial.id)
        )
    ).all()
    return KvSetup(
        name=profile.name,
        privacy_contact=profile.privacy_contact,
        districts=await _districts(session),
        topics=await entries(Topic),
        activity_types=activity_types,
        groups=tuple(_group_setup(group) for group in groups),
        campaigns=tuple(
            CampaignSetup(row.key, row.name, row.starts_on, row.ends_on) for row in campaigns
        ),
        actions=tuple([await _action_setup(session, action) for action in actions]),
        memorials=tuple(_memorial_setup(memorial) for memorial in memorials),
        guide=tuple(GuideEntry(section.title, section.body) for section in sections),
        telegram_groups=tuple(
            ChatSetup(
                chat_id=chat.chat_id,
                title=chat.title,
                # Only active groups are exported, so a link to an inactive one can't be kept.
                group=chat.group.key if chat.group and chat.group_id in active else None,
                link=chat.invite_link,
                language=chat.language,
                welcome=chat.welcome_enabled,
                welcome_text=chat.welcome_text,
                approve_join_requests=chat.approve_join_requests,
            )
            for chat in chats
        ),
    )


async def _districts(session: AsyncSession) -> tuple[Entry, ...]:
    rows = (await session.scalars(select(District).order_by(District.position, District.id))).all()
    order = {row.id: position for position, row in enumerate(rows)}
    keys = {row.id: row.key for row in rows}
    # Read from the link table: both directions are rows, and the file lists each pair under
    # both districts, in the districts' order.
    neighbours: dict[int, list[int]] = {row.id: [] for row in rows}
    for district_id, neighbour_id in await session.execute(select(district_neighbours)):
        if district_id != neighbour_id and neighbour_id in keys and district_id in neighbours:
            neighbours[district_id].append(neighbour_id)
    return tuple(
        Entry(
            row.key,
            row.name,
            neighbours=tuple(keys[other] for other in sorted(neighbours[row.id], key=order.get)),
        )
        for row in rows
    )


def _action_kind(value: str | None) -> ActionKind | None:
    try:
        return ActionKind(value) if value else None
    except ValueError:
        # Not a kind this bot knows (an older or newer value): exported without one.
        return None


async def _action_setup(session: AsyncSession, action: FieldAction) -> ActionSetup:
    contact = None
    if action.contact_id is not None:
        member = await session.get(Member, action.contact_id)
        if member is not None and member.username:
            contact = Host(username=member.username)
        elif member is not None:
            contact = Host(telegram_id=member.id)
    assert action.key is not None
    return ActionSetup(
        key=action.key,
        kind=action.kind,
        title=action.title,
        place=action.place,
        shifts=tuple(
            ShiftSetup(start=item.start, end=item.end, people=item.needed, label=item.label)
            for item in field_actions.plan_of(action)
        ),
        campaign=action.campaign.key if action.campaign else None,
        district=action.district.key if action.district else None,
        on_day=action.on_day,
        # As stored: the organiser's phrase.
        repeats=action.rule if action.on_day is None else None,
        starts_on=action.starts_on if action.on_day is None else None,
        ends_on=action.ends_on if action.on_day is None else None,
        material=action.material,
        contact=contact,
    )


def _memorial_setup(memorial: Memorial) -> MemorialSetup:
    event = None
    if memorial.event_time is not None:
        event = MemorialEvent(
            time=memorial.event_time,
            place=memorial.event_place or "",
            note=memorial.event_note,
        )
    return MemorialSetup(
        key=memorial.key,
        name=memorial.name,
        rule=memorial.rule,
        about=memorial.about,
        event=event,
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

    When a file was imported before (its text is kept on the KV profile), that file comes back
    with its comments and layout, brought in line with the database (see roundtrip.py).
    Otherwise, or when that can't be done faithfully, the plain form of dump_setup. Raises
    NothingToExportError before the first import.
    """
    setup = await read_setup(session)
    profile = await session.get(KvProfile, PROFILE_ID)
    if profile is not None and profile.setup_source:
        # ruamel.yaml only for an export (a few MB the idle bot need not hold).
        from bot.services.kv_setup.roundtrip import update_source  # noqa: PLC0415

        text = update_source(profile.setup_source, setup)
        if text is not None:
            return text
    return dump_setup(setup)


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


def _represent_flow_map(dumper: yaml.SafeDumper, value: FlowMap) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=True)


def _represent_flow_list(dumper: yaml.SafeDumper, value: FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(FlowMap, _represent_flow_map)
_Dumper.add_representer(FlowList, _represent_flow_list)


def dump_setup(setup: KvSetup) -> str:
    """setup as YAML in the import format, in its plain form: keys in a fixed order, meeting
    rules as stored, multi-line texts as literal blocks, umlauts readable, no comments."""
    document: dict[str, object] = {"name": setup.name}
    if setup.privacy_contact:
        document["privacy_contact"] = setup.privacy_contact
    for section, entries in (
        ("districts", setup.districts),
        ("topics", setup.topics),
        ("activity_types", setup.activity_types),
    ):
        if entries:
            document[section] = [entry_out(entry) for entry in entries]
    if setup.groups:
        document["groups"] = [group_out(group) for group in setup.groups]
    if setup.campaigns:
        document["campaigns"] = [campaign_out(campaign) for campaign in setup.campaigns]
    if setup.actions:
        document["actions"] = [action_out(action) for action in setup.actions]
    if setup.memorials:
        document["memorials"] = [memorial_out(memorial) for memorial in setup.memorials]
    if setup.guide:
        document["guide"] = [guide_out(entry) for entry in setup.guide]
    if setup.telegram_groups:
        document["telegram_groups"] = [chat_out(chat) for chat in setup.telegram_groups]
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
