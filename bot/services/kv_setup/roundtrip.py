"""Exporting into the file last imported: its comments and layout kept, its values updated.

An organiser's setup file explains itself in comments; an export that drops them is an export
nobody wants to edit. So the import keeps the file's text, and the export loads it with
ruamel.yaml's round-trip loader and changes only what differs from the database: scalars that
now mean something else, entries added (appended in the database's order) or removed, and the
order of the kept ones. What the file says in other words but means the same ("type: AG",
"newcomer_friendly: yes") stays as written.

ruamel.yaml attaches a comment to the node before it, so a comment line between two entries
travels with the entry above it; the comment after a list (usually the heading of the next
section) stays at the end of the list whatever happens to its entries.
"""

from __future__ import annotations

import copy
import io
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import (
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

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
from bot.services.kv_setup.reader import load_setup
from bot.services.kv_setup.schema import (
    ACTION_KEYS,
    CAMPAIGN_KEYS,
    CHAT_KEYS,
    GROUP_KEYS,
    GUIDE_KEYS,
    MEMORIAL_KEYS,
    TOP_KEYS,
    ActionSetup,
    CampaignSetup,
    ChatSetup,
    Entry,
    GroupSetup,
    GuideEntry,
    KvSetup,
    MemorialSetup,
    SetupInvalidError,
    derive_key,
)

logger = logging.getLogger(__name__)

_STR_TAG = "tag:yaml.org,2002:str"
# The export's own layout, for files without a list to guess the indentation from.
_MAPPING_INDENT, _SEQUENCE_INDENT, _SEQUENCE_OFFSET = 2, 4, 2

# "  - text: |" or "description: >-": a key whose value is a block scalar.
_BLOCK_SCALAR_HEAD = re.compile(r"^[ ]*(?:-[ ]+)*(?P<key>[a-z_]+):[ ]+[|>][-+0-9]*[ ]*(?:#.*)?$")

_Spec = TypeVar(
    "_Spec", Entry, GroupSetup, GuideEntry, ChatSetup, CampaignSetup, ActionSetup, MemorialSetup
)
# An entry written as a mapping: every key any of the three entry sections allows, in order.
_ENTRY_ORDER = ("key", "name", "neighbours", "action")


class _CannotMergeError(Exception):
    """The stored file and the setup it was read as don't line up (the reader changed since)."""


def update_source(source: str, setup: KvSetup) -> str | None:
    """source, a setup file's text, brought in line with setup, its comments kept.

    The text comes back unchanged when it already means setup. None when it can't be done
    faithfully (the file no longer reads, or the result would not read back as setup); the
    caller then writes the plain export instead.
    """
    source = source.replace("\r\n", "\n")
    try:
        old = load_setup(source)
    except SetupInvalidError:
        return None
    if old == setup:
        return source
    try:
        text = _updated(source, old, setup)
    except (YAMLError, _CannotMergeError):
        return None
    except Exception:
        # Keeping comments is a nicety; a surprise in ruamel must not cost the export.
        logger.warning(
            "the kept setup file could not be updated; exporting the plain form", exc_info=True
        )
        return None
    if text is None:
        return None
    # The promise of every export: reading it gives the database's state. A case this module
    # gets wrong costs the comments, never a value.
    try:
        if load_setup(text) != setup:
            return None
    except SetupInvalidError:
        return None
    return text


def _updated(source: str, old: KvSetup, new: KvSetup) -> str | None:
    yaml_rt = _round_trip(source)
    document = yaml_rt.load(source)
    if not isinstance(document, CommentedMap):
        return None
    with _tail_kept(document):
        _update_document(document, old, new)
    out = io.StringIO()
    yaml_rt.dump(document, out)
    return out.getvalue()


def _round_trip(source: str) -> YAML:
    """ruamel's round-trip YAML, indenting the way source does (ruamel can't tell by itself)."""
    yaml_rt = YAML()  # round-trip: comments, key order, quoting and flow style are kept
    yaml_rt.preserve_quotes = True
    # Long lines stay long, as in the plain export.
    yaml_rt.width = 1 << 20
    _, sequence, offset = load_yaml_guess_indent(source)
    if sequence is None or offset is None:
        sequence, offset = _SEQUENCE_INDENT, _SEQUENCE_OFFSET
    yaml_rt.indent(mapping=_block_scalar_indent(source), sequence=sequence, offset=offset)
    return yaml_rt


def _block_scalar_indent(source: str) -> int:
    """How far the file indents a "|" text under its key; a mapping's indent is the same thing
    to ruamel (a memorial's event is the one nested mapping, indented alike)."""
    lines = source.splitlines()
    for number, line in enumerate(lines[:-1]):
        head = _BLOCK_SCALAR_HEAD.match(line)
        body = lines[number + 1]
        if head and body.strip():
            indent = len(body) - len(body.lstrip(" ")) - head.start("key")
            if indent > 0:
                return indent
    return _MAPPING_INDENT


# ---------------------------------------------------------------------------------------------
# Values as ruamel nodes, written the way the plain export writes them


def _node(value: object) -> Any:
    """A value of the export's form (form.py) as a ruamel value in the same style."""
    if isinstance(value, dict):
        mapping = CommentedMap((key, _node(item)) for key, item in value.items())
        if isinstance(value, FlowMap):
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(_node(item) for item in value)
        if isinstance(value, FlowList):
            sequence.fa.set_flow_style()
        return sequence
    if isinstance(value, str):
        return _text(value)
    return value


def _text(value: str) -> str:
    if "\n" in value:
        # Stored without the final newline; "|" (clip) reads back to the same text.
        return LiteralScalarString(value + "\n")
    # ruamel reads YAML 1.2, the import PyYAML's 1.1: "yes", "19:00" or "0o7" are text to the
    # one and not to the other, so whatever PyYAML would not read as text gets quotes.
    if yaml.resolver.Resolver().resolve(yaml.ScalarNode, value, (True, False)) != _STR_TAG:
        return SingleQuotedScalarString(value)
    return value


# ---------------------------------------------------------------------------------------------
# Comments after a value
#
# ruamel keeps what follows a value up to the next one (an end-of-line comment, blank lines,
# whole comment lines) as one token on the node before. When entries move or go, the part after
# the end of the line (blank lines, the next section's heading) has to stay where it was.


@dataclass(slots=True)
class _Slot:
    """Where the comment after one value lives: ruamel's comment list and the index in it."""

    comments: list[Any]
    index: int
    # After a block scalar ("|") the value's own line break is part of it, not of the comment.
    after_block_scalar: bool

    def pop_rest(self) -> CommentToken | None:
        """Take what follows the value's line (the end-of-line comment stays)."""
        token = self.comments[self.index]
        if token is None:
            return None
        rest = copy.copy(token)
        if self.after_block_scalar:
            self.comments[self.index] = None
            return rest
        own, _, rest.value = token.value.partition("\n")
        if own:
            token.value = own + "\n"
        else:
            self.comments[self.index] = None
        return rest if rest.value else None

    def add_rest(self, rest: CommentToken | None) -> None:
        """Put what pop_rest took after this value's line, after what is there already."""
        if rest is None:
            return
        token = self.comments[self.index]
        if token is not None:
            token.value += rest.value
            return
        if not self.after_block_scalar:
            rest.value = "\n" + rest.value
        self.comments[self.index] = rest


def _is_block(node: Any) -> bool:
    """A non-empty list or mapping written over several lines."""
    return (
        isinstance(node, CommentedMap | CommentedSeq) and len(node) > 0 and not node.fa.flow_style()
    )


def _slot(container: CommentedMap | CommentedSeq, key: Any) -> _Slot:
    """The slot after container[key], inside the value when that is a block list or mapping."""
    value = container[key]
    while _is_block(value):
        container, key = value, next(reversed(value)) if isinstance(value, dict) else len(value) - 1
        value = container[key]
    # ruamel's comment lists have four places; a mapping's value comment is the third.
    comments = container.ca.items.setdefault(key, [None] * 4)
    index = 2 if isinstance(container, CommentedMap) else 0
    block_scalar = isinstance(value, LiteralScalarString | FoldedScalarString)
    return _Slot(comments, index, block_scalar)


def _last(container: CommentedMap | CommentedSeq) -> Any:
    return next(reversed(container)) if isinstance(container, CommentedMap) else len(container) - 1


@contextmanager
def _tail_kept(node: Any) -> Iterator[None]:
    """What follows node (blank lines, the next section's heading) stays after its end."""
    if not _is_block(node):
        yield
        return
    rest = _slot(node, _last(node)).pop_rest()
    yield
    if len(node):
        _slot(node, _last(node)).add_rest(rest)


def _delete(mapping: CommentedMap, key: str) -> None:
    """Drop key; the lines after its value (a heading of what follows) go to the key before."""
    keys = list(mapping)
    rest = _slot(mapping, key).pop_rest()
    del mapping[key]
    position = keys.index(key)
    if position > 0:
        _slot(mapping, keys[position - 1]).add_rest(rest)


# ---------------------------------------------------------------------------------------------
# Bringing the document in line


def _put(mapping: CommentedMap, key: str, value: object, order: Sequence[str]) -> None:
    """Set key; a new key goes where the export's key order puts it among the present ones."""
    if key in mapping:
        mapping[key] = value
        return
    rank = order.index(key)
    position = 0
    for index, present in enumerate(mapping):
        if present in order and order.index(present) < rank:
            position = index + 1
    mapping.insert(position, key, value)


def _update_fields(
    mapping: CommentedMap, old: object, new: object, out: dict[str, object], order: Sequence[str]
) -> None:
    """Write the fields where old and new differ, as the export would; drop those it omits.

    The file's keys are the dataclasses' field names; the first key is the identity, which
    matched already.
    """
    for key in order[1:]:
        if getattr(old, key) == getattr(new, key):
            continue
        if key in out:
            _put(mapping, key, _node(out[key]), order)
        elif key in mapping:
            _delete(mapping, key)


def _update_form(
    mapping: CommentedMap,
    old_out: dict[str, object],
    new_out: dict[str, object],
    order: Sequence[str],
) -> None:
    """Write the keys whose exported form differs between old and new; drop those new omits.

    For entries whose file keys are not their fields' names ("from", "date"); the first key is
    the identity, which matched already.
    """
    for key in order[1:]:
        if old_out.get(key) == new_out.get(key):
            continue
        if key in new_out:
            _put(mapping, key, _node(new_out[key]), order)
        elif key in mapping:
            _delete(mapping, key)


def _update_document(document: CommentedMap, old: KvSetup, new: KvSetup) -> None:
    for key in ("name", "privacy_contact"):
        if getattr(old, key) == getattr(new, key):
            continue
        value = getattr(new, key)
        if value:
            _put(document, key, _text(value), TOP_KEYS)
        elif key in document:
            _delete(document, key)
    for section in ("districts", "topics", "activity_types"):
        _update_section(
            document,
            section,
            getattr(old, section),
            getattr(new, section),
            identity=lambda entry: entry.key,
            update=_update_entry,
            create=lambda entry: _node(entry_out(entry)),
        )
    _update_section(
        document,
        "groups",
        old.groups,
        new.groups,
        identity=lambda group: group.key,
        update=_update_group,
        create=lambda group: _node(group_out(group)),
    )
    for section, out, order in (
        ("campaigns", campaign_out, CAMPAIGN_KEYS),
        ("actions", action_out, ACTION_KEYS),
        ("memorials", memorial_out, MEMORIAL_KEYS),
    ):
        _update_section(
            document,
            section,
            getattr(old, section),
            getattr(new, section),
            identity=lambda spec: spec.key,
            update=_form_updater(out, order),
            create=lambda spec, out=out: _node(out(spec)),  # type: ignore[misc]
        )
    _update_section(
        document,
        "guide",
        old.guide,
        new.guide,
        identity=lambda section: section.title,
        update=_update_guide,
        create=lambda section: _node(guide_out(section)),
    )
    _update_section(
        document,
        "telegram_groups",
        old.telegram_groups,
        new.telegram_groups,
        identity=lambda chat: chat.chat_id,
        update=_update_chat,
        create=lambda chat: _node(chat_out(chat)),
        # The reader sorts chats by id; the file has them in its own order.
        file_order=_chat_ids,
    )


def _chat_ids(items: CommentedSeq) -> list[object]:
    """The chat ids of the file's telegram_groups, in the file's order."""
    ids = []
    for item in items:
        if not isinstance(item, CommentedMap) or not isinstance(item.get("chat_id"), int):
            raise _CannotMergeError
        ids.append(item["chat_id"])
    return ids


def _update_section(
    document: CommentedMap,
    section: str,
    old: Sequence[_Spec],
    new: Sequence[_Spec],
    *,
    identity: Callable[[_Spec], object],
    update: Callable[[Any, _Spec, _Spec], Any],
    create: Callable[[_Spec], Any],
    file_order: Callable[[CommentedSeq], list[object]] | None = None,
) -> None:
    """Bring one list section in line: kept entries updated in place and put in new's order,
    new ones created, missing ones dropped."""
    if list(old) == list(new):
        return
    if not new:
        if section in document:
            _delete(document, section)
        return
    items = document.get(section)
    if not isinstance(items, CommentedSeq):
        _put(document, section, CommentedSeq(create(spec) for spec in new), TOP_KEYS)
        return
    old_by_id = {identity(spec): spec for spec in old}
    # A valid file gives one entry per item, in the file's order (unless the reader sorts them).
    ids = [identity(spec) for spec in old] if file_order is None else file_order(items)
    if len(ids) != len(items) or len(ids) != len(old) or set(ids) != set(old_by_id):
        raise _CannotMergeError
    position = {item_id: index for index, item_id in enumerate(ids)}
    wanted = {identity(spec) for spec in new}
    section_rest = _drop_comments(items, [item_id in wanted for item_id in ids])
    rebuilt = CommentedSeq()
    items.copy_attributes(rebuilt)  # flow style, and the comment before the first item
    comments = dict(items.ca.items)
    rebuilt.ca.items.clear()
    for spec in new:
        index = position.get(identity(spec))
        if index is None:
            rebuilt.append(create(spec))
            continue
        with _tail_kept(items[index]):
            value = update(items[index], old_by_id[identity(spec)], spec)
        rebuilt.append(value)
        # A comment after an item (in a list of names) moves with the item. (After append():
        # ruamel's append shifts the comments at and after the new index.)
        if index in comments:
            rebuilt.ca.items[len(rebuilt) - 1] = comments[index]
    _slot(rebuilt, len(rebuilt) - 1).add_rest(section_rest)
    document[section] = rebuilt


def _drop_comments(items: CommentedSeq, kept: list[bool]) -> CommentToken | None:
    """Take what follows the list (returned, to go after its new end) and what follows each
    dropped item (it goes after the kept item before, as it was about what came next)."""
    if not items:
        return None
    slots = [_slot(items, index) for index in range(len(items))]
    section_rest = slots[-1].pop_rest()
    previous: _Slot | None = None
    for slot, keep in zip(slots, kept, strict=True):
        if keep:
            previous = slot
            continue
        rest = slot.pop_rest()
        if previous is not None:
            previous.add_rest(rest)
    return section_rest


def _entry_fields(entry: Entry) -> dict[str, object]:
    out = entry_out(entry)
    return dict(out) if isinstance(out, dict) else {"key": entry.key, "name": entry.name}


def _update_entry(item: Any, old: Entry, new: Entry) -> Any:
    if old == new:
        return item
    if not isinstance(item, CommentedMap):
        # A bare name: the export's form for the new entry (a name, or {key, name, ...}).
        return _node(entry_out(new))
    _update_form(item, _entry_fields(old), _entry_fields(new), _ENTRY_ORDER)
    if "key" not in item and derive_key(new.name) != new.key:
        _put(item, "key", new.key, _ENTRY_ORDER)
    return item


def _form_updater(
    out: Callable[[Any], dict[str, object]], order: Sequence[str]
) -> Callable[[Any, Any, Any], Any]:
    """Updates an entry of campaigns, actions or memorials in the export's form."""

    def update(item: Any, old: Any, new: Any) -> Any:
        if old == new:
            return item
        if not isinstance(item, CommentedMap):
            raise _CannotMergeError
        new_out = out(new)
        _update_form(item, out(old), new_out, order)
        # Without a key the name or title gives it; a new one must not change it.
        named = new.title if isinstance(new, ActionSetup) else new.name
        if "key" not in item and derive_key(named) != new.key:
            _put(item, "key", new.key, order)
        return item

    return update


def _update_group(item: Any, old: GroupSetup, new: GroupSetup) -> Any:
    if old == new:
        return item
    if not isinstance(item, CommentedMap):
        raise _CannotMergeError
    _update_fields(item, old, new, group_out(new), GROUP_KEYS)
    # Without a key the name gives it; a new name must not change it.
    if "key" not in item and derive_key(new.name) != new.key:
        _put(item, "key", new.key, GROUP_KEYS)
    return item


def _update_guide(item: Any, old: GuideEntry, new: GuideEntry) -> Any:
    if old == new:
        return item
    if not isinstance(item, CommentedMap):
        raise _CannotMergeError
    _put(item, "text", _text(new.text), GUIDE_KEYS)
    return item


def _update_chat(item: Any, old: ChatSetup, new: ChatSetup) -> Any:
    if old == new:
        return item
    if not isinstance(item, CommentedMap):
        raise _CannotMergeError
    _update_fields(item, old, new, chat_out(new), CHAT_KEYS)
    return item
