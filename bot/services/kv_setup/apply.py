"""Applying a setup to the database: add, update and remove rows to match it, counting changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services import field_actions
from bot.services.kv_setup.reader import load_setup
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
    MemorialSetup,
    SetupError,
    SetupInvalidError,
)
from bot.services.recurrence import parse_rule, to_rrule
from bot.services.translation import gettext as _
from models import (
    ActivityType,
    Campaign,
    District,
    FieldAction,
    Group,
    GroupHost,
    GroupProposal,
    GuideSection,
    KvProfile,
    Member,
    Memorial,
    ProposalStatus,
    ServedChat,
    Topic,
)


@dataclass(frozen=True, slots=True)
class SectionChanges:
    """What an import did to one section."""

    added: int = 0
    updated: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        """Whether anything in the section changed."""
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    """What an import did, per section.

    For groups, actions and memorials, `removed` counts those set inactive and `added`
    includes re-activated ones.
    """

    profile: SectionChanges = field(default_factory=SectionChanges)
    districts: SectionChanges = field(default_factory=SectionChanges)
    topics: SectionChanges = field(default_factory=SectionChanges)
    activity_types: SectionChanges = field(default_factory=SectionChanges)
    groups: SectionChanges = field(default_factory=SectionChanges)
    campaigns: SectionChanges = field(default_factory=SectionChanges)
    actions: SectionChanges = field(default_factory=SectionChanges)
    memorials: SectionChanges = field(default_factory=SectionChanges)
    guide: SectionChanges = field(default_factory=SectionChanges)
    telegram_groups: SectionChanges = field(default_factory=SectionChanges)
    # Groups founded in the bot (an approved proposal) that the file leaves out: it sets them
    # inactive, which the organiser most likely doesn't mean (they edited an older export).
    founded_in_bot_dropped: tuple[str, ...] = ()
    # The same for actions planned in the chat (not in the file imported before): their titles.
    planned_in_bot_dropped: tuple[str, ...] = ()

    def _sections(self) -> list[tuple[str, SectionChanges]]:
        return [
            (section.name, value)
            for section in fields(self)
            if isinstance(value := getattr(self, section.name), SectionChanges)
        ]

    @property
    def changed(self) -> bool:
        """Whether the import changed anything at all."""
        return any(changes.changed for _name, changes in self._sections())

    def warnings(self) -> list[str]:
        """What the organiser should know before relying on the import, in the active locale."""
        warnings = []
        if self.founded_in_bot_dropped:
            warnings.append(
                _(
                    "these groups were founded in the bot and are missing from the file, so they "
                    "are deactivated: {names}. To keep them, run `mitmachbot export`, edit that "
                    "file and import it."
                ).format(names=", ".join(self.founded_in_bot_dropped))
            )
        if self.planned_in_bot_dropped:
            warnings.append(
                _(
                    "these actions were planned in the bot and are missing from the file, so "
                    "they are deactivated: {names}. To keep them, run `mitmachbot export`, edit "
                    "that file and import it."
                ).format(names=", ".join(self.planned_in_bot_dropped))
            )
        return warnings

    def lines(self) -> list[str]:
        """One line per section, e.g. "districts        1 added, 2 updated, 0 removed".

        Section names are the file's keys; the counts are in the active locale.
        """
        result = []
        for name, changes in self._sections():
            if name in ("groups", "actions", "memorials"):
                counts = _("{added} added, {updated} updated, {removed} deactivated")
            else:
                counts = _("{added} added, {updated} updated, {removed} removed")
            counts = counts.format(
                added=changes.added, updated=changes.updated, removed=changes.removed
            )
            result.append(f"{name:<16} {counts}")
        return result


def _assign(row: object, **values: object) -> bool:
    """Set the attributes that differ; returns whether any did. Untouched rows get no UPDATE."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def _sync_entries(
    session: AsyncSession,
    model: EntryModel,
    entries: Sequence[Entry],
    extra: Callable[[Entry], dict[str, object]] = lambda _entry: {},
    differs: Callable[[Any, Entry], bool] = lambda _row, _entry: False,
    query: Select[Any] | None = None,
) -> tuple[dict[str, Any], list[Any], SectionChanges]:
    """Add and update entries by key; returns them by key, the stale rows and the counts.

    `extra` gives the columns a section has beyond key, name and position; `differs` says
    whether a row differs in what the caller sets afterwards (a district's neighbours), so it
    counts as updated. Stale rows are only deleted once the groups no longer point at them.
    """
    query = select(model) if query is None else query
    rows = {row.key: row for row in (await session.scalars(query)).all()}
    current: dict[str, Any] = {}
    added = updated = 0
    for position, entry in enumerate(entries):
        row = rows.get(entry.key)
        values = {"name": entry.name, "position": position, **extra(entry)}
        if row is None:
            row = model(key=entry.key, **values)
            session.add(row)
            added += 1
        elif _assign(row, **values) | differs(row, entry):
            updated += 1
        current[entry.key] = row
    stale = [row for key, row in rows.items() if key not in current]
    return current, stale, SectionChanges(added, updated, len(stale))


