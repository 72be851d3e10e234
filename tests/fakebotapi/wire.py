"""Decoding Bot API requests as they arrive over HTTP.

aiogram sends every parameter as a form field: strings verbatim, numbers and booleans
JSON-encoded (``"42"``, ``"true"``), objects and lists as JSON strings, and files as
multipart parts referenced by ``attach://<part name>``. Other clients send JSON bodies or
query strings. Everything ends up as one ``dict`` whose values are converted to the types
the spec declares for each parameter, so the checks see what Telegram would see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from tests.fakebotapi.common import UploadedFile
from tests.fakebotapi.spec import PRIMITIVE_TYPES, BotApiSpec

__all__ = [
    "ATTACH_PREFIX",
    "attach_references",
    "coerce_params",
    "coerce_value",
    "read_multipart",
    "read_request",
]

ATTACH_PREFIX = "attach://"
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_OBJECT = ["Object"]
_INTEGER = ["Integer"]
_BOOLEAN = ["Boolean"]
_CHAT_ID = ["Integer", "String"]

# Parameter types used when the spec file is missing (or does not know a parameter), so
# the fake server still understands what aiogram sends for the methods it implements.
FALLBACK_TYPES: dict[str, list[str]] = {
    "chat_id": _CHAT_ID,
    "from_chat_id": _CHAT_ID,
    "user_chat_id": _INTEGER,
    "message_id": _INTEGER,
    "user_id": _INTEGER,
    "offset": _INTEGER,
    "limit": _INTEGER,
    "timeout": _INTEGER,
    "cache_time": _INTEGER,
    "max_connections": _INTEGER,
    "until_date": _INTEGER,
    "expire_date": _INTEGER,
    "member_limit": _INTEGER,
    "reply_to_message_id": _INTEGER,
    "message_thread_id": _INTEGER,
    "message_ids": ["Array of Integer"],
    "show_alert": _BOOLEAN,
    "disable_notification": _BOOLEAN,
    "protect_content": _BOOLEAN,
    "allow_paid_broadcast": _BOOLEAN,
    "drop_pending_updates": _BOOLEAN,
    "revoke_messages": _BOOLEAN,
    "only_if_banned": _BOOLEAN,
    "creates_join_request": _BOOLEAN,
    "disable_content_type_detection": _BOOLEAN,
    "allow_sending_without_reply": _BOOLEAN,
    "has_spoiler": _BOOLEAN,
    "show_caption_above_media": _BOOLEAN,
    "reply_markup": _OBJECT,
    "scope": _OBJECT,
    "menu_button": _OBJECT,
    "reply_parameters": _OBJECT,
    "link_preview_options": _OBJECT,
    "commands": ["Array of Object"],
    "allowed_updates": ["Array of String"],
    "entities": ["Array of Object"],
    "caption_entities": ["Array of Object"],
    "media": _OBJECT,
}


def coerce_value(value: Any, types: Sequence[str]) -> Any:
    """Convert one form/query string to the first fitting declared type; else keep it."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    structured = any(type_name not in PRIMITIVE_TYPES for type_name in types)
    if structured and text[:1] in {"[", "{"}:
        try:
            return json.loads(text)
        except ValueError:
            return value
    if "Integer" in types and _INTEGER_RE.fullmatch(text):
        return int(text)
    if "Float" in types:
        try:
            return float(text)
        except ValueError:
            pass
    if "Boolean" in types and text.lower() in {"true", "false"}:
        return text.lower() == "true"
    return value


def coerce_params(
    method: str, params: Mapping[str, Any], spec: BotApiSpec | None
) -> dict[str, Any]:
    """Coerce every parameter using the spec's declared types (or the fallback table)."""
    result: dict[str, Any] = {}
    for name, value in params.items():
        types = spec.field_types(method, name) if spec is not None else None
        result[name] = coerce_value(value, types or FALLBACK_TYPES.get(name, ["String"]))
    return result


def attach_references(value: Any) -> set[str]:
    """Names of file parts referenced as ``attach://name`` anywhere inside ``value``."""
    found: set[str] = set()
    _collect_references(value, found)
    return found


def _collect_references(value: Any, found: set[str]) -> None:
    # One set filled in place: this runs on every request, twice.
    if isinstance(value, str):
        if value.startswith(ATTACH_PREFIX):
            found.add(value.removeprefix(ATTACH_PREFIX))
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect_references(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_references(item, found)


def link_direct_uploads(params: dict[str, Any], files: Mapping[str, UploadedFile]) -> None:
    """Turn file parts sent under the parameter's own name into ``attach://`` references.

    curl-style clients upload ``-F document=@file``; aiogram uses a random part name and
    ``document=attach://<name>``. Normalising the first form to the second means the rest of
    the server only handles one shape.
    """
    referenced = attach_references(params)
    for name in files:
        if name not in referenced and name not in params:
            params[name] = f"{ATTACH_PREFIX}{name}"


async def read_multipart(
    reader: MultipartReader,
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Read all parts of a multipart body into (fields, files)."""
    fields: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            data = await part.read(decode=True)
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            files[part.name] = UploadedFile(part.name, part.filename, bytes(data), content_type)
        else:
            fields.setdefault(part.name, await part.text())
    return fields, files


async def read_request(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters (query string merged with the body) and uploaded files of a request."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.body_exists:
        return params, files
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif request.content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        form = await request.post()
        seen: set[str] = set()
        for name, value in form.items():
            if name in seen:
                continue
            seen.add(name)
            if isinstance(value, web.FileField):
                files[name] = UploadedFile(
                    name, value.filename, value.file.read(), value.content_type
                )
            else:
                params[name] = value
    return params, files
