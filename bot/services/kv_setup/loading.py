"""Loading a setup file's YAML: decoding, composing nodes, and reading values off nodes.

Syntax is checked here (and aliases refused), and NodeReader reads the generic shapes (text,
flags, keys, lists, mappings) with their errors; what the sections mean is reader.py's business.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.services.kv_setup.schema import (
    MAX_FILE_BYTES,
    SetupError,
    SetupInvalidError,
    derive_key,
)
from bot.services.translation import gettext as _
from models.kv import KEY_LENGTH

YAML_TAG_PREFIX = "tag:yaml.org,2002:"
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def decode_setup(data: bytes) -> str:
    """A setup file's bytes as text (UTF-8, at most 1 MB); SetupInvalidError otherwise."""
    if len(data) > MAX_FILE_BYTES:
        raise SetupInvalidError([SetupError(1, _too_large(len(data)))])
    try:
        # A byte order mark is still UTF-8; some Windows editors write one.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = _(
            "the file is not UTF-8 (byte 0x{byte} at offset {offset}); save it as UTF-8"
        ).format(byte=f"{data[exc.start]:02x}", offset=exc.start)
        raise SetupInvalidError([SetupError(line, message)]) from None
    return text


def compose_setup(text: str) -> Node:
    """The YAML node tree of a setup file's text; SetupInvalidError for syntax errors."""
    # Characters never outnumber bytes, so only a short text needs encoding to be measured.
    size = len(text) if len(text) > MAX_FILE_BYTES else len(text.encode("utf-8", "replace"))
    if size > MAX_FILE_BYTES:
        raise SetupInvalidError([SetupError(1, _too_large(size))])
    if not text.strip():
        raise SetupInvalidError([SetupError(1, _empty())])
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise SetupInvalidError([_syntax_error(exc)]) from None
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", 0)
        line = text[:position].count("\n") + 1
        message = _("invalid YAML: {problem}").format(problem=exc)
        raise SetupInvalidError([SetupError(line, message)]) from None
    except RecursionError:
        message = _("invalid YAML: nested too deeply")
        raise SetupInvalidError([SetupError(1, message)]) from None
    if root is None:
        raise SetupInvalidError([SetupError(1, _empty())])
    return root


def _empty() -> str:
    return _("the file is empty; it needs at least 'name:'")


def _too_large(size: int) -> str:
    return _(
        "the file is too large ({size} byte, at most {limit} bytes = 1 MB)",
        "the file is too large ({size} bytes, at most {limit} bytes = 1 MB)",
        size,
    ).format(size=size, limit=MAX_FILE_BYTES)