def _neighbours_differ(row: District, entry: Entry) -> bool:
    return {other.key for other in row.neighbours} != set(entry.neighbours)


def _sync_neighbours(
    entries: Sequence[Entry], districts: dict[str, District], stale: Sequence[District]
) -> None:
    """Set each district's neighbours (the reader made them symmetric: both directions are
    rows); a stale district loses its own."""
    for entry in entries:
        row = districts[entry.key]
        if _neighbours_differ(row, entry):
            row.neighbours = [districts[key] for key in entry.neighbours]
    for row in stale:
        if row.neighbours:
            row.neighbours = []


def _check_references(setup: KvSetup) -> None:
    # load_setup guarantees these; a KvSetup built in code might not.
    districts = {entry.key for entry in setup.districts}
    topics = {entry.key for entry in setup.topics}
    groups = {group.key for group in setup.groups}
    for group in setup.groups:
        if group.district is not None and group.district not in districts:
            raise ValueError(f"group {group.key!r} names unknown district {group.district!r}")
        unknown = set(group.topics) - topics
        if unknown:
            raise ValueError(f"group {group.key!r} names unknown topics {sorted(unknown)}")
    for chat in setup.telegram_groups:
        if chat.group is not None and chat.group not in groups:
            raise ValueError(f"chat {chat.chat_id} names unknown group {chat.group!r}")
    for entry in setup.districts:
        unknown = set(entry.neighbours) - districts
        if unknown or entry.key in entry.neighbours:
            raise ValueError(f"district {entry.key!r} names bad neighbours {entry.neighbours}")
        for other in entry.neighbours:
            if entry.key not in next(d for d in setup.districts if d.key == other).neighbours:
                raise ValueError(f"neighbours {entry.key!r} and {other!r} are not mutual")
    campaigns = {campaign.key for campaign in setup.campaigns}
    for action in setup.actions:
        if action.campaign is not None and action.campaign not in campaigns:
            raise ValueError(f"action {action.key!r} names unknown campaign {action.campaign!r}")
        if action.district is not None and action.district not in districts:
            raise ValueError(f"action {action.key!r} names unknown district {action.district!r}")


def _host_pairs(hosts: Iterable[GroupHost]) -> list[tuple[int | None, str | None]]:
    return [(host.telegram_id, host.username) for host in sorted(hosts, key=lambda h: h.id)]


def _new_hosts(hosts: Sequence[Host]) -> list[GroupHost]:
    return [GroupHost(telegram_id=host.telegram_id, username=host.username) for host in hosts]


