"""Validating a setup file: the _Reader walks its sections and collects every mistake.

load_setup is the entry point; each error carries the line it is on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from yaml.nodes import MappingNode, Node, ScalarNode

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
    BIGINT_MAX,
    CHAT_KEYS,
    ENTRY_KEYS,
    GROUP_KEYS,
    GUIDE_KEYS,
    LANGUAGES,
    LONG_TEXT_LENGTH,
    PLACE_LENGTH,
    PRIVACY_CONTACT_LENGTH,
    RULE_LENGTH,
    TOP_KEYS,
    ChatSetup,
    Entry,
    GroupSetup,
    GuideEntry,
    Host,
    KvSetup,
    SetupInvalidError,
)
from bot.services.placeholders import WELCOME_PLACEHOLDERS, unknown_placeholder
from bot.services.recurrence import RuleError, parse_rule
from bot.services.translation import gettext as _
from models import GroupType
from models.kv import KEY_LENGTH, NAME_LENGTH

_USERNAME = re.compile(r"^@[A-Za-z0-9_]{5,32}$")

INVITE_LINK_LENGTH = 200
INVITE_LINK = re.compile(r"https://t\.me/[A-Za-z0-9_+/-]{2,190}")


def load_setup_bytes(data: bytes) -> KvSetup:
    """Decode a setup file (UTF-8, at most 1 MB) and validate it like `load_setup`."""
    return load_setup(decode_setup(data))


def load_setup(text: str) -> KvSetup:
    """Validate a setup file's text and return it as a KvSetup.

    Every problem is collected (syntax, unknown or duplicate keys, types, lengths, references
    between sections, meeting rules, welcome placeholders) and raised together as
    SetupInvalidError, each error with the line it is on.
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
            guide=guide,
            telegram_groups=tuple(sorted(chats, key=lambda chat: chat.chat_id)),
        )

    def entries(self, found: dict[str, Node], section: _EntrySection) -> tuple[Entry, ...]:
        """Districts, topics or activity types: each a name, or {key, name}."""
        if section not in found:
            return ()
        entries: list[Entry] = []
        first: dict[str, int] = {}
        for index, node in enumerate(self.items(found[section], section)):
            path = f"{section}[{index}]"
            if isinstance(node, MappingNode):
                item = self.mapping(node, path, ENTRY_KEYS)
                if item is None:
                    continue
                name = self.required(item, "name", node, path, NAME_LENGTH)
                key = self.key_or_derived(item, name, node, path)
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
            entries.append(Entry(key, name))
        return tuple(entries)

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
_Referenced = Literal["district", "topic", "group"]


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
    }[noun]
