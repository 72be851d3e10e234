"""The KV's setup as one YAML file: validate it, apply it to the database, export it again.

An organiser keeps Stadtteile, topics, activity types, groups, the guide and the served Telegram
groups in one file (format: examples/kv-musterstadt.yaml). `load_setup` reads it into plain frozen
dataclasses and reports every mistake at once with its line; `apply_setup` brings the database in
line with it inside the caller's transaction; `export_setup` writes the stored state back in a
normalised form, so import -> export -> import changes nothing.

Messages are English on purpose: this is an admin tool run from a shell, not bot text.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.services.placeholders import WELCOME_PLACEHOLDERS, unknown_placeholder
from bot.services.recurrence import RuleError, format_rule, parse_rule
from models import (
    ActivityType,
    District,
    Group,
    GroupHost,
    GroupType,
    GuideSection,
    KvProfile,
    ServedChat,
    Topic,
)
from models.kv import KEY_LENGTH, NAME_LENGTH

MAX_FILE_BYTES = 1024 * 1024
# Column sizes not exported by models.kv (String(200) there).
PLACE_LENGTH = 200
RULE_LENGTH = 200
PRIVACY_CONTACT_LENGTH = 200
# Texts go out as single Telegram messages (4096 characters at most, with some room for the
# bot's own framing), so longer ones would fail only when a member asks for them.
LONG_TEXT_LENGTH = 4000
LANGUAGES = ("de", "en")
PROFILE_ID = 1
# Telegram ids are stored as BIGINT; anything outside would only fail at commit time.
BIGINT_MAX = 2**63 - 1

_USERNAME = re.compile(r"^@[A-Za-z0-9_]{5,32}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_YAML_TAG_PREFIX = "tag:yaml.org,2002:"

_TOP_KEYS = (
    "name",
    "privacy_contact",
    "districts",
    "topics",
    "activity_types",
    "groups",
    "guide",
    "telegram_groups",
)
_ENTRY_KEYS = ("key", "name")
_GROUP_KEYS = (
    "key",
    "name",
    "type",
    "district",
    "topics",
    "meets",
    "place",
    "hosts",
    "newcomer_friendly",
    "open_to_non_members",
    "description",
)
_GUIDE_KEYS = ("title", "text")
_CHAT_KEYS = (
    "chat_id",
    "title",
    "group",
    "language",
    "welcome",
    "welcome_text",
    "approve_join_requests",
)


# ---------------------------------------------------------------------------------------------
# The setup as plain values


@dataclass(frozen=True, slots=True)
class Entry:
    """A district, topic or activity type: a stable key and the name members see."""

    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Host:
    """A group's host: a numeric Telegram id or a lower-cased username without the "@"."""

    telegram_id: int | None = None
    username: str | None = None

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else str(self.telegram_id)


@dataclass(frozen=True, slots=True)
class GroupSetup:
    """A Stammtisch, Basisgruppe or AG; `meets` is the canonical rule text (format_rule)."""

    key: str
    name: str
    type: GroupType
    district: str | None = None
    topics: tuple[str, ...] = ()
    meets: str | None = None
    place: str | None = None
    hosts: tuple[Host, ...] = ()
    newcomer_friendly: bool = False
    open_to_non_members: bool = False
    description: str | None = None


@dataclass(frozen=True, slots=True)
class GuideEntry:
    """One section of "how our KV works"."""

    title: str
    text: str


@dataclass(frozen=True, slots=True)
class ChatSetup:
    """A Telegram group the bot serves."""

    chat_id: int
    title: str
    group: str | None = None
    language: str = "de"
    welcome: bool = True
    welcome_text: str | None = None
    approve_join_requests: bool = False


@dataclass(frozen=True, slots=True)
class KvSetup:
    """A whole, validated setup file in normalised form.

    Group topics follow the order of the topics section and served chats are sorted by chat id,
    because the database keeps no order for either; everything else keeps the file's order.
    """

    name: str
    privacy_contact: str | None = None
    districts: tuple[Entry, ...] = ()
    topics: tuple[Entry, ...] = ()
    activity_types: tuple[Entry, ...] = ()
    groups: tuple[GroupSetup, ...] = ()
    guide: tuple[GuideEntry, ...] = ()
    telegram_groups: tuple[ChatSetup, ...] = ()