async def apply_setup(
    session: AsyncSession, setup: KvSetup, *, source: str | None = None
) -> ChangeSummary:
    """Bring the database in line with setup, inside the caller's transaction (no commit).

    Entries are matched by key (guide sections by title, served chats by chat id): new ones are
    added, changed ones updated, positions follow the file. Districts, topics, activity types,
    campaigns, guide sections and served chats missing from the file are deleted (actions of a
    deleted campaign stay, without one); groups, field actions and memorials missing from it
    are set inactive so members' history stays, and become active again when they come back.
    A district's neighbours are stored both ways. An action's shift plan is stored as
    PlannedShift.as_json() gives it; its dates are field_actions.extend_horizon's business
    (`mitmachbot import` runs it in the same transaction). Raises SetupInvalidError, before writing
    anything, when an action's contact is no member the bot knows. Hosts
    are replaced per group when they differ. Rows that already match are not written, so applying
    the same setup twice issues no INSERT, UPDATE or DELETE the second time. A served chat's
    last_welcome_message_id is left alone. Flushes at the end, so database errors surface here.
    Raises ValueError for references that don't resolve (load_setup never returns such a setup).

    source is the text of the file setup was read from: it is kept, so that export_setup can
    write that file again with its comments. It is no part of the setup, so storing it counts
    as no change; None leaves the kept text as it is (export brings it up to date anyway).
    """
    _check_references(setup)
    contacts = await _contacts(session, setup.actions)

    profile = await session.get(KvProfile, PROFILE_ID)
    # The actions of the file imported before: those missing from it were planned in the chat.
    imported_before = _action_keys(profile.setup_source if profile is not None else None)
    if profile is None:
        profile = KvProfile(id=PROFILE_ID, name=setup.name, privacy_contact=setup.privacy_contact)
        session.add(profile)
        profile_changes = SectionChanges(added=1)
    elif _assign(profile, name=setup.name, privacy_contact=setup.privacy_contact):
        profile_changes = SectionChanges(updated=1)
    else:
        profile_changes = SectionChanges()
    if source is not None:
        _assign(profile, setup_source=source)

    districts, stale_districts, district_changes = await _sync_entries(
        session,
        District,
        setup.districts,
        differs=_neighbours_differ,
        # Every district with its neighbours, however this session loaded it before.
        query=select(District)
        .options(selectinload(District.neighbours))
        .execution_options(populate_existing=True),
    )
    _sync_neighbours(setup.districts, districts, stale_districts)
    topics, stale_topics, topic_changes = await _sync_entries(session, Topic, setup.topics)
    _activity, stale_activity, activity_changes = await _sync_entries(
        session,
        ActivityType,
        setup.activity_types,
        extra=lambda entry: {"action_kind": entry.action.value if entry.action else None},
    )

    groups, group_changes, founded_dropped = await _sync_groups(
        session, setup.groups, districts, topics
    )
    campaigns, stale_campaigns, campaign_changes = await _sync_campaigns(session, setup.campaigns)
    action_changes, planned_dropped = await _sync_actions(
        session, setup.actions, campaigns, districts, contacts, imported_before
    )
    memorial_changes = await _sync_memorials(session, setup.memorials)
    guide_changes = await _sync_guide(session, setup.guide)
    chat_changes = await _sync_chats(session, setup.telegram_groups, groups)

    for row in (*stale_districts, *stale_topics, *stale_activity, *stale_campaigns):
        await session.delete(row)
    await session.flush()
    return ChangeSummary(
        profile=profile_changes,
        districts=district_changes,
        topics=topic_changes,
        activity_types=activity_changes,
        groups=group_changes,
        campaigns=campaign_changes,
        actions=action_changes,
        memorials=memorial_changes,
        guide=guide_changes,
        telegram_groups=chat_changes,
        founded_in_bot_dropped=founded_dropped,
        planned_in_bot_dropped=planned_dropped,
    )


def _action_keys(source: str | None) -> frozenset[str] | None:
    """The action keys of a setup file's text; None when there is none or it no longer reads."""
    if not source:
        return None
    try:
        return frozenset(action.key for action in load_setup(source).actions)
    except SetupInvalidError:
        return None


