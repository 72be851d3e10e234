"""Checks that always run, with or without the spec file: lengths, keyboards, commands, HTML.

Each check returns :class:`~tests.fakebotapi.common.Problem` objects; ``reject`` holds
Telegram's answer when Telegram refuses such a request, so the fake server fails the call
the same way the real one would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from tests.fakebotapi.common import Problem
from tests.fakebotapi.html import parse_html, utf16_len

__all__ = [
    "CALLBACK_ANSWER_LIMIT",
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "CAPTION_METHODS",
    "TEXT_LIMIT",
    "TEXT_METHODS",
    "FormattedText",
    "check_limits",
    "format_text",
    "inline_buttons",
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_LIMIT = 200
COMMAND_DESCRIPTION_LIMIT = 256
MAX_COMMANDS = 100
DESCRIPTION_LIMITS: dict[str, tuple[str, int]] = {
    "setmydescription": ("description", 512),
    "setmyshortdescription": ("short_description", 120),
    "setmyname": ("name", 64),
}

TEXT_METHODS = frozenset({"sendmessage", "editmessagetext"})
CAPTION_METHODS = frozenset(
    {
        "sendphoto",
        "senddocument",
        "sendvideo",
        "sendaudio",
        "sendanimation",
        "sendvoice",
        "sendpaidmedia",
        "copymessage",
        "editmessagecaption",
    }
)
MEDIA_METHODS = frozenset({"sendmediagroup", "editmessagemedia"})
PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_BUTTON_URL_RE = re.compile(r"(?:https?://[^\s/?#]+|tg://)\S*", re.IGNORECASE)
# Fields of InlineKeyboardButton that only decorate it; exactly one other field is the action.
_BUTTON_DECORATIONS = frozenset({"text", "icon_custom_emoji_id", "style"})


class FormattedText:
    """A text or caption after applying its ``parse_mode`` (visible text and entities)."""

    def __init__(self, raw: str, parse_mode: str | None) -> None:
        """Parse ``raw``; only HTML is interpreted, other modes are taken verbatim."""
        self.raw = raw
        self.parse_mode = parse_mode
        self.problems: list[Problem] = []
        self.entities: list[dict[str, Any]] = []
        self.text = raw
        if parse_mode is not None and parse_mode.lower() == "html":
            parsed = parse_html(raw)
            self.text = parsed.text
            self.entities = parsed.entities
            self.problems = [
                Problem(
                    problem.message,
                    reject=f"Bad Request: can't parse entities: {problem.message}"
                    if problem.fatal
                    else None,
                )
                for problem in parsed.problems
            ]


def format_text(raw: str, parse_mode: str | None) -> FormattedText:
    """Apply ``parse_mode`` to ``raw`` the way Telegram does (HTML only)."""
    return FormattedText(raw, parse_mode)


def inline_buttons(reply_markup: Any) -> Iterator[tuple[str, Any]]:
    """Yield (position, button) for every button of an inline keyboard, tolerating junk."""
    if not isinstance(reply_markup, Mapping):
        return
    rows = reply_markup.get("inline_keyboard")
    if not isinstance(rows, list):
        return
    for row_index, row in enumerate(rows):
        if not isinstance(row, list):
            continue
        for column, button in enumerate(row):
            yield f"[{row_index}][{column}]", button


def _check_formatted(
    label: str,
    raw: Any,
    parse_mode: Any,
    *,
    limit: int,
    required: bool,
    too_long: str,
) -> list[Problem]:
    if not isinstance(raw, str):
        return []
    formatted = format_text(raw, parse_mode if isinstance(parse_mode, str) else None)
    problems = [Problem(f"{label}: {p.message}", p.reject) for p in formatted.problems]
    # Telegram trims surrounding whitespace before it measures or rejects empty texts.
    visible = formatted.text.strip()
    if required and not visible:
        problems.append(
            Problem(
                f"{label} is empty after entity parsing",
                reject="Bad Request: message text is empty",
            )
        )
    length = utf16_len(visible)
    if length > limit:
        problems.append(
            Problem(
                f"{label} is {length} characters after entity parsing (limit {limit})",
                reject=too_long,
            )
        )
    return problems


def _check_parse_mode(params: Mapping[str, Any], label: str = "parse_mode") -> list[Problem]:
    mode = params.get("parse_mode")
    if isinstance(mode, str) and mode and mode.lower() not in PARSE_MODES:
        return [
            Problem(
                f"{label} {mode!r} is not HTML, MarkdownV2 or Markdown",
                reject="Bad Request: unsupported parse_mode",
            )
        ]
    return []


def _check_inline_keyboard(reply_markup: Any) -> list[Problem]:
    problems: list[Problem] = []
    for position, button in inline_buttons(reply_markup):
        if not isinstance(button, Mapping):
            continue
        where = f"inline button {position}"
        text = button.get("text")
        if isinstance(text, str) and not text.strip():
            problems.append(
                Problem(f"{where} has empty text", reject="Bad Request: BUTTON_TEXT_INVALID")
            )
        actions = sorted(set(button) - _BUTTON_DECORATIONS)
        if not actions:
            problems.append(
                Problem(
                    f"{where} ({text!r}) has no action such as callback_data or url",
                    reject="Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
            )
        elif len(actions) > 1:
            problems.append(Problem(f"{where} ({text!r}) has several actions: {actions}"))
        data = button.get("callback_data")
        if isinstance(data, str):
            size = len(data.encode("utf-8"))
            if not 1 <= size <= CALLBACK_DATA_LIMIT:
                problems.append(
                    Problem(
                        f"{where} ({text!r}) callback_data is {size} bytes "
                        f"(must be 1-{CALLBACK_DATA_LIMIT}): {data!r}",
                        reject="Bad Request: BUTTON_DATA_INVALID",
                    )
                )
        url = button.get("url")
        if isinstance(url, str) and not _BUTTON_URL_RE.fullmatch(url):
            problems.append(
                Problem(
                    f"{where} ({text!r}) url {url!r} is not an http(s):// or tg:// URL",
                    reject="Bad Request: BUTTON_URL_INVALID",
                )
            )
    return problems


def _check_commands(params: Mapping[str, Any]) -> list[Problem]:
    commands = params.get("commands")
    if not isinstance(commands, list):
        return []
    problems: list[Problem] = []
    if len(commands) > MAX_COMMANDS:
        problems.append(
            Problem(
                f"{len(commands)} commands (at most {MAX_COMMANDS})",
                reject="Bad Request: BOT_COMMANDS_TOO_MUCH",
            )
        )
    for index, command in enumerate(commands):
        if not isinstance(command, Mapping):
            continue
        name = command.get("command")
        if isinstance(name, str) and not _COMMAND_RE.fullmatch(name):
            problems.append(
                Problem(
                    f"commands[{index}].command {name!r} must be 1-32 characters of a-z, 0-9 and _",
                    reject="Bad Request: BOT_COMMAND_INVALID",
                )
            )
        description = command.get("description")
        if isinstance(description, str):
            length = utf16_len(description.strip())
            if not 1 <= length <= COMMAND_DESCRIPTION_LIMIT:
                problems.append(
                    Problem(
                        f"commands[{index}].description of /{name} is {length} characters "
                        f"(must be 1-{COMMAND_DESCRIPTION_LIMIT})",
                        reject="Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
                    )
                )
    return problems


def _check_language_code(params: Mapping[str, Any]) -> list[Problem]:
    code = params.get("language_code")
    if isinstance(code, str) and code and not _LANGUAGE_RE.fullmatch(code):
        return [Problem(f"language_code {code!r} is not a two-letter ISO 639-1 code")]
    return []


def _check_media(params: Mapping[str, Any]) -> list[Problem]:
    media = params.get("media")
    items = media if isinstance(media, list) else [media]
    problems: list[Problem] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        problems += _check_parse_mode(item, f"media[{index}].parse_mode")
        problems += _check_formatted(
            f"media[{index}].caption",
            item.get("caption"),
            item.get("parse_mode"),
            limit=CAPTION_LIMIT,
            required=False,
            too_long="Bad Request: message caption is too long",
        )
    return problems


def check_limits(method: str, params: Mapping[str, Any]) -> list[Problem]:
    """Every limit and HTML problem of one request (method names are case-insensitive)."""
    name = method.lower()
    problems = _check_parse_mode(params)
    if name in TEXT_METHODS and "text" in params:
        problems += _check_formatted(
            "text",
            params.get("text"),
            params.get("parse_mode"),
            limit=TEXT_LIMIT,
            required=True,
            too_long="Bad Request: message is too long",
        )
    if name in CAPTION_METHODS:
        problems += _check_formatted(
            "caption",
            params.get("caption"),
            params.get("parse_mode"),
            limit=CAPTION_LIMIT,
            required=False,
            too_long="Bad Request: message caption is too long",
        )
    if name in MEDIA_METHODS:
        problems += _check_media(params)
    problems += _check_inline_keyboard(params.get("reply_markup"))
    if name == "answercallbackquery":
        text = params.get("text")
        if isinstance(text, str) and utf16_len(text) > CALLBACK_ANSWER_LIMIT:
            problems.append(
                Problem(
                    f"callback answer text is {utf16_len(text)} characters "
                    f"(limit {CALLBACK_ANSWER_LIMIT})",
                    reject="Bad Request: MESSAGE_TOO_LONG",
                )
            )
    if name == "setmycommands":
        problems += _check_commands(params)
    if name in {"setmycommands", "deletemycommands", "getmycommands"} or name in (
        DESCRIPTION_LIMITS
    ):
        problems += _check_language_code(params)
    if name in DESCRIPTION_LIMITS:
        field, limit = DESCRIPTION_LIMITS[name]
        value = params.get(field)
        if isinstance(value, str) and utf16_len(value) > limit:
            problems.append(
                Problem(
                    f"{field} is {utf16_len(value)} characters (limit {limit})",
                    reject=f"Bad Request: {field.replace('_', ' ')} is too long",
                )
            )
    if name == "sendchataction":
        action = params.get("action")
        if isinstance(action, str) and action not in CHAT_ACTIONS:
            problems.append(
                Problem(
                    f"unknown chat action {action!r}",
                    reject="Bad Request: wrong parameter action in request",
                )
            )
    return problems
