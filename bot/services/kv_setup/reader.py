"""Validating a setup file: the _Reader walks its sections and collects every mistake.

load_setup is the entry point; each error carries the line it is on.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from itertools import pairwise
from typing import Literal

from yaml.nodes import MappingNode, Node, ScalarNode

from bot.services import field_actions
from bot.services.kv_setup.loading import (
    MISSING,
    NodeReader,
    compose_setup,
    decode_setup,
    describe,
    is_null,
    join_path,
    line_of,
)
from bot.services.kv_setup.schema import (
    ACTION_KEYS,
    ACTIVITY_KEYS,
    BIGINT_MAX,
    CAMPAIGN_KEYS,
    CHAT_KEYS,
    DISTRICT_KEYS,
    ENTRY_KEYS,
    EVENT_KEYS,
    GROUP_KEYS,
    GUIDE_KEYS,
    LANGUAGES,
    LONG_TEXT_LENGTH,
    MAX_ENTRIES,
    MEMORIAL_KEYS,
    PLACE_LENGTH,
    PRIVACY_CONTACT_LENGTH,
    RULE_LENGTH,
    SHIFT_KEYS,
    TOP_KEYS,
    ActionSetup,
    CampaignSetup,
    ChatSetup,
    Entry,
    GroupSetup,
    GuideEntry,
    Host,
    KvSetup,
    MemorialEvent,
    MemorialSetup,
    SetupInvalidError,
    ShiftSetup,
    derive_key,
)
from bot.services.placeholders import WELCOME_PLACEHOLDERS, unknown_placeholder
from bot.services.recurrence import RuleError, parse_rule
from bot.services.translation import gettext as _
from models import ActionKind, GroupType
from models.field_action import LABEL_LENGTH, MATERIAL_LENGTH, MAX_NEEDED, MAX_SHIFTS
from models.kv import KEY_LENGTH, NAME_LENGTH
from models.memorial import ABOUT_LENGTH

_USERNAME = re.compile(r"^@[A-Za-z0-9_]{5,32}$")

INVITE_LINK_LENGTH = 200
INVITE_LINK = re.compile(r"https://t\.me/[A-Za-z0-9_+/-]{2,190}")
NOTE_LENGTH = 1000
_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$|^(\d{4})-(\d{2})-(\d{2})$")
_TIME_RANGE = re.compile(r"\s*[-–]\s*")
# What the file may call each kind of field action (compared after derive_key).
_ACTION_KINDS = {
    "infostand": ActionKind.INFOSTAND,
    "infostaende": ActionKind.INFOSTAND,
    "info-stand": ActionKind.INFOSTAND,
    "door-to-door": ActionKind.DOOR_TO_DOOR,
    "haustuer": ActionKind.DOOR_TO_DOOR,
    "haustuer-runde": ActionKind.DOOR_TO_DOOR,
    "haustuerrunde": ActionKind.DOOR_TO_DOOR,
    "haustuergespraeche": ActionKind.DOOR_TO_DOOR,
}
_YEARLY = ("yearly_date", "yearly_weekday")


def load_setup_bytes(data: bytes) -> KvSetup:
    """Decode a setup file (UTF-8, at most 1 MB) and validate it like `load_setup`."""
    return load_setup(decode_setup(data))


def load_setup(text: str) -> KvSetup:
    """Validate a setup file's text and return it as a KvSetup.

    Every problem is collected (syntax, unknown or duplicate keys, types, lengths, references
    between sections, meeting, action and memorial rules, dates, periods, shift plans, welcome
    placeholders) and raised together as SetupInvalidError, each error with the line it is on.
    Whether an action's contact is a member the bot knows only the database can tell:
    apply_setup checks that. Dates in the past are no error: an export of last year's state
    must read back.
    """
    root = compose_setup(text)
    reader = _Reader()
    setup = reader.setup(root)
    if reader.errors or setup is None:
        raise SetupInvalidError(sorted(reader.errors, key=lambda error: error.line))
    return setup


class _Reader(NodeReader):
    """Reads a setup file's sections and checks the references between them."""

    def setup(self, root: Node) -> KvSetup | None:
        """The whole file; None when it isn't even a mapping."""
        if not isinstance(root, MappingNode):
            what = describe(root, self.scalar(root, ""))
            self.error(
                root,
                "",
                _("the file must be a mapping (name:, districts:, ...), not {what}").format(
                    what=what
                ),
            )
            return None
        found = self.mapping(root, "", TOP_KEYS) or {}
        name = self.required(found, "name", root, "", NAME_LENGTH)
        privacy = self.field_text(found, "privacy_contact", "", PRIVACY_CONTACT_LENGTH)
        districts = self.entries(found, "districts")
        topics = self.entries(found, "topics")
        activity_types = self.entries(found, "activity_types")
        groups = self.groups(found, districts, topics)
        campaigns = self.campaigns(found)
        actions = self.actions(found, campaigns, districts)
        memorials = self.memorials(found)
        guide = self.guide(found)
        chats = self.chats(found, groups)
        if name is None:
            return None
        return KvSetup(
            name=name,
            privacy_contact=privacy,
            districts=districts,
            topics=topics,
            activity_types=activity_types,
            groups=groups,
            campaigns=campaigns,
            actions=actions,
            memorials=memorials,
            guide=guide,
            telegram_groups=tuple(sorted(chats, key=lambda chat: chat.chat_id)),
        )

    def entries(self, found: dict[str, Node], section: _EntrySection) -> tuple[Entry, ...]:
        """Districts, topics or activity types: each a name, or {key, name} (districts also
        with neighbours, activity types with the kind of field action they are)."""
        if section not in found:
            return ()
        allowed = _ENTRY_SECTION_KEYS[section]
        entries: list[Entry] = []
        first: dict[str, int] = {}
        listed: dict[str, tuple[Node, str]] = {}
        for index, node in enumerate(self.items(found[section], section)):
            path = f"{section}[{index}]"
            action = None
            if isinstance(node, MappingNode):
                item = self.mapping(node, path, allowed)
                if item is None:
                    continue
                name = self.required(item, "name", node, path, NAME_LENGTH)
                key = self.key_or_derived(item, name, node, path)
                if not is_null(item.get("action")):
                    action = self.action_kind(item["action"], join_path(path, "action"))
            else:
                name = self.text(node, path, NAME_LENGTH)
                key = self.key_or_derived({}, name, node, path)
            if name is None or key is None:
                continue
            if key in first:
                message = _duplicate_entry(section).format(key=key, line=first[key])
                self.error(node, path, message)
                continue
            first[key] = line_of(node)
            entries.append(Entry(key, name, action=action))
            if isinstance(node, MappingNode) and not is_null(item.get("neighbours")):
                listed[key] = (item["neighbours"], join_path(path, "neighbours"))
        if len(entries) > MAX_ENTRIES:
            # Members pick them with buttons, and a message holds 100 buttons at most.
            message = _(
                "at most {limit} entry: members pick them with buttons",
                "at most {limit} entries: members pick them with buttons",
                MAX_ENTRIES,
            ).format(limit=MAX_ENTRIES)
            self.error(found[section], section, message)
        if listed:
            return self.neighbours(entries, listed)
        return tuple(entries)

    def neighbours(
        self, districts: list[Entry], listed: dict[str, tuple[Node, str]]
    ) -> tuple[Entry, ...]:
        """Districts with their neighbours, made symmetric and in the districts' order."""
        order = {entry.key: position for position, entry in enumerate(districts)}
        pairs: set[tuple[str, str]] = set()
        for key, (list_node, path) in listed.items():
            seen: list[str] = []
            for index, node in enumerate(self.items(list_node, path)):
                item_path = f"{path}[{index}]"
                other = self.reference(node, item_path, "district", order)
                if other is None:
                    continue
                if other == key:
                    self.error(node, item_path, _("a district can't be its own neighbour"))
                    continue
                if other in seen:
                    message = _("neighbour '{key}' is listed twice").format(key=other)
                    self.error(node, item_path, message)
                    continue
                seen.append(other)
                pairs.update({(key, other), (other, key)})
        return tuple(
            dataclasses.replace(
                entry,
                neighbours=tuple(
                    sorted(
                        (other for this, other in pairs if this == entry.key),
                        key=order.__getitem__,
                    )
                ),
            )
            for entry in districts
        )

    def action_kind(self, node: Node, path: str) -> ActionKind | None:
        """infostand or door_to_door (also "Infostand", "Haustür", "haustuer", ...)."""
        value = self.text(node, path, NAME_LENGTH)
        if value is None:
            return None
        kind = _ACTION_KINDS.get(derive_key(value))
        if kind is None:
            kinds = ", ".join(kind.value for kind in ActionKind)
            self.error(
                node,
                path,
                _("unknown kind of action {value} ({kinds})").format(
                    value=repr(value), kinds=kinds
                ),
            )
        return kind

    def reference(
        self, node: Node, path: str, noun: _Referenced, known: Iterable[str]
    ) -> str | None:
        """A key naming an entry of another section."""
        value = self.text(node, path, KEY_LENGTH)
        if value is None:
            return None
        choices = list(known)
        if value not in choices:
            listed = ", ".join(choices) if choices else _("none")
            self.error(node, path, _unknown_reference(noun).format(key=value, known=listed))
            return None
        return value

    def groups(
        self, found: dict[str, Node], districts: Sequence[Entry], topics: Sequence[Entry]
    ) -> tuple[GroupSetup, ...]:
        """The groups section, references to districts and topics checked."""
        if "groups" not in found:
            return ()
        district_keys = [entry.key for entry in districts]
        topic_order = {entry.key: position for position, entry in enumerate(topics)}
        groups: list[GroupSetup] = []
        first: dict[str, int] = {}
        for index, node in enumerate(self.items(found["groups"], "groups")):
            path = f"groups[{index}]"
            item = self.mapping(node, path, GROUP_KEYS)
            if item is None:
                continue
            name = self.required(item, "name", node, path, NAME_LENGTH)
            key = self.key_or_derived(item, name, node, path)
            kind = self.group_type(item, node, path)
            district = None
            if not is_null(item.get("district")):
                district = self.reference(
                    item["district"], join_path(path, "district"), "district", district_keys
                )
            group_topics = self.group_topics(item, path, topic_order)
            meets = self.meets(item, path)
            place = self.field_text(item, "place", path, PLACE_LENGTH)
            hosts = self.hosts(item, path)
            newcomer_friendly = self.flag(item, "newcomer_friendly", path, default=False)
            open_to_non_members = self.flag(item, "open_to_non_members", path, default=False)
            description = self.field_text(
                item, "description", path, LONG_TEXT_LENGTH, multiline=True
            )
            if name is None or key is None or kind is None:
                continue
            if key in first:
                self.error(
                    node,
                    path,
                    _("duplicate group key '{key}' (first on line {line})").format(
                        key=key, line=first[key]
                    ),
                )
                continue
            first[key] = line_of(node)
            groups.append(
                GroupSetup(
                    key=key,
                    name=name,
                    type=kind,
                    district=district,
                    topics=group_topics,
                    meets=meets,
                    place=place,
                    hosts=hosts,
                    newcomer_friendly=newcomer_friendly,
                    open_to_non_members=open_to_non_members,
                    description=description,
                )
            )
        return tuple(groups)

    def group_type(self, item: dict[str, Node], node: Node, path: str) -> GroupType | None:
        """stammtisch, basisgruppe or ag, in any case."""
        value = self.required(item, "type", node, path, 32)
        if value is None:
            return None
        try:
            return GroupType(value.lower())
        except ValueError:
            kinds = ", ".join(kind.value for kind in GroupType)
            self.error(
                item["type"],
                join_path(path, "type"),
                _("unknown group type {value} ({kinds})").format(value=repr(value), kinds=kinds),
            )
            return None

    def group_topics(
        self, item: dict[str, Node], path: str, topic_order: dict[str, int]
    ) -> tuple[str, ...]:
        """Topic keys of a group, in the order of the topics section."""
        if "topics" not in item:
            return ()
        keys: list[str] = []
        for index, node in enumerate(self.items(item["topics"], join_path(path, "topics"))):
            topic_path = f"{join_path(path, 'topics')}[{index}]"
            key = self.reference(node, topic_path, "topic", topic_order)
            if key is None:
                continue
            if key in keys:
                self.error(node, topic_path, _("topic '{key}' is listed twice").format(key=key))
                continue
            keys.append(key)
        return tuple(sorted(keys, key=topic_order.__getitem__))

    def meets(self, item: dict[str, Node], path: str) -> str | None:
        """The meeting rule in the organiser's words, runs of spaces made one; the recurrence
        parser must read it, but it is kept as written so that the export gives it back."""
        text = self.field_text(item, "meets", path, RULE_LENGTH)
        if text is None:
            return None
        phrase = " ".join(text.split())
        try:
            parse_rule(phrase)
        except RuleError as exc:
            message = _("cannot read rule {rule}: {reason}").format(rule=repr(text), reason=exc)
            self.error(item["meets"], join_path(path, "meets"), message)
            return None
        return phrase

    def hosts(self, item: dict[str, Node], path: str) -> tuple[Host, ...]:
        """Hosts: numeric Telegram ids or @usernames, each at most once."""
        if "hosts" not in item:
            return ()
        hosts: list[Host] = []
        for index, node in enumerate(self.items(item["hosts"], join_path(path, "hosts"))):
            host_path = f"{join_path(path, 'hosts')}[{index}]"
            host = self.host(node, host_path)
            if host is None:
                continue
            if host in hosts:
                self.error(node, host_path, _("host {host} is listed twice").format(host=host))
                continue
            hosts.append(host)
        return tuple(hosts)

    def host(self, node: Node, path: str) -> Host | None:
        """One host."""
        value = self.scalar(node, path)
        if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= BIGINT_MAX:
            return Host(telegram_id=value)
        if isinstance(value, str) and _USERNAME.fullmatch(value.strip()):
            return Host(username=value.strip()[1:].lower())
        if value is not MISSING or not isinstance(node, ScalarNode):
            self.error(
                node,
                path,
                _(
                    "a host is a numeric Telegram id or an @username "
                    "(5-32 letters, digits or _), not {what}"
                ).format(what=describe(node, value)),
            )
        return None

    # --- campaigns, field actions, Gedenktage ----------------------------------------------

    def day(self, node: Node, path: str) -> date | None:
        """A local date: 12.12.2026 (also 1.2.2027) or 2026-12-12."""
        value = self.scalar(node, path)
        if value is MISSING and isinstance(node, ScalarNode):
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        match = _DAY.match(node.value.strip()) if isinstance(node, ScalarNode) else None
        if match is not None:
            numbers = [int(part) for part in match.groups() if part is not None]
            day, month, year = numbers if match.group(1) else numbers[::-1]
            try:
                return date(year, month, day)
            except ValueError:
                pass
        self.error(
            node,
            path,
            _("expected a date like 12.12.2026 or 2026-12-12, got {what}").format(
                what=describe(node, value)
            ),
        )
        return None

    def field_day(self, item: dict[str, Node], key: str, path: str) -> date | None:
        """An optional date field; absent or null gives None."""
        if is_null(item.get(key)):
            return None
        return self.day(item[key], join_path(path, key))

    def period(self, item: dict[str, Node], path: str) -> tuple[date | None, date | None, bool]:
        """from and until (each optional); the flag says whether they make sense together."""
        starts_on = self.field_day(item, "from", path)
        ends_on = self.field_day(item, "until", path)
        if starts_on is not None and ends_on is not None and ends_on < starts_on:
            self.error(
                item["until"],
                join_path(path, "until"),
                _("until ({until}) is before from ({start})").format(
                    until=_day_text(ends_on), start=_day_text(starts_on)
                ),
            )
            return starts_on, ends_on, False
        return starts_on, ends_on, True

    def clock(self, node: Node, path: str) -> time | None:
        """A wall-clock time like 18:00 (unquoted too: its text is read, not YAML's number)."""
        value = self.scalar(node, path)
        if value is MISSING and isinstance(node, ScalarNode):
            return None
        if isinstance(node, ScalarNode) and value is not None:
            try:
                return field_actions.parse_time(node.value)
            except field_actions.ActionError:
                pass
        self.error(
            node,
            path,
            _("expected a time like 18:00, got {what}").format(what=describe(node, value)),
        )
        return None

    def campaigns(self, found: dict[str, Node]) -> tuple[CampaignSetup, ...]:
        """Campaigns: a name and an optional period."""
        if "campaigns" not in found:
            return ()
        campaigns: list[CampaignSetup] = []
        first: dict[str, int] = {}
        for index, node in enumerate(self.items(found["campaigns"], "campaigns")):
            path = f"campaigns[{index}]"
            item = self.mapping(node, path, CAMPAIGN_KEYS)
            if item is None:
                continue
            name = self.required(item, "name", node, path, NAME_LENGTH)
            key = self.key_or_derived(item, name, node, path)
            starts_on, ends_on, _fits = self.period(item, path)
            if name is None or key is None:
                continue
            if key in first:
                self.error(node, path, _duplicate("campaigns").format(key=key, line=first[key]))
                continue
            first[key] = line_of(node)
            campaigns.append(CampaignSetup(key, name, starts_on, ends_on))
        return tuple(campaigns)

    def actions(
        self,
        found: dict[str, Node],
        campaigns: Sequence[CampaignSetup],
        districts: Sequence[Entry],
    ) -> tuple[ActionSetup, ...]:
        """Field actions: kind, title, place, a day or a rule, shifts; references checked."""
        if "actions" not in found:
            return ()
        by_key = {campaign.key: campaign for campaign in campaigns}
        district_keys = [entry.key for entry in districts]
        actions: list[ActionSetup] = []
        first: dict[str, int] = {}
        for index, node in enumerate(self.items(found["actions"], "actions")):
            path = f"actions[{index}]"
            item = self.mapping(node, path, ACTION_KEYS)
            if item is None:
                continue
            title = self.required(item, "title", node, path, NAME_LENGTH)
            key = self.key_or_derived(item, title, node, path)
            kind = None
            if "kind" not in item:
                self.error(node, path, _("missing required key '{key}'").format(key="kind"))
            else:
                kind = self.action_kind(item["kind"], join_path(path, "kind"))
            campaign = None
            if not is_null(item.get("campaign")):
                campaign = self.reference(
                    item["campaign"], join_path(path, "campaign"), "campaign", by_key
                )
            district = None
            if not is_null(item.get("district")):
                district = self.reference(
                    item["district"], join_path(path, "district"), "district", district_keys
                )
            place = self.required(item, "place", node, path, PLACE_LENGTH)
            when = self.when(item, node, path, by_key.get(campaign) if campaign else None)
            shifts = self.shifts(item, node, path)
            material = self.field_text(item, "material", path, MATERIAL_LENGTH, multiline=True)
            contact = None
            if not is_null(item.get("contact")):
                contact = self.host(item["contact"], join_path(path, "contact"))
            if (
                title is None
                or key is None
                or kind is None
                or place is None
                or when is None
                or shifts is None
            ):
                continue
            if key in first:
                self.error(node, path, _duplicate("actions").format(key=key, line=first[key]))
                continue
            first[key] = line_of(node)
            on_day, repeats, starts_on, ends_on = when
            actions.append(
                ActionSetup(
                    key=key,
                    kind=kind,
                    title=title,
                    place=place,
                    shifts=shifts,
                    campaign=campaign,
                    district=district,
                    on_day=on_day,
                    repeats=repeats,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    material=material,
                    contact=contact,
                    contact_line=line_of(item["contact"]) if contact else 0,
                )
            )
        return tuple(actions)

    def when(
        self,
        item: dict[str, Node],
        node: Node,
        path: str,
        campaign: CampaignSetup | None,
    ) -> tuple[date | None, str | None, date | None, date | None] | None:
        """An action's day, or its rule with an optional period; None after an error."""
        has_day = not is_null(item.get("date"))
        has_rule = not is_null(item.get("repeats"))
        if has_day and has_rule:
            self.error(
                item["repeats"],
                join_path(path, "repeats"),
                _("give either date (one day) or repeats (a rule), not both"),
            )
            return None
        if not has_day and not has_rule:
            self.error(
                node,
                path,
                _("missing 'date' (one day) or 'repeats' (a rule like 'jeden Samstag')"),
            )
            return None
        if has_day:
            for key in ("from", "until"):
                if key in item:
                    self.error(
                        item[key],
                        join_path(path, key),
                        _("from and until are for an action that repeats; one day has only date"),
                    )
                    return None
            day = self.day(item["date"], join_path(path, "date"))
            if day is None:
                return None
            if campaign is not None and not _within(day, campaign):
                self.error(
                    item["date"],
                    join_path(path, "date"),
                    _("{day} is outside the period of campaign '{key}'").format(
                        day=_day_text(day), key=campaign.key
                    ),
                )
                return None
            return day, None, None, None
        repeats = self.repeats(item, path)
        starts_on, ends_on, fits = self.period(item, path)
        if repeats is None or not fits:
            return None
        return None, repeats, starts_on, ends_on

    def repeats(self, item: dict[str, Node], path: str) -> str | None:
        """An action's rule in the organiser's words; days only, the shifts give the times."""
        text = self.field_text(item, "repeats", path, RULE_LENGTH)
        if text is None:
            return None
        phrase = " ".join(text.split())
        node, rule_path = item["repeats"], join_path(path, "repeats")
        try:
            rule = parse_rule(phrase)
        except RuleError as exc:
            message = _("cannot read rule {rule}: {reason}").format(rule=repr(text), reason=exc)
            self.error(node, rule_path, message)
            return None
        if rule.time is not None:
            self.error(
                node,
                rule_path,
                _("the rule gives the days only, without a time: the shifts give the times"),
            )
            return None
        return phrase

    def shifts(self, item: dict[str, Node], node: Node, path: str) -> tuple[ShiftSetup, ...] | None:
        """An action's shifts, sorted by start, checked like a plan made in the chat."""
        if "shifts" not in item:
            self.error(node, path, _("missing required key '{key}'").format(key="shifts"))
            return None
        list_node, list_path = item["shifts"], join_path(path, "shifts")
        errors = len(self.errors)
        nodes = self.items(list_node, list_path)
        if len(self.errors) > errors:
            return None
        if not 0 < len(nodes) <= MAX_SHIFTS:
            self.error(
                list_node,
                list_path,
                _(
                    "an action needs at least one shift and at most {limit}; this one has {count}"
                ).format(limit=MAX_SHIFTS, count=len(nodes)),
            )
            return None
        shifts: list[tuple[ShiftSetup, Node]] = []
        for index, shift_node in enumerate(nodes):
            shift = self.shift(shift_node, f"{list_path}[{index}]")
            if shift is not None:
                shifts.append((shift, shift_node))
        if len(self.errors) > errors:
            return None
        shifts.sort(key=lambda pair: (pair[0].start, pair[0].end))
        for (earlier, _node), (later, later_node) in pairwise(shifts):
            if later.start < earlier.end:
                self.error(
                    later_node,
                    list_path,
                    _("this shift overlaps the one from {start} to {end}").format(
                        start=f"{earlier.start:%H:%M}", end=f"{earlier.end:%H:%M}"
                    ),
                )
                return None
        plan = [
            field_actions.PlannedShift(shift.start, shift.end, shift.people, shift.label)
            for shift, _node in shifts
        ]
        try:
            field_actions.check_shift_plan(plan)
        except field_actions.ActionError as exc:
            # The checks above cover each reason; this is the chat's rule, kept in step.
            self.error(
                list_node,
                list_path,
                _("the shifts can't be planned ({reason})").format(reason=exc.reason),
            )
            return None
        return tuple(shift for shift, _node in shifts)

    def shift(self, node: Node, path: str) -> ShiftSetup | None:
        """One shift: time "9:30-10:00", people, an optional label."""
        item = self.mapping(node, path, SHIFT_KEYS)
        if item is None:
            return None
        label = self.field_text(item, "label", path, LABEL_LENGTH)
        times = None
        if "time" not in item:
            self.error(node, path, _("missing required key '{key}'").format(key="time"))
        else:
            times = self.time_range(item["time"], join_path(path, "time"))
        people = None
        if "people" not in item:
            self.error(node, path, _("missing required key '{key}'").format(key="people"))
        else:
            people = self.people(item["people"], join_path(path, "people"))
        if times is None or people is None:
            return None
        return ShiftSetup(start=times[0], end=times[1], people=people, label=label)

    def time_range(self, node: Node, path: str) -> tuple[time, time] | None:
        """ "9:30-10:00": a shift's start and end on the same day."""
        value = self.scalar(node, path)
        if value is MISSING and isinstance(node, ScalarNode):
            return None
        parts = _TIME_RANGE.split(node.value.strip()) if isinstance(node, ScalarNode) else []
        try:
            start, end = (field_actions.parse_time(part) for part in parts)
        except (field_actions.ActionError, ValueError):
            self.error(
                node,
                path,
                _('expected a time span like "9:30-10:00", got {what}').format(
                    what=describe(node, value)
                ),
            )
            return None
        if end <= start:
            self.error(
                node,
                path,
                _("the shift must end after it starts, on the same day"),
            )
            return None
        return start, end

    def people(self, node: Node, path: str) -> int | None:
        """How many people a shift needs: a whole number from 1 to MAX_NEEDED."""
        value = self.scalar(node, path)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_NEEDED:
            return value
        if value is not MISSING or not isinstance(node, ScalarNode):
            self.error(
                node,
                path,
                _("expected a number of people from 1 to {limit}, got {what}").format(
                    limit=MAX_NEEDED, what=describe(node, value)
                ),
            )
        return None

    def memorials(self, found: dict[str, Node]) -> tuple[MemorialSetup, ...]:
        """Gedenktage: a yearly rule, why it matters, the KV's event that day."""
        if "memorials" not in found:
            return ()
        memorials: list[MemorialSetup] = []
        first: dict[str, int] = {}
        for index, node in enumerate(self.items(found["memorials"], "memorials")):
            path = f"memorials[{index}]"
            item = self.mapping(node, path, MEMORIAL_KEYS)
            if item is None:
                continue
            name = self.required(item, "name", node, path, NAME_LENGTH)
            key = self.key_or_derived(item, name, node, path)
            rule = self.yearly_rule(item, node, path)
            about = self.field_text(item, "about", path, ABOUT_LENGTH, multiline=True)
            event = None
            if not is_null(item.get("event")):
                event = self.event(item["event"], join_path(path, "event"))
            if name is None or key is None or rule is None:
                continue
            if key in first:
                self.error(node, path, _duplicate("memorials").format(key=key, line=first[key]))
                continue
            first[key] = line_of(node)
            memorials.append(MemorialSetup(key, name, rule, about, event))
        return tuple(memorials)

    def yearly_rule(self, item: dict[str, Node], node: Node, path: str) -> str | None:
        """A memorial's rule: a fixed day, or the n-th or last weekday of a month; no time."""
        text = self.required(item, "rule", node, path, RULE_LENGTH)
        if text is None:
            return None
        phrase = " ".join(text.split())
        rule_node, rule_path = item["rule"], join_path(path, "rule")
        try:
            rule = parse_rule(phrase)
        except RuleError as exc:
            message = _("cannot read rule {rule}: {reason}").format(rule=repr(text), reason=exc)
            self.error(rule_node, rule_path, message)
            return None
        if rule.kind not in _YEARLY:
            self.error(
                rule_node,
                rule_path,
                _(
                    'a Gedenktag recurs yearly: a day like "27.01.", or a weekday of a month '
                    'like "2. Sonntag im September" or "letzter Sonntag im November"'
                ),
            )
            return None
        if rule.time is not None:
            self.error(
                rule_node,
                rule_path,
                _("the rule gives the day only; the time of the KV's event goes under event: time"),
            )
            return None
        return phrase

    def event(self, node: Node, path: str) -> MemorialEvent | None:
        """The KV's own event on a memorial day: time and place, an optional note."""
        item = self.mapping(node, path, EVENT_KEYS)
        if item is None:
            return None
        start = None
        if "time" not in item:
            self.error(node, path, _("missing required key '{key}'").format(key="time"))
        else:
            start = self.clock(item["time"], join_path(path, "time"))
        place = self.required(item, "place", node, path, PLACE_LENGTH)
        note = self.field_text(item, "note", path, NOTE_LENGTH, multiline=True)
        if start is None or place is None:
            return None
        return MemorialEvent(start, place, note)

    def guide(self, found: dict[str, Node]) -> tuple[GuideEntry, ...]:
        """Guide sections, titles unique."""
        if "guide" not in found:
            return ()
        sections: list[GuideEntry] = []
        first: dict[str, int] = {}
        for index, node in enumerate(self.items(found["guide"], "guide")):
            path = f"guide[{index}]"
            item = self.mapping(node, path, GUIDE_KEYS)
            if item is None:
                continue
            title = self.required(item, "title", node, path, NAME_LENGTH)
            text = self.required(item, "text", node, path, LONG_TEXT_LENGTH, multiline=True)
            if title is None or text is None:
                continue
            if title in first:
                self.error(
                    item["title"],
                    join_path(path, "title"),
                    _("duplicate guide title {title} (first on line {line})").format(
                        title=repr(title), line=first[title]
                    ),
                )
                continue
            first[title] = line_of(item["title"])
            sections.append(GuideEntry(title, text))
        return tuple(sections)

    def chats(self, found: dict[str, Node], groups: Sequence[GroupSetup]) -> list[ChatSetup]:
        """Served Telegram groups, chat ids unique, group references checked."""
        if "telegram_groups" not in found:
            return []
        group_keys = [group.key for group in groups]
        chats: list[ChatSetup] = []
        first: dict[int, int] = {}
        for index, node in enumerate(self.items(found["telegram_groups"], "telegram_groups")):
            path = f"telegram_groups[{index}]"
            item = self.mapping(node, path, CHAT_KEYS)
            if item is None:
                continue
            chat_id = self.chat_id(item, node, path)
            title = self.required(item, "title", node, path, NAME_LENGTH)
            group = None
            if not is_null(item.get("group")):
                group = self.reference(item["group"], join_path(path, "group"), "group", group_keys)
            link = self.invite_link(item, path)
            language = self.language(item, path)
            welcome = self.flag(item, "welcome", path, default=True)
            welcome_text = self.welcome_text(item, path)
            approve = self.flag(item, "approve_join_requests", path, default=False)
            if chat_id is None or title is None:
                continue
            if chat_id in first:
                self.error(
                    item["chat_id"],
                    join_path(path, "chat_id"),
                    _("duplicate chat_id {chat_id} (first on line {line})").format(
                        chat_id=chat_id, line=first[chat_id]
                    ),
                )
                continue
            first[chat_id] = line_of(item["chat_id"])
            chats.append(
                ChatSetup(
                    chat_id=chat_id,
                    title=title,
                    group=group,
                    link=link,
                    language=language,
                    welcome=welcome,
                    welcome_text=welcome_text,
                    approve_join_requests=approve,
                )
            )
        return chats

    def invite_link(self, item: dict[str, Node], path: str) -> str | None:
        """A chat's invite link: a t.me address, so members are sent nowhere else."""
        link = self.field_text(item, "link", path, INVITE_LINK_LENGTH)
        if link is not None and not INVITE_LINK.fullmatch(link):
            self.error(
                item["link"],
                join_path(path, "link"),
                _(
                    "link must be a Telegram invite link like https://t.me/+AbCdEf, not {value}"
                ).format(value=repr(link)),
            )
            return None
        return link

    def chat_id(self, item: dict[str, Node], node: Node, path: str) -> int | None:
        """A group's chat id: Telegram gives groups negative ids."""
        if "chat_id" not in item:
            self.error(node, path, _("missing required key '{key}'").format(key="chat_id"))
            return None
        id_node = item["chat_id"]
        value = self.scalar(id_node, join_path(path, "chat_id"))
        if isinstance(value, int) and not isinstance(value, bool) and -BIGINT_MAX <= value < 0:
            return value
        if value is not MISSING or not isinstance(id_node, ScalarNode):
            self.error(
                id_node,
                join_path(path, "chat_id"),
                _("must be a group's negative chat id (like -1001234567890), got {what}").format(
                    what=describe(id_node, value)
                ),
            )
        return None

    def language(self, item: dict[str, Node], path: str) -> str:
        """de or en."""
        if "language" not in item:
            return "de"
        value = self.text(item["language"], join_path(path, "language"), 8)
        if value is not None and value.lower() in LANGUAGES:
            return value.lower()
        if value is not None:
            self.error(
                item["language"],
                join_path(path, "language"),
                _("unsupported language {value} (use {choices})").format(
                    value=repr(value), choices=_(" or ").join(LANGUAGES)
                ),
            )
        return "de"

    def welcome_text(self, item: dict[str, Node], path: str) -> str | None:
        """A custom welcome; only the placeholders the bot fills in are allowed."""
        text = self.field_text(item, "welcome_text", path, LONG_TEXT_LENGTH, multiline=True)
        if text is None:
            return None
        node, text_path = item["welcome_text"], join_path(path, "welcome_text")
        allowed = ", ".join(f"{{{name}}}" for name in WELCOME_PLACEHOLDERS)
        try:
            unknown = unknown_placeholder(text, WELCOME_PLACEHOLDERS)
        except ValueError:
            # Not formatted, so the doubled braces reach the reader as they are to be written.
            self.error(node, text_path, _("unbalanced { or }; write {{ and }} for literal braces"))
            return None
        if unknown is not None:
            self.error(
                node,
                text_path,
                _("unknown placeholder {placeholder} (allowed: {allowed})").format(
                    placeholder=unknown, allowed=allowed
                ),
            )
            return None
        return text