async def _contacts(session: AsyncSession, actions: Sequence[ActionSetup]) -> dict[Host, int]:
    """The members the actions' contacts name, by how the file names them.

    SetupInvalidError (with the lines) for contacts the bot doesn't know: a file can only name
    people who have written to the bot, and by @username only those whose username it keeps.
    """
    wanted = {action.contact for action in actions if action.contact is not None}
    if not wanted:
        return {}
    ids = [host.telegram_id for host in wanted if host.telegram_id is not None]
    names = [host.username for host in wanted if host.username is not None]
    found: dict[Host, int] = {}
    if ids:
        for member_id in await session.scalars(select(Member.id).where(Member.id.in_(ids))):
            found[Host(telegram_id=member_id)] = member_id
    if names:
        rows = await session.execute(
            select(Member.username, Member.id)
            .where(Member.username.in_(names))
            # A username someone gave up may still be on an old row: the newest one counts.
            .order_by(Member.last_seen_at, Member.id)
        )
        for username, member_id in rows:
            found[Host(username=username)] = member_id
    errors = [
        SetupError(
            action.contact_line,
            _(
                "{path}: the bot doesn't know {contact}; a contact must have written to the bot "
                "first (and, to be named by @username, have agreed to keep their profile)"
            ).format(path=f"actions[{index}].contact", contact=action.contact),
        )
        for index, action in enumerate(actions)
        if action.contact is not None and action.contact not in found
    ]
    if errors:
        raise SetupInvalidError(sorted(errors, key=lambda error: error.line))
    return found


async def _sync_campaigns(
    session: AsyncSession, specs: Sequence[CampaignSetup]
) -> tuple[dict[str, Campaign], list[Campaign], SectionChanges]:
    """Campaigns by key; stale ones are returned to be deleted (their actions stay)."""
    rows = {row.key: row for row in (await session.scalars(select(Campaign))).all()}
    current: dict[str, Campaign] = {}
    added = updated = 0
    for position, spec in enumerate(specs):
        values: dict[str, object] = {
            "name": spec.name,
            "starts_on": spec.starts_on,
            "ends_on": spec.ends_on,
            "position": position,
        }
        row = rows.get(spec.key)
        if row is None:
            row = Campaign(key=spec.key, **values)
            session.add(row)
            added += 1
        elif _assign(row, **values):
            updated += 1
        current[spec.key] = row
    stale = [row for key, row in rows.items() if key not in current]
    return current, stale, SectionChanges(added, updated, len(stale))


def _action_values(
    spec: ActionSetup, position: int, contacts: dict[Host, int]
) -> dict[str, object]:
    plan = [
        field_actions.PlannedShift(shift.start, shift.end, shift.people, shift.label).as_json()
        for shift in spec.shifts
    ]
    return {
        "kind": spec.kind,
        "title": spec.title,
        "place": spec.place,
        "material": spec.material,
        "on_day": spec.on_day,
        # The reader has checked that the rule parses; the phrase stays for the export.
        "rule": spec.repeats,
        "rrule": _rrule(spec.repeats),
        "starts_on": spec.starts_on,
        "ends_on": spec.ends_on,
        "shift_plan": plan,
        "contact_id": contacts[spec.contact] if spec.contact is not None else None,
        "position": position,
    }