@dataclass(frozen=True, slots=True)
class SetupError:
    """One mistake in a setup file, with its 1-based line."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class SetupInvalidError(ValueError):
    """The setup file has mistakes; `errors` lists all of them, ordered by line."""

    def __init__(self, errors: list[SetupError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


class NothingToExportError(LookupError):
    """No setup has been imported yet, so there is no KV to export."""


# ---------------------------------------------------------------------------------------------
# Reading and validating


def derive_key(name: str) -> str:
    """The key a name gets when the file gives none: "Süd-Ost / Altstadt" -> "sued-ost-altstadt"."""
    text = name.lower().translate(_UMLAUTS)
    # Other accents are dropped rather than the letters ("Café" -> "cafe").
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    key = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return key[:KEY_LENGTH].rstrip("-")


def load_setup_bytes(data: bytes) -> KvSetup:
    """Decode a setup file (UTF-8, at most 1 MB) and validate it like `load_setup`."""
    if len(data) > MAX_FILE_BYTES:
        raise SetupInvalidError([SetupError(1, _too_large(len(data)))])
    try:
        # A byte order mark is still UTF-8; some Windows editors write one.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = (
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        )
        raise SetupInvalidError([SetupError(line, message)]) from None
    return load_setup(text)


def load_setup(text: str) -> KvSetup:
    """Validate a setup file's text and return it as a KvSetup.

    Every problem is collected (syntax, unknown or duplicate keys, types, lengths, references
    between sections, meeting rules, welcome placeholders) and raised together as
    SetupInvalidError, each error with the line it is on.
    """
    # Characters never outnumber bytes, so only a short text needs encoding to be measured.
    size = len(text) if len(text) > MAX_FILE_BYTES else len(text.encode("utf-8", "replace"))
    if size > MAX_FILE_BYTES:
        raise SetupInvalidError([SetupError(1, _too_large(size))])
    if not text.strip():
        raise SetupInvalidError([SetupError(1, "the file is empty; it needs at least 'name:'")])
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise SetupInvalidError([_syntax_error(exc)]) from None
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", 0)
        line = text[:position].count("\n") + 1
        raise SetupInvalidError([SetupError(line, f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise SetupInvalidError([SetupError(1, "invalid YAML: nested too deeply")]) from None
    if root is None:
        raise SetupInvalidError([SetupError(1, "the file is empty; it needs at least 'name:'")])
    reader = _Reader()
    setup = reader.setup(root)
    if reader.errors or setup is None:
        raise SetupInvalidError(sorted(reader.errors, key=lambda error: error.line))
    return setup


def _too_large(size: int) -> str:
    return f"the file is too large ({size} bytes, at most {MAX_FILE_BYTES} bytes = 1 MB)"


def _syntax_error(exc: yaml.MarkedYAMLError) -> SetupError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    problem = exc.problem or "cannot be read"
    context = ""
    if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
        context = f" ({exc.context} on line {exc.context_mark.line + 1})"
    return SetupError(line, f"invalid YAML: {problem}{context}")


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases: an alias would be one node in several places, which no
    part of the format needs, and nested aliases can blow a small file up exponentially."""

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                f"aliases (*{event.anchor}) are not supported; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)  # type: ignore[no-any-return]


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(node: Node, value: object) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return repr(value)
    return f"{type(value).__name__} {value}"


def _is_null(node: Node | None) -> bool:
    """Absent or written as null/~/nothing."""
    return node is None or (isinstance(node, ScalarNode) and node.tag == _YAML_TAG_PREFIX + "null")


def _normalise_text(value: str, *, multiline: bool) -> str:
    if not multiline:
        return value.strip()
    # Trailing spaces are invisible in a message and would force quoted style on export.
    return "\n".join(line.rstrip() for line in value.strip().splitlines())


_MISSING = object()