_EntrySection = Literal["districts", "topics", "activity_types"]
_Referenced = Literal["district", "topic", "group", "campaign"]
_ENTRY_SECTION_KEYS = {
    "districts": DISTRICT_KEYS,
    "topics": ENTRY_KEYS,
    "activity_types": ACTIVITY_KEYS,
}


def _duplicate_entry(section: _EntrySection) -> str:
    return {
        "districts": _("duplicate district key '{key}' (first on line {line})"),
        "topics": _("duplicate topic key '{key}' (first on line {line})"),
        "activity_types": _("duplicate activity type key '{key}' (first on line {line})"),
    }[section]


def _unknown_reference(noun: _Referenced) -> str:
    return {
        "district": _("unknown district '{key}' (known: {known})"),
        "topic": _("unknown topic '{key}' (known: {known})"),
        "group": _("unknown group '{key}' (known: {known})"),
        "campaign": _("unknown campaign '{key}' (known: {known})"),
    }[noun]


def _duplicate(section: Literal["campaigns", "actions", "memorials"]) -> str:
    return {
        "campaigns": _("duplicate campaign key '{key}' (first on line {line})"),
        "actions": _("duplicate action key '{key}' (first on line {line})"),
        "memorials": _("duplicate memorial key '{key}' (first on line {line})"),
    }[section]


def _within(day: date, campaign: CampaignSetup) -> bool:
    return (campaign.starts_on is None or day >= campaign.starts_on) and (
        campaign.ends_on is None or day <= campaign.ends_on
    )


def _day_text(day: date) -> str:
    return day.strftime("%d.%m.%Y")