async def _sync_actions(
    session: AsyncSession,
    specs: Sequence[ActionSetup],
    campaigns: dict[str, Campaign],
    districts: dict[str, District],
    contacts: dict[Host, int],
    imported_before: frozenset[str] | None,
) -> tuple[SectionChanges, tuple[str, ...]]:
    """Actions by key; those missing from the file are set inactive (their dates and results
    stay) and come back when they return. Returns the titles of the ones set inactive that the
    file imported before did not have (planned in the chat)."""
    rows = {
        row.key: row
        for row in (await session.scalars(select(FieldAction).order_by(FieldAction.id))).unique()
        if row.key is not None
    }
    wanted: set[str] = set()
    added = updated = removed = 0
    for position, spec in enumerate(specs):
        campaign = campaigns[spec.campaign] if spec.campaign else None
        district = districts[spec.district] if spec.district else None
        values = _action_values(spec, position, contacts)
        row = rows.get(spec.key)
        wanted.add(spec.key)
        if row is None:
            session.add(
                FieldAction(
                    key=spec.key, active=True, campaign=campaign, district=district, **values
                )
            )
            added += 1
            continue
        was_active = row.active
        changed = _assign(row, active=True, **values)
        if row.campaign is not campaign:
            row.campaign = campaign
            changed = True
        if row.district is not district:
            row.district = district
            changed = True
        if not was_active:
            added += 1
        elif changed:
            updated += 1
    dropped: list[str] = []
    for key, row in rows.items():
        if key in wanted:
            continue
        if row.active:
            row.active = False
            removed += 1
            if imported_before is None or key not in imported_before:
                dropped.append(row.title)
        # An inactive action may still point at a campaign or district this import deletes.
        if row.campaign is not None and row.campaign.key not in campaigns:
            row.campaign = None
        if row.district is not None and row.district.key not in districts:
            row.district = None
    return SectionChanges(added, updated, removed), tuple(dropped)


async def _sync_memorials(session: AsyncSession, specs: Sequence[MemorialSetup]) -> SectionChanges:
    """Memorials by key; those missing from the file are set inactive (their dates and answers
    stay) and come back when they return."""
    rows = {row.key: row for row in (await session.scalars(select(Memorial))).all()}
    wanted: set[str] = set()
    added = updated = removed = 0
    for position, spec in enumerate(specs):
        event = spec.event
        values: dict[str, object] = {
            "name": spec.name,
            "rule": spec.rule,
            "rrule": _rrule(spec.rule),
            "about": spec.about,
            "event_time": event.time if event else None,
            "event_place": event.place if event else None,
            "event_note": event.note if event else None,
            "position": position,
        }
        wanted.add(spec.key)
        row = rows.get(spec.key)
        if row is None:
            session.add(Memorial(key=spec.key, active=True, **values))
            added += 1
            continue
        was_active = row.active
        if _assign(row, active=True, **values) and was_active:
            updated += 1
        elif not was_active:
            added += 1
    for key, row in rows.items():
        if key not in wanted and row.active:
            row.active = False
            removed += 1
    return SectionChanges(added, updated, removed)


async def _sync_groups(
    session: AsyncSession,
    specs: Sequence[GroupSetup],
    districts: dict[str, District],
    topics: dict[str, Topic],
) -> tuple[dict[str, Group], SectionChanges, tuple[str, ...]]:
    rows = {group.key: group for group in (await session.scalars(select(Group))).all()}
    current: dict[str, Group] = {}
    added = updated = removed = 0
    for position, spec in enumerate(specs):
        district = districts[spec.district] if spec.district else None
        group_topics = [topics[key] for key in spec.topics]
        values: dict[str, object] = {
            "name": spec.name,
            "type": spec.type,
            "rule": spec.meets,
            "rrule": _rrule(spec.meets),
            "place": spec.place,
            "description": spec.description,
            "newcomer_friendly": spec.newcomer_friendly,
            "open_to_non_members": spec.open_to_non_members,
            "position": position,
        }
        group = rows.get(spec.key)
        if group is None:
            group = Group(
                key=spec.key,
                active=True,
                district=district,
                topics=group_topics,
                hosts=_new_hosts(spec.hosts),
                **values,
            )
            session.add(group)
            added += 1
        elif not group.active:
            _update_group(group, spec, values, district, group_topics)
            added += 1
        elif _update_group(group, spec, values, district, group_topics):
            updated += 1
        current[spec.key] = group

    dropped: list[Group] = []
    for key, group in rows.items():
        if key in current:
            continue
        if group.active:
            group.active = False
            removed += 1
            dropped.append(group)
        # An inactive group may still point at a district or topic this import deletes.
        if group.district is not None and group.district.key not in districts:
            group.district = None
        kept = [topic for topic in group.topics if topic.key in topics]
        if len(kept) != len(group.topics):
            group.topics = kept
    return current, SectionChanges(added, updated, removed), await _founded_in_bot(session, dropped)


