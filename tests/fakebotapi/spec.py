"""The machine-readable Bot API specification and request validation against it.

The spec file lives outside the project (``../shared/telegram/bot-api-spec.json`` next to the
repository) and is never copied in; ``BOT_API_SPEC`` overrides the location. When it is
missing, spec checks are skipped with one :class:`SpecMissingWarning` per path and process
(the test suite turns it into a single line of pytest's warnings summary), and only the
always-on checks of :mod:`tests.fakebotapi.limits` run.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakebotapi.common import Problem, UploadedFile

__all__ = [
    "PRIMITIVE_TYPES",
    "BotApiSpec",
    "SpecMissingWarning",
    "default_spec_path",
    "load_spec",
    "reset_spec_cache",
    "spec_missing_notice",
    "validate_request",
]

PRIMITIVE_TYPES = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})
ARRAY_PREFIX = "Array of "

# Subtypes of unions name their tag in the first field's description, e.g.
# 'Scope type, must be chat' or 'Type of the message origin, always "user"'.
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always)\s+[*\"“”]?([A-Za-z0-9_]+)[*\"“”]?\s*$")

# Telegram's own wording for some missing parameters; everything else gets "<name> is empty".
_MISSING_DESCRIPTIONS: dict[str, str] = {
    "text": "Bad Request: message text is empty",
    "document": "Bad Request: there is no document in the request",
    "photo": "Bad Request: there is no photo in the request",
}


@dataclass(frozen=True)
class _Discriminator:
    field: str
    subtypes: dict[str, str]


def _describe(value: Any) -> str:
    if isinstance(value, UploadedFile):
        return f"uploaded file {value.filename!r}"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _kind_of_type(type_name: str) -> str:
    if type_name.startswith(ARRAY_PREFIX):
        return "array"
    return {
        "Integer": "int",
        "Float": "int",
        "Boolean": "bool",
        "String": "str",
        "InputFile": "str",
    }.get(type_name, "object")


def _kind_of_value(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "int"
    if isinstance(value, str | bytes | UploadedFile):
        return "str"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "other"


class BotApiSpec:
    """Read access to the spec plus recursive validation of requests and values."""

    def __init__(self, data: Mapping[str, Any], path: Path | None = None) -> None:
        """Wrap the decoded JSON of ``bot-api-spec.json`` (``path`` only for messages)."""
        self.path = path
        self.version: str = str(data.get("version", ""))
        self.methods: dict[str, dict[str, Any]] = dict(data.get("methods", {}))
        self.types: dict[str, dict[str, Any]] = dict(data.get("types", {}))
        # The Bot API treats method names case-insensitively.
        self._method_names = {name.lower(): name for name in self.methods}
        self._discriminators: dict[str, _Discriminator | None] = {}
        # Fields by name per method and per type, built on first use: every request needs them.
        self._method_fields: dict[str, dict[str, dict[str, Any]]] = {}
        self._object_fields: dict[str, dict[str, dict[str, Any]]] = {}

    def canonical_method(self, method: str) -> str | None:
        """The spec's spelling of ``method`` (matched case-insensitively), or None."""
        return self._method_names.get(method.lower())

    def method_fields(self, method: str) -> dict[str, dict[str, Any]] | None:
        """Parameters of ``method`` by name, or None for a method the spec does not know."""
        fields = self._fields_of_method(method)
        return None if fields is None else dict(fields)

    def _fields_of_method(self, method: str) -> dict[str, dict[str, Any]] | None:
        """Like method_fields, but the shared cached mapping: read it, never change it."""
        name = self.canonical_method(method)
        if name is None:
            return None
        fields = self._method_fields.get(name)
        if fields is None:
            fields = {field["name"]: field for field in self.methods[name].get("fields", [])}
            self._method_fields[name] = fields
        return fields

    def field_types(self, method: str, field: str) -> list[str] | None:
        """The allowed types of one parameter, or None when the parameter is unknown."""
        fields = self._fields_of_method(method)
        if fields is None or field not in fields:
            return None
        return list(fields[field]["types"])

    def returns(self, method: str) -> list[str]:
        """The result types of ``method`` (empty when unknown)."""
        name = self.canonical_method(method)
        return list(self.methods[name]["returns"]) if name else []

    def check_request(self, method: str, params: Mapping[str, Any]) -> list[Problem]:
        """Check a whole request; problems carry Telegram's answer when it would refuse it."""
        fields = self._fields_of_method(method)
        if fields is None:
            return [Problem(f"unknown method {method!r}", reject="Not Found", status=404)]
        problems: list[Problem] = []
        for name, field in fields.items():
            if field["required"] and params.get(name) is None:
                reject = _MISSING_DESCRIPTIONS.get(name, f"Bad Request: {name} is empty")
                problems.append(Problem(f"missing required field {name!r}", reject=reject))
        for name, value in params.items():
            if name not in fields:
                # Telegram ignores unknown parameters, so this is a violation but no error.
                problems.append(Problem(f"unknown field {name!r} (not a parameter of {method})"))
                continue
            if value is None:
                continue
            problems.extend(
                Problem(message, reject=f"Bad Request: can't parse {name}: {message}")
                for message in self.check_value(value, fields[name]["types"], name)
            )
        return problems

    def validate_request(self, method: str, params: Mapping[str, Any]) -> list[str]:
        """Human-readable violations of ``params`` for ``method`` (empty when valid)."""
        return [problem.message for problem in self.check_request(method, params)]

    def check_value(
        self,
        value: Any,
        types: Sequence[str],
        where: str,
        *,
        allow_unknown_fields: bool = False,
    ) -> list[str]:
        """Check ``value`` against alternative ``types``; valid when any alternative fits."""
        if len(types) == 1:
            return self._check_one(value, types[0], where, allow_unknown_fields)
        attempts: list[tuple[str, list[str]]] = []
        for type_name in types:
            errors = self._check_one(value, type_name, where, allow_unknown_fields)
            if not errors:
                return []
            attempts.append((type_name, errors))
        best = self._most_relevant(value, attempts)
        if best is not None:
            return best
        return [f"{where}: expected {' or '.join(types)}, got {_describe(value)}"]

    def _most_relevant(self, value: Any, attempts: list[tuple[str, list[str]]]) -> list[str] | None:
        """Pick the alternative the sender most likely meant, so its errors are reported."""
        kind = _kind_of_value(value)
        candidates = [(t, e) for t, e in attempts if _kind_of_type(t) == kind]
        if not candidates:
            return None
        if kind != "object" or len(candidates) == 1:
            return candidates[0][1]

        def overlap(candidate: tuple[str, list[str]]) -> tuple[int, int]:
            fields = self._type_fields(candidate[0]) or {}
            return (-len(set(value) & set(fields)), len(candidate[1]))

        return min(candidates, key=overlap)[1]

    def _type_fields(self, type_name: str) -> dict[str, dict[str, Any]] | None:
        type_def = self.types.get(type_name)
        if type_def is None:
            return None
        return self._fields_of_type(type_name, type_def)

    def _fields_of_type(
        self, type_name: str, type_def: Mapping[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """The type's fields by name (cached and shared: read it, never change it)."""
        fields = self._object_fields.get(type_name)
        if fields is None:
            fields = {field["name"]: field for field in type_def.get("fields", [])}
            self._object_fields[type_name] = fields
        return fields

    def _check_one(
        self, value: Any, type_name: str, where: str, allow_unknown_fields: bool
    ) -> list[str]:
        if type_name.startswith(ARRAY_PREFIX):
            if not isinstance(value, list):
                return [f"{where}: expected {type_name}, got {_describe(value)}"]
            inner = type_name.removeprefix(ARRAY_PREFIX)
            errors: list[str] = []
            for index, item in enumerate(value):
                errors += self._check_one(item, inner, f"{where}[{index}]", allow_unknown_fields)
            return errors
        if type_name in PRIMITIVE_TYPES:
            return self._check_primitive(value, type_name, where)
        type_def = self.types.get(type_name)
        if type_def is None:
            # A type newer than the spec file: nothing to check it against.
            return []
        if "subtypes" in type_def:
            return self._check_union(value, type_name, type_def, where, allow_unknown_fields)
        return self._check_object(value, type_name, type_def, where, allow_unknown_fields)

    @staticmethod
    def _check_primitive(value: Any, type_name: str, where: str) -> list[str]:
        if type_name == "String":
            ok = isinstance(value, str)
        elif type_name == "Integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif type_name == "Boolean":
            ok = isinstance(value, bool)
        elif type_name == "Float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif type_name == "InputFile":
            ok = isinstance(value, str | bytes | UploadedFile)
        else:
            raise KeyError(type_name)
        return [] if ok else [f"{where}: expected {type_name}, got {_describe(value)}"]

    def _check_object(
        self,
        value: Any,
        type_name: str,
        type_def: Mapping[str, Any],
        where: str,
        allow_unknown_fields: bool,
    ) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where}: expected {type_name} object, got {_describe(value)}"]
        fields = self._fields_of_type(type_name, type_def)
        if not fields:
            return []
        errors = [
            f"{where}: {type_name} is missing required field {name!r}"
            for name, field in fields.items()
            if field["required"] and name not in value
        ]
        discriminator = self._own_discriminator(type_name)
        if discriminator is not None:
            field_name, expected = discriminator
            if field_name in value and value[field_name] != expected:
                errors.append(
                    f"{where}.{field_name}: {type_name} needs {expected!r}, "
                    f"got {_describe(value[field_name])}"
                )
        for key, item in value.items():
            if key not in fields:
                if not allow_unknown_fields:
                    errors.append(f"{where}.{key}: unknown field of {type_name}")
                continue
            errors += self.check_value(
                item,
                fields[key]["types"],
                f"{where}.{key}",
                allow_unknown_fields=allow_unknown_fields,
            )
        return errors

    def _check_union(
        self,
        value: Any,
        type_name: str,
        type_def: Mapping[str, Any],
        where: str,
        allow_unknown_fields: bool,
    ) -> list[str]:
        subtypes: list[str] = list(type_def["subtypes"])
        discriminator = self._discriminator(type_name)
        if isinstance(value, dict) and discriminator is not None:
            tag = value.get(discriminator.field)
            if tag is None:
                return [
                    f"{where}: {type_name} is missing required field {discriminator.field!r} "
                    f"(one of {', '.join(sorted(discriminator.subtypes))})"
                ]
            subtype = discriminator.subtypes.get(tag) if isinstance(tag, str) else None
            if subtype is None:
                return [
                    f"{where}.{discriminator.field}: {_describe(tag)} is not a {type_name} "
                    f"(one of {', '.join(sorted(discriminator.subtypes))})"
                ]
            return self._check_one(value, subtype, where, allow_unknown_fields)
        return self.check_value(value, subtypes, where, allow_unknown_fields=allow_unknown_fields)

    def _own_discriminator(self, type_name: str) -> tuple[str, str] | None:
        """(field, constant) when ``type_name`` is a union member tagged by a constant."""
        type_def = self.types.get(type_name, {})
        fields = type_def.get("fields") or []
        if not type_def.get("subtype_of") or not fields:
            return None
        first = fields[0]
        match = _DISCRIMINATOR_RE.search(first.get("description", ""))
        if match is None or first.get("types") != ["String"]:
            return None
        return first["name"], match.group(1)

    def _discriminator(self, union: str) -> _Discriminator | None:
        """The tag field shared by all object subtypes of ``union``, if there is one."""
        if union in self._discriminators:
            return self._discriminators[union]
        field_names: set[str] = set()
        mapping: dict[str, str] = {}
        for subtype in self.types[union]["subtypes"]:
            if subtype not in self.types:
                continue
            own = self._own_discriminator(subtype)
            if own is None:
                field_names.add("")
                break
            field_names.add(own[0])
            mapping[own[1]] = subtype
        result = None
        if len(field_names) == 1 and "" not in field_names and mapping:
            result = _Discriminator(field_names.pop(), mapping)
        self._discriminators[union] = result
        return result


def default_spec_path() -> Path:
    """``$BOT_API_SPEC`` or ``<repo root>/../shared/telegram/bot-api-spec.json``."""
    override = os.environ.get("BOT_API_SPEC")
    if override:
        return Path(override)
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "telegram" / "bot-api-spec.json"


def spec_missing_notice(path: Path | None = None) -> str:
    """What to say when the spec is not at ``path`` (default: :func:`default_spec_path`)."""
    where = path if path is not None else default_spec_path()
    return (
        f"Bot API spec not found at {where}: spec checks skip, HTML and length checks still run; "
        "set BOT_API_SPEC or put bot-api-spec.json in ../shared/telegram beside the repository"
    )


class SpecMissingWarning(UserWarning):
    """The spec file is missing, so requests are not checked against it."""


# Paths already warned about: the notice concerns the machine, not one call, so it is given
# once per process even when reset_spec_cache() makes the next load look again.
_warned: set[Path] = set()


@functools.cache
def _load(path: Path) -> BotApiSpec | None:
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        if path not in _warned:
            _warned.add(path)
            warnings.warn(SpecMissingWarning(spec_missing_notice(path)), stacklevel=3)
        return None
    return BotApiSpec(data, path)


def load_spec(path: Path | str | None = None) -> BotApiSpec | None:
    """The parsed spec (cached per path), or None when the file is missing."""
    return _load(Path(path) if path is not None else default_spec_path())


def reset_spec_cache() -> None:
    """Forget loaded specs, e.g. after changing ``BOT_API_SPEC`` in a test."""
    _load.cache_clear()


def validate_request(method: str, params: Mapping[str, Any]) -> list[str]:
    """Spec violations of one request; empty when valid or when the spec file is missing."""
    spec = load_spec()
    return spec.validate_request(method, params) if spec is not None else []