def _syntax_error(exc: yaml.MarkedYAMLError) -> SetupError:
    # PyYAML's own problem and context texts are English; only the frame around them is ours.
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    problem = exc.problem or _("cannot be read")
    if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
        message = _("invalid YAML: {problem} ({context} on line {line})").format(
            problem=problem, context=exc.context, line=exc.context_mark.line + 1
        )
    else:
        message = _("invalid YAML: {problem}").format(problem=problem)
    return SetupError(line, message)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases: an alias would be one node in several places, which no
    part of the format needs, and nested aliases can blow a small file up exponentially."""

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                _("aliases (*{anchor}) are not supported; write the value out").format(
                    anchor=event.anchor
                ),
                event.start_mark,
            )
        return super().compose_node(parent, index)  # type: ignore[no-any-return]


def line_of(node: Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def join_path(path: str, key: str) -> str:
    """The path of key inside path, as errors show it: "groups[0].meets"."""
    return f"{path}.{key}" if path else key


def describe(node: Node, value: object) -> str:
    """What a node holds, for "expected ..., got ..." messages."""
    if isinstance(node, MappingNode):
        return _("a mapping")
    if isinstance(node, SequenceNode):
        return _("a list")
    if value is None:
        return _("nothing")
    if isinstance(value, bool):
        # YAML's own words, the same in every language.
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _("the number {value}").format(value=value)
    if isinstance(value, str):
        return repr(value)
    return f"{type(value).__name__} {value}"


def is_null(node: Node | None) -> bool:
    """Absent or written as null/~/nothing."""
    return node is None or (isinstance(node, ScalarNode) and node.tag == YAML_TAG_PREFIX + "null")


def normalise_text(value: str, *, multiline: bool) -> str:
    """Text as stored: stripped; multi-line text also without trailing spaces on its lines."""
    if not multiline:
        return value.strip()
    # Trailing spaces are invisible in a message and would force quoted style on export.
    return "\n".join(line.rstrip() for line in value.strip().splitlines())


# What scalar() returns after an error: not a value, not even None.
MISSING = object()


class NodeReader:
    """Reads values of the generic shapes (text, flags, keys, lists, mappings) from YAML nodes,
    collecting every error in `errors` instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[SetupError] = []
        self._constructor = SafeConstructor()

    def error(self, node: Node, path: str, message: str) -> None:
        self.errors.append(SetupError(line_of(node), f"{path}: {message}" if path else message))

    def scalar(self, node: Node, path: str) -> object:
        """The node's Python value; MISSING (after an error) for lists, mappings, bad tags."""
        if not isinstance(node, ScalarNode):
            return MISSING
        if not node.tag.startswith(YAML_TAG_PREFIX):
            self.error(node, path, _("unsupported tag {tag}").format(tag=node.tag))
            return MISSING
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            message = _("cannot read {value}: {problem}").format(
                value=repr(node.value), problem=exc
            )
            self.error(node, path, message.splitlines()[0])
            return MISSING

    def mapping(self, node: Node, path: str, allowed: Sequence[str]) -> dict[str, Node] | None:
        """The mapping's values by key; unknown and repeated keys are errors."""
        if not isinstance(node, MappingNode):
            what = describe(node, self.scalar(node, path))
            self.error(
                node,
                path,
                _("expected a mapping ({keys}), got {what}").format(
                    keys=", ".join(allowed), what=what
                ),
            )
            return None
        found: dict[str, Node] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, path)
            if not isinstance(key, str):
                # A bad scalar was reported by scalar(); a list or mapping as key was not.
                if key is not MISSING or not isinstance(key_node, ScalarNode):
                    self.error(
                        key_node,
                        path,
                        _("keys must be text, got {what}").format(what=describe(key_node, key)),
                    )
                continue
            if key in found:
                self.error(
                    key_node,
                    join_path(path, key),
                    _("duplicate key (first on line {line})").format(line=lines[key]),
                )
                continue
            if key not in allowed:
                self.error(key_node, path, _unknown_key(key, allowed))
                continue
            found[key] = value_node
            lines[key] = line_of(key_node)
        return found

    def items(self, node: Node, path: str) -> list[Node]:
        """A list's items; null counts as an empty list."""
        if isinstance(node, SequenceNode):
            return list(node.value)
        value = self.scalar(node, path)
        if value is None or (value is MISSING and isinstance(node, ScalarNode)):
            return []
        self.error(node, path, _("expected a list, got {what}").format(what=describe(node, value)))
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
        if value is MISSING and isinstance(node, ScalarNode):
            return None
        if value is None and optional:
            return None
        if value is None:
            self.error(node, path, _("must not be empty"))
            return None
        if not isinstance(value, str):
            self.error(
                node, path, _("expected text, got {what}").format(what=describe(node, value))
            )
            return None
        text = normalise_text(value, multiline=multiline)
        if not text:
            self.error(
                node,
                path,
                _("must not be empty (leave it out)") if optional else _("must not be empty"),
            )
            return None
        if not multiline and "\n" in text:
            self.error(node, path, _("must be a single line"))
            return None
        if len(text) > max_length:
            message = _(
                "too long ({length} character, at most {limit})",
                "too long ({length} characters, at most {limit})",
                len(text),
            )
            self.error(node, path, message.format(length=len(text), limit=max_length))
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
        return self.text(
            found[key], join_path(path, key), max_length, optional=True, multiline=multiline
        )

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
            self.error(node, path, _("missing required key '{key}'").format(key=key))
            return None
        return self.text(found[key], join_path(path, key), max_length, multiline=multiline)

    def flag(self, found: dict[str, Node], key: str, path: str, *, default: bool) -> bool:
        """A boolean field: real YAML booleans only, so "yes please" can't pass as true."""
        if key not in found:
            return default
        node = found[key]
        value = self.scalar(node, join_path(path, key))
        if isinstance(value, bool):
            return value
        if value is not MISSING or not isinstance(node, ScalarNode):
            self.error(
                node,
                join_path(path, key),
                _("expected true or false, got {what}").format(what=describe(node, value)),
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
                _("key {key} may only use a-z, 0-9, '-' and '_' (e.g. {example})").format(
                    key=repr(value), example=repr(derive_key(value))
                ),
            )
            return None
        return value

    def key_or_derived(
        self, found: dict[str, Node], name: str | None, node: Node, path: str
    ) -> str | None:
        """The explicit key, or the one derived from the name."""
        if "key" in found:
            return self.key(found["key"], join_path(path, "key"))
        if name is None:
            return None
        derived = derive_key(name)
        if not derived:
            self.error(
                node,
                path,
                _("cannot derive a key from {name}; give one with 'key:'").format(name=repr(name)),
            )
            return None
        return derived


def _unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return _("unknown key '{key}' (did you mean '{suggestion}'?)").format(
            key=key, suggestion=close[0]
        )
    return _("unknown key '{key}' (allowed: {keys})").format(key=key, keys=", ".join(allowed))