async def _founded_in_bot(session: AsyncSession, groups: Sequence[Group]) -> tuple[str, ...]:
    """The names of those groups that an organiser approved in the bot."""
    if not groups:
        return ()
    founded = set(
        await session.scalars(
            select(GroupProposal.group_id).where(
                GroupProposal.group_id.in_([group.id for group in groups]),
                GroupProposal.status == ProposalStatus.APPROVED,
            )
        )
    )
    return tuple(group.name for group in groups if group.id in founded)


def _rrule(meets: str | None) -> str | None:
    # The reader has checked that the phrase parses; the phrase stays for the export.
    return to_rrule(parse_rule(meets)) if meets else None


def _update_group(
    group: Group,
    spec: GroupSetup,
    values: dict[str, object],
    district: District | None,
    topics: list[Topic],
) -> bool:
    """Bring an existing group (re-activated if need be) in line; returns whether it changed."""
    if group.rrule != values["rrule"]:
        # A new rule starts the series afresh, also after a host ended the old one.
        group.series_ends_on = None
    changed = _assign(group, active=True, **values)
    if group.district is not district:
        group.district = district
        changed = True
    if {topic.key for topic in group.topics} != set(spec.topics):
        group.topics = topics
        changed = True
    if _host_pairs(group.hosts) != [(host.telegram_id, host.username) for host in spec.hosts]:
        group.hosts = _new_hosts(spec.hosts)
        changed = True
    return changed


async def _sync_guide(session: AsyncSession, sections: Sequence[GuideEntry]) -> SectionChanges:
    rows = (
        await session.scalars(select(GuideSection).order_by(GuideSection.position, GuideSection.id))
    ).all()
    by_title: dict[str, GuideSection] = {}
    stale: list[GuideSection] = []
    for row in rows:
        # Titles are the identity; a second row with the same title can only be a leftover.
        if row.title in by_title:
            stale.append(row)
        else:
            by_title[row.title] = row
    added = updated = 0
    wanted = {section.title for section in sections}
    for position, section in enumerate(sections):
        row = by_title.get(section.title)
        if row is None:
            session.add(GuideSection(title=section.title, body=section.text, position=position))
            added += 1
        elif _assign(row, body=section.text, position=position):
            updated += 1
    stale.extend(row for title, row in by_title.items() if title not in wanted)
    for row in stale:
        await session.delete(row)
    return SectionChanges(added, updated, len(stale))


async def _sync_chats(
    session: AsyncSession, specs: Sequence[ChatSetup], groups: dict[str, Group]
) -> SectionChanges:
    rows = {chat.chat_id: chat for chat in (await session.scalars(select(ServedChat))).all()}
    added = updated = 0
    for spec in specs:
        group = groups[spec.group] if spec.group else None
        values: dict[str, object] = {
            "title": spec.title,
            "invite_link": spec.link,
            "language": spec.language,
            "welcome_enabled": spec.welcome,
            "welcome_text": spec.welcome_text,
            "approve_join_requests": spec.approve_join_requests,
        }
        chat = rows.get(spec.chat_id)
        if chat is None:
            session.add(ServedChat(chat_id=spec.chat_id, group=group, **values))
            added += 1
            continue
        changed = _assign(chat, **values)
        if chat.group is not group:
            chat.group = group
            changed = True
        if changed:
            updated += 1
    wanted = {spec.chat_id for spec in specs}
    stale = [chat for chat_id, chat in rows.items() if chat_id not in wanted]
    for chat in stale:
        await session.delete(chat)
    return SectionChanges(added, updated, len(stale))