class _Reader:
    """Walks the composed YAML nodes, collecting every error instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[SetupError] = []
        self._constructor = SafeConstructor()

    def error(self, node: Node, path: str, message: str) -> None:
        self.errors.append(SetupError(_line(node), f"{path}: {message}" if path else message))

    # --- generic shapes ------------------------------------------------------------------

    def scalar(self, node: Node, path: str) -> object:
        """The node's Python value; _MISSING (after an error) for lists, mappings, bad tags."""
        if not isinstance(node, ScalarNode):
            return _MISSING
        if not node.tag.startswith(_YAML_TAG_PREFIX):
            self.error(node, path, f"unsupported tag {node.tag}")
            return _MISSING
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            self.error(node, path, f"cannot read {node.value!r}: {exc}".splitlines()[0])
            return _MISSING

    def mapping(self, node: Node, path: str, allowed: Sequence[str]) -> dict[str, Node] | None:
        """The mapping's values by key; unknown and repeated keys are errors."""
        if not isinstance(node, MappingNode):
            what = _describe(node, self.scalar(node, path))
            self.error(node, path, f"expected a mapping ({', '.join(allowed)}), got {what}")
            return None
        found: dict[str, Node] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, path)
            if not isinstance(key, str):
                # A bad scalar was reported by scalar(); a list or mapping as key was not.
                if key is not _MISSING or not isinstance(key_node, ScalarNode):
                    self.error(key_node, path, f"keys must be text, got {_describe(key_node, key)}")
                continue
            if key in found:
                self.error(key_node, _at(path, key), f"duplicate key (first on line {lines[key]})")
                continue
            if key not in allowed:
                self.error(key_node, path, _unknown_key(key, allowed))
                continue
            found[key] = value_node
            lines[key] = _line(key_node)
        return found

    def items(self, node: Node, path: str) -> list[Node]:
        """A list's items; null counts as an empty list."""
        if isinstance(node, SequenceNode):
            return list(node.value)
        value = self.scalar(node, path)
        if value is None or (value is _MISSING and isinstance(node, ScalarNode)):
            return []
        self.error(node, path, f"expected a list, got {_describe(node, value)}")
        return []

    def text(
        self,
        node: Node,
        path: str,
        max_length: int,
        *,
        optional: bool = False,
        multiline: bool = False,
    ) -> str | None:
        """Stripped, non-empty text within max_length; None after an error (or null if optional)."""
        value = self.scalar(node, path)
        if value is _MISSING and isinstance(node, ScalarNode):
            return None
        if value is None and optional:
            return None
        if value is None:
            self.error(node, path, "must not be empty")
            return None
        if not isinstance(value, str):
            self.error(node, path, f"expected text, got {_describe(node, value)}")
            return None
        text = _normalise_text(value, multiline=multiline)
        if not text:
            self.error(node, path, "must not be empty" + (" (leave it out)" if optional else ""))
            return None
        if not multiline and "\n" in text:
            self.error(node, path, "must be a single line")
            return None
        if len(text) > max_length:
            self.error(node, path, f"too long ({len(text)} characters, at most {max_length})")
            return None
        return text

    def field_text(
        self,
        found: dict[str, Node],
        key: str,
        path: str,
        max_length: int,
        *,
        multiline: bool = False,
    ) -> str | None:
        """An optional text field; absent or null gives None."""
        if key not in found:
            return None
        return self.text(found[key], _at(path, key), max_length, optional=True, multiline=multiline)

    def required(
        self,
        found: dict[str, Node],
        key: str,
        node: Node,
        path: str,
        max_length: int,
        *,
        multiline: bool = False,
    ) -> str | None:
        """A required text field; missing is an error on the mapping's line."""
        if key not in found:
            self.error(node, path, f"missing required key '{key}'")
            return None
        return self.text(found[key], _at(path, key), max_length, multiline=multiline)

    def flag(self, found: dict[str, Node], key: str, path: str, *, default: bool) -> bool:
        """A boolean field: real YAML booleans only, so "yes please" can't pass as true."""
        if key not in found:
            return default
        node = found[key]
        value = self.scalar(node, _at(path, key))
        if isinstance(value, bool):
            return value
        if value is not _MISSING or not isinstance(node, ScalarNode):
            self.error(
                node, _at(path, key), f"expected true or false, got {_describe(node, value)}"
            )
        return default

    def key(self, node: Node, path: str) -> str | None:
        """An explicit key: lower-case letters, digits, "-" and "_"."""
        value = self.text(node, path, KEY_LENGTH)
        if value is None:
            return None
        if not _KEY.fullmatch(value):
            self.error(
                node,
                path,
                f"key {value!r} may only use a-z, 0-9, '-' and '_' (e.g. {derive_key(value)!r})",
            )
            return None
        return value

    def key_or_derived(
        self, found: dict[str, Node], name: str | None, node: Node, path: str
    ) -> str | None:
        """The explicit key, or the one derived from the name."""
        if "key" in found:
            return self.key(found["key"], _at(path, "key"))
        if name is None:
            return None
        derived = derive_key(name)
        if not derived:
            self.error(node, path, f"cannot derive a key from {name!r}; give one with 'key:'")
            return None
        return derived

    # --- sections ------------------------------------------------------------------------

    def setup(self, root: Node) -> KvSetup | None:
        """The whole file; None when it isn't even a mapping."""
        if not isinstance(root, MappingNode):
            what = _describe(root, self.scalar(root, ""))
            self.error(root, "", f"the file must be a mapping (name:, districts:, ...), not {what}")
            return None
        found = self.mapping(root, "", _TOP_KEYS) or {}
        name = self.required(found, "name", root, "", NAME_LENGTH)
        privacy = self.field_text(found, "privacy_contact", "", PRIVACY_CONTACT_LENGTH)
        districts = self.entries(found, "districts", "district")
        topics = self.entries(found, "topics", "topic")
        activity_types = self.entries(found, "activity_types", "activity type")
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

    def entries(self, found: dict[str, Node], section: str, noun: str) -> tuple[Entry, ...]:
        """Districts, topics or activity types: each a name, or {key, name}."""
        if section not in found:
            return ()
        entries: list[Entry] = []
        first: dict[str, int] = {}
        for index, node in enumerate(self.items(found[section], section)):
            path = f"{section}[{index}]"
            if isinstance(node, MappingNode):
                item = self.mapping(node, path, _ENTRY_KEYS)
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
                self.error(node, path, f"duplicate {noun} key '{key}' (first on line {first[key]})")
                continue
            first[key] = _line(node)
            entries.append(Entry(key, name))
        return tuple(entries)

    def reference(self, node: Node, path: str, noun: str, known: Iterable[str]) -> str | None:
        """A key naming an entry of another section."""
        value = self.text(node, path, KEY_LENGTH)
        if value is None:
            return None
        choices = list(known)
        if value not in choices:
            listed = ", ".join(choices) if choices else "none"
            self.error(node, path, f"unknown {noun} '{value}' (known: {listed})")
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
            item = self.mapping(node, path, _GROUP_KEYS)
            if item is None:
                continue
            name = self.required(item, "name", node, path, NAME_LENGTH)
            key = self.key_or_derived(item, name, node, path)
            kind = self.group_type(item, node, path)
            district = None
            if not _is_null(item.get("district")):
                district = self.reference(
                    item["district"], _at(path, "district"), "district", district_keys
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
                self.error(node, path, f"duplicate group key '{key}' (first on line {first[key]})")
                continue
            first[key] = _line(node)
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
            self.error(item["type"], _at(path, "type"), f"unknown group type {value!r} ({kinds})")
            return None

    def group_topics(
        self, item: dict[str, Node], path: str, topic_order: dict[str, int]
    ) -> tuple[str, ...]:
        """Topic keys of a group, in the order of the topics section."""
        if "topics" not in item:
            return ()
        keys: list[str] = []
        for index, node in enumerate(self.items(item["topics"], _at(path, "topics"))):
            topic_path = f"{_at(path, 'topics')}[{index}]"
            key = self.reference(node, topic_path, "topic", topic_order)
            if key is None:
                continue
            if key in keys:
                self.error(node, topic_path, f"topic '{key}' is listed twice")
                continue
            keys.append(key)
        return tuple(sorted(keys, key=topic_order.__getitem__))

    def meets(self, item: dict[str, Node], path: str) -> str | None:
        """The meeting rule, checked by the recurrence parser and stored in canonical form."""
        text = self.field_text(item, "meets", path, RULE_LENGTH)
        if text is None:
            return None
        try:
            canonical = format_rule(parse_rule(text))
        except RuleError as exc:
            self.error(item["meets"], _at(path, "meets"), f"cannot read rule {text!r}: {exc}")
            return None
        if len(canonical) > RULE_LENGTH:
            self.error(item["meets"], _at(path, "meets"), "rule is too long")
            return None
        return canonical

    def hosts(self, item: dict[str, Node], path: str) -> tuple[Host, ...]:
        """Hosts: numeric Telegram ids or @usernames, each at most once."""
        if "hosts" not in item:
            return ()
        hosts: list[Host] = []
        for index, node in enumerate(self.items(item["hosts"], _at(path, "hosts"))):
            host_path = f"{_at(path, 'hosts')}[{index}]"
            host = self.host(node, host_path)
            if host is None:
                continue
            if host in hosts:
                self.error(node, host_path, f"host {host} is listed twice")
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
        if value is not _MISSING or not isinstance(node, ScalarNode):
            self.error(
                node,
                path,
                "a host is a numeric Telegram id or an @username (5-32 letters, digits or _), "
                f"not {_describe(node, value)}",
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
            item = self.mapping(node, path, _GUIDE_KEYS)
            if item is None:
                continue
            title = self.required(item, "title", node, path, NAME_LENGTH)
            text = self.required(item, "text", node, path, LONG_TEXT_LENGTH, multiline=True)
            if title is None or text is None:
                continue
            if title in first:
                self.error(
                    item["title"],
                    _at(path, "title"),
                    f"duplicate guide title {title!r} (first on line {first[title]})",
                )
                continue
            first[title] = _line(item["title"])
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
            item = self.mapping(node, path, _CHAT_KEYS)
            if item is None:
                continue
            chat_id = self.chat_id(item, node, path)
            title = self.required(item, "title", node, path, NAME_LENGTH)
            group = None
            if not _is_null(item.get("group")):
                group = self.reference(item["group"], _at(path, "group"), "group", group_keys)
            language = self.language(item, path)
            welcome = self.flag(item, "welcome", path, default=True)
            welcome_text = self.welcome_text(item, path)
            approve = self.flag(item, "approve_join_requests", path, default=False)
            if chat_id is None or title is None:
                continue
            if chat_id in first:
                self.error(
                    item["chat_id"],
                    _at(path, "chat_id"),
                    f"duplicate chat_id {chat_id} (first on line {first[chat_id]})",
                )
                continue
            first[chat_id] = _line(item["chat_id"])
            chats.append(
                ChatSetup(
                    chat_id=chat_id,
                    title=title,
                    group=group,
                    language=language,
                    welcome=welcome,
                    welcome_text=welcome_text,
                    approve_join_requests=approve,
                )
            )
        return chats

    def chat_id(self, item: dict[str, Node], node: Node, path: str) -> int | None:
        """A group's chat id: Telegram gives groups negative ids."""
        if "chat_id" not in item:
            self.error(node, path, "missing required key 'chat_id'")
            return None
        id_node = item["chat_id"]
        value = self.scalar(id_node, _at(path, "chat_id"))
        if isinstance(value, int) and not isinstance(value, bool) and -BIGINT_MAX <= value < 0:
            return value
        if value is not _MISSING or not isinstance(id_node, ScalarNode):
            self.error(
                id_node,
                _at(path, "chat_id"),
                "must be a group's negative chat id (like -1001234567890), "
                f"got {_describe(id_node, value)}",
            )
        return None

    def language(self, item: dict[str, Node], path: str) -> str:
        """de or en."""
        if "language" not in item:
            return "de"
        value = self.text(item["language"], _at(path, "language"), 8)
        if value is not None and value.lower() in LANGUAGES:
            return value.lower()
        if value is not None:
            self.error(
                item["language"],
                _at(path, "language"),
                f"unsupported language {value!r} (use {' or '.join(LANGUAGES)})",
            )
        return "de"

    def welcome_text(self, item: dict[str, Node], path: str) -> str | None:
        """A custom welcome; only the placeholders the bot fills in are allowed."""
        text = self.field_text(item, "welcome_text", path, LONG_TEXT_LENGTH, multiline=True)
        if text is None:
            return None
        node, text_path = item["welcome_text"], _at(path, "welcome_text")
        allowed = ", ".join(f"{{{name}}}" for name in WELCOME_PLACEHOLDERS)
        try:
            unknown = unknown_placeholder(text, WELCOME_PLACEHOLDERS)
        except ValueError:
            self.error(node, text_path, "unbalanced { or }; write {{ and }} for literal braces")
            return None
        if unknown is not None:
            self.error(node, text_path, f"unknown placeholder {unknown} (allowed: {allowed})")
            return None
        return text


def _unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key '{key}' (did you mean '{close[0]}'?)"
    return f"unknown key '{key}' (allowed: {', '.join(allowed)})"


# ---------------------------------------------------------------------------------------------
# Applying


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

    For groups, `removed` counts groups set inactive and `added` includes re-activated ones.
    """

    profile: SectionChanges = field(default_factory=SectionChanges)
    districts: SectionChanges = field(default_factory=SectionChanges)
    topics: SectionChanges = field(default_factory=SectionChanges)
    activity_types: SectionChanges = field(default_factory=SectionChanges)
    groups: SectionChanges = field(default_factory=SectionChanges)
    guide: SectionChanges = field(default_factory=SectionChanges)
    telegram_groups: SectionChanges = field(default_factory=SectionChanges)

    @property
    def changed(self) -> bool:
        """Whether the import changed anything at all."""
        return any(getattr(self, section.name).changed for section in fields(self))

    def lines(self) -> list[str]:
        """One line per section, e.g. "districts        1 added, 2 updated, 0 removed"."""
        result = []
        for section in fields(self):
            changes: SectionChanges = getattr(self, section.name)
            removed = "deactivated" if section.name == "groups" else "removed"
            result.append(
                f"{section.name:<16} {changes.added} added, {changes.updated} updated, "
                f"{changes.removed} {removed}"
            )
        return result


def _assign(row: object, **values: object) -> bool:
    """Set the attributes that differ; returns whether any did. Untouched rows get no UPDATE."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


EntryModel = type[District] | type[Topic] | type[ActivityType]


async def _sync_entries(
    session: AsyncSession, model: EntryModel, entries: Sequence[Entry]
) -> tuple[dict[str, Any], list[Any], SectionChanges]:
    """Add and update entries by key; returns them by key, the stale rows and the counts.

    Stale rows are only deleted once the groups no longer point at them.
    """
    rows = {row.key: row for row in (await session.scalars(select(model))).all()}
    current: dict[str, Any] = {}
    added = updated = 0
    for position, entry in enumerate(entries):
        row = rows.get(entry.key)
        if row is None:
            row = model(key=entry.key, name=entry.name, position=position)
            session.add(row)
            added += 1
        elif _assign(row, name=entry.name, position=position):
            updated += 1
        current[entry.key] = row
    stale = [row for key, row in rows.items() if key not in current]
    return current, stale, SectionChanges(added, updated, len(stale))


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


def _host_pairs(hosts: Iterable[GroupHost]) -> list[tuple[int | None, str | None]]:
    return [(host.telegram_id, host.username) for host in sorted(hosts, key=lambda h: h.id)]


def _new_hosts(hosts: Sequence[Host]) -> list[GroupHost]:
    return [GroupHost(telegram_id=host.telegram_id, username=host.username) for host in hosts]


async def apply_setup(session: AsyncSession, setup: KvSetup) -> ChangeSummary:
    """Bring the database in line with setup, inside the caller's transaction (no commit).

    Entries are matched by key (guide sections by title, served chats by chat id): new ones are
    added, changed ones updated, positions follow the file. Districts, topics, activity types,
    guide sections and served chats missing from the file are deleted; groups missing from it are
    set inactive so members' history stays, and become active again when they come back. Hosts
    are replaced per group when they differ. Rows that already match are not written, so applying
    the same setup twice issues no INSERT, UPDATE or DELETE the second time. A served chat's
    last_welcome_message_id is left alone. Flushes at the end, so database errors surface here.
    Raises ValueError for references that don't resolve (load_setup never returns such a setup).
    """
    _check_references(setup)

    profile = await session.get(KvProfile, PROFILE_ID)
    if profile is None:
        session.add(
            KvProfile(id=PROFILE_ID, name=setup.name, privacy_contact=setup.privacy_contact)
        )
        profile_changes = SectionChanges(added=1)
    elif _assign(profile, name=setup.name, privacy_contact=setup.privacy_contact):
        profile_changes = SectionChanges(updated=1)
    else:
        profile_changes = SectionChanges()

    districts, stale_districts, district_changes = await _sync_entries(
        session, District, setup.districts
    )
    topics, stale_topics, topic_changes = await _sync_entries(session, Topic, setup.topics)
    _activity, stale_activity, activity_changes = await _sync_entries(
        session, ActivityType, setup.activity_types
    )

    groups, group_changes = await _sync_groups(session, setup.groups, districts, topics)
    guide_changes = await _sync_guide(session, setup.guide)
    chat_changes = await _sync_chats(session, setup.telegram_groups, groups)

    for row in (*stale_districts, *stale_topics, *stale_activity):
        await session.delete(row)
    await session.flush()
    return ChangeSummary(
        profile=profile_changes,
        districts=district_changes,
        topics=topic_changes,
        activity_types=activity_changes,
        groups=group_changes,
        guide=guide_changes,
        telegram_groups=chat_changes,
    )


async def _sync_groups(
    session: AsyncSession,
    specs: Sequence[GroupSetup],
    districts: dict[str, District],
    topics: dict[str, Topic],
) -> tuple[dict[str, Group], SectionChanges]:
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

    for key, group in rows.items():
        if key in current:
            continue
        if group.active:
            group.active = False
            removed += 1
        # An inactive group may still point at a district or topic this import deletes.
        if group.district is not None and group.district.key not in districts:
            group.district = None
        kept = [topic for topic in group.topics if topic.key in topics]
        if len(kept) != len(group.topics):
            group.topics = kept
    return current, SectionChanges(added, updated, removed)


def _update_group(
    group: Group,
    spec: GroupSetup,
    values: dict[str, object],
    district: District | None,
    topics: list[Topic],
) -> bool:
    """Bring an existing group (re-activated if need be) in line; returns whether it changed."""
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


# ---------------------------------------------------------------------------------------------
# Exporting


async def read_setup(session: AsyncSession) -> KvSetup:
    """The stored setup as a KvSetup (active groups only); NothingToExportError before the
    first import."""
    profile = await session.get(KvProfile, PROFILE_ID)
    if profile is None:
        raise NothingToExportError("no KV setup has been imported yet")

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
        meets=_canonical_rule(group.rule),
        place=group.place,
        hosts=tuple(
            Host(telegram_id=None if host.username else host.telegram_id, username=host.username)
            for host in sorted(group.hosts, key=lambda host: host.id)
        ),
        newcomer_friendly=group.newcomer_friendly,
        open_to_non_members=group.open_to_non_members,
        description=group.description,
    )


def _canonical_rule(rule: str | None) -> str | None:
    if rule is None:
        return None
    try:
        return format_rule(parse_rule(rule))
    except RuleError:
        # Written by something other than the import; exported as it is for a human to fix.
        return rule


async def export_setup(session: AsyncSession) -> str:
    """The stored setup as YAML in the import format; load_setup reads it back unchanged.

    Keys come in a fixed order, only active groups are included, meeting rules are canonical,
    multi-line texts use literal blocks and umlauts stay readable. Raises NothingToExportError
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
