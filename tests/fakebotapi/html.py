"""Telegram's ``parse_mode=HTML`` dialect: well-formedness check, visible text and entities.

The parser follows the behaviour of TDLib's ``parse_html`` (which the Bot API server uses):
only Telegram's tags are allowed, tags must nest properly, and the first structural error
aborts parsing with a message such as ``Unsupported start tag "div" at byte offset 0``.
Telegram is more lenient than its own documentation about a bare ``&``, ``>`` or an unknown
named entity (it keeps them as literal text); those are reported as non-fatal problems so
tests still catch them, while the fake server delivers the message like Telegram would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HtmlProblem",
    "ParsedHtml",
    "check_html",
    "parse_html",
    "utf16_len",
    "visible_text",
]

_TAG_ENTITY: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-time": "date_time",
}

_ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "span": frozenset({"class"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "code": frozenset({"class"}),
    "blockquote": frozenset({"expandable"}),
    "tg-time": frozenset({"unix", "format"}),
}

# Attributes that may appear without "=value" (HTML boolean attributes).
_VALUELESS_ATTRIBUTES: frozenset[tuple[str, str]] = frozenset({("blockquote", "expandable")})

_NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_END_TAG_RE = re.compile(r"</([^\s>]*)\s*>")
_TAG_NAME_RE = re.compile(r"[^\s>]*")
_ATTRIBUTE_NAME_RE = re.compile(r"[^\s=>]*")
_UNQUOTED_VALUE_RE = re.compile(r"[^\s>]+")
_UNIX_TIME_RE = re.compile(r"-?[0-9]+")
_MAX_CODE_POINT = 0x10FFFF


@dataclass(frozen=True)
class HtmlProblem:
    """A problem in an HTML text; ``fatal`` ones make Telegram reject the whole request."""

    message: str
    fatal: bool


@dataclass
class ParsedHtml:
    """Result of parsing: the visible text, Telegram's entities and the problems found."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    problems: list[HtmlProblem] = field(default_factory=list)

    @property
    def fatal(self) -> HtmlProblem | None:
        """The error Telegram would answer with, if any."""
        return next((problem for problem in self.problems if problem.fatal), None)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class _MalformedTagError(Exception):
    """A start tag Telegram cannot parse; the message is Telegram's error text."""


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    offset: int
    byte_offset: int
    language: str | None = None


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []
        self.problems: list[HtmlProblem] = []

    def byte_offset(self, pos: int) -> int:
        return len(self.source[:pos].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.out_len += utf16_len(text)

    def warn(self, message: str) -> None:
        self.problems.append(HtmlProblem(message, fatal=False))

    def fail(self, message: str) -> None:
        self.problems.append(HtmlProblem(message, fatal=True))

    def decode_entity(self, text: str, pos: int, base: int) -> tuple[str, int]:
        """Decode the entity or bare ``&`` at ``text[pos]``; returns (replacement, new pos)."""
        match = _ENTITY_RE.match(text, pos)
        where = self.byte_offset(base + pos)
        if match is None:
            self.warn(f'bare "&" at byte offset {where} must be escaped as "&amp;"')
            return "&", pos + 1
        name = match.group(1)
        if name.startswith("#"):
            digits = name[2:] if name[1:2] in {"x", "X"} else name[1:]
            code = int(digits, 16 if name[1:2] in {"x", "X"} else 10)
            if 0 < code <= _MAX_CODE_POINT and not 0xD800 <= code <= 0xDFFF:
                return chr(code), match.end()
            self.warn(
                f'invalid numeric character reference "{match.group(0)}" at byte offset {where}'
            )
            return match.group(0), match.end()
        if name in _NAMED_ENTITIES:
            return _NAMED_ENTITIES[name], match.end()
        self.warn(
            f'unsupported HTML entity "{match.group(0)}" at byte offset {where}; Telegram only '
            "knows &lt; &gt; &amp; &quot; and numeric references, it shows this one literally"
        )
        return match.group(0), match.end()

    def decode_attribute(self, raw: str, base: int) -> str:
        parts: list[str] = []
        pos = 0
        while pos < len(raw):
            amp = raw.find("&", pos)
            if amp < 0:
                parts.append(raw[pos:])
                break
            parts.append(raw[pos:amp])
            decoded, pos = self.decode_entity(raw, amp, base)
            parts.append(decoded)
        return "".join(parts)

    def run(self) -> ParsedHtml:
        source = self.source
        while self.pos < len(source):
            char = source[self.pos]
            if char == "&":
                decoded, self.pos = self.decode_entity(source, self.pos, 0)
                self.emit(decoded)
            elif char == ">":
                self.warn(
                    f'bare ">" at byte offset {self.byte_offset(self.pos)} must be escaped '
                    'as "&gt;"'
                )
                self.emit(">")
                self.pos += 1
            elif char == "<":
                ok = self.end_tag() if source.startswith("</", self.pos) else self.start_tag()
                if not ok:
                    # Telegram stops at the first structural error; keep the rest for display.
                    self.emit(source[self.pos :])
                    return self.result()
            else:
                next_special = _next_special(source, self.pos)
                self.emit(source[self.pos : next_special])
                self.pos = next_special
        if self.stack:
            self.fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        return self.result()

    def result(self) -> ParsedHtml:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return ParsedHtml("".join(self.out), entities, self.problems)

    def skip_spaces(self, pos: int) -> int:
        while pos < len(self.source) and self.source[pos].isspace():
            pos += 1
        return pos

    def start_tag(self) -> bool:
        where = self.byte_offset(self.pos)
        name_match = _TAG_NAME_RE.match(self.source, self.pos + 1)
        name = name_match.group(0).lower() if name_match else ""
        pos = name_match.end() if name_match else self.pos + 1
        if pos >= len(self.source):
            self.fail(f"Unclosed start tag at byte offset {where}")
            return False
        if name not in _TAG_ENTITY:
            self.fail(f'Unsupported start tag "{name}" at byte offset {where}')
            return False
        try:
            attributes, end = self.attributes(pos, name, where)
        except _MalformedTagError as error:
            self.fail(str(error))
            return False
        if not self.open(name, attributes, where):
            return False
        self.pos = end
        return True

    def attributes(self, pos: int, tag: str, where: int) -> tuple[dict[str, str], int]:
        """Read attributes up to the closing ``>``; returns them and the position after it."""
        attributes: dict[str, str] = {}
        while True:
            pos = self.skip_spaces(pos)
            if pos >= len(self.source):
                raise _MalformedTagError(f"Unclosed start tag at byte offset {where}")
            if self.source[pos] == ">":
                return attributes, pos + 1
            attr, value, pos = self.attribute(pos, tag, where)
            attributes[attr] = value

    def attribute(self, pos: int, tag: str, where: int) -> tuple[str, str, int]:
        """Read one ``name="value"`` at ``pos``; returns (name, decoded value, new pos)."""
        source = self.source
        attr_match = _ATTRIBUTE_NAME_RE.match(source, pos)
        attr = attr_match.group(0).lower() if attr_match else ""
        if not attr:
            raise _MalformedTagError(
                f'Empty attribute name in the tag "{tag}" at byte offset {where}'
            )
        pos = self.skip_spaces(pos + len(attr))
        if pos >= len(source) or source[pos] != "=":
            if (tag, attr) in _VALUELESS_ATTRIBUTES:
                return attr, "", pos
            raise _MalformedTagError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {where}'
            )
        pos = self.skip_spaces(pos + 1)
        if pos >= len(source):
            raise _MalformedTagError(f"Unclosed start tag at byte offset {where}")
        if source[pos] in {'"', "'"}:
            end = source.find(source[pos], pos + 1)
            if end < 0:
                raise _MalformedTagError(f"Unclosed start tag at byte offset {where}")
            return attr, self.decode_attribute(source[pos + 1 : end], pos + 1), end + 1
        value_match = _UNQUOTED_VALUE_RE.match(source, pos)
        if value_match is None:
            raise _MalformedTagError(
                f'Expected attribute value in the tag "{tag}" at byte offset {where}'
            )
        return attr, self.decode_attribute(value_match.group(0), pos), value_match.end()

    def open(self, name: str, attributes: dict[str, str], where: int) -> bool:
        allowed = _ALLOWED_ATTRIBUTES.get(name, frozenset())
        for attr in attributes:
            if attr not in allowed:
                self.warn(
                    f'attribute "{attr}" of the tag "{name}" at byte offset {where} is ignored '
                    "by Telegram"
                )
        if name == "span" and attributes.get("class") != "tg-spoiler":
            self.fail(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
            return False
        if name == "tg-emoji" and not attributes.get("emoji-id"):
            self.fail(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {where}')
            return False
        if name == "tg-time" and not _UNIX_TIME_RE.fullmatch(attributes.get("unix", "")):
            self.fail(f'Tag "tg-time" must have a numeric attribute "unix" at byte offset {where}')
            return False
        if name == "a" and "href" not in attributes:
            self.warn(f'tag "a" at byte offset {where} has no href attribute')
        css_class = attributes.get("class", "")
        if name == "code" and css_class and not css_class.startswith("language-"):
            self.warn(f'class "{css_class}" of the tag "code" at byte offset {where} is ignored')
        self.stack.append(_OpenTag(name, attributes, self.out_len, where))
        return True

    def end_tag(self) -> bool:
        where = self.byte_offset(self.pos)
        match = _END_TAG_RE.match(self.source, self.pos)
        if match is None:
            self.fail(f"Unclosed end tag at byte offset {where}")
            return False
        name = match.group(1).lower()
        if not self.stack:
            self.fail(f"Unexpected end tag at byte offset {where}")
            return False
        top = self.stack[-1]
        if top.name != name:
            self.fail(
                f'Unmatched end tag at byte offset {where}, expected "</{top.name}>", '
                f'found "</{name}>"'
            )
            return False
        self.stack.pop()
        self.pos = match.end()
        self.close(top)
        return True

    def close(self, tag: _OpenTag) -> None:
        length = self.out_len - tag.offset
        css_class = tag.attributes.get("class", "")
        if tag.name == "code" and css_class.startswith("language-") and self.stack:
            parent = self.stack[-1]
            if parent.name == "pre":
                # Telegram folds <pre><code class="language-x"> into one pre entity.
                parent.language = css_class.removeprefix("language-")
                return
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": _TAG_ENTITY[tag.name], "offset": tag.offset}
        entity["length"] = length
        if tag.name == "a":
            if "href" not in tag.attributes:
                return
            entity["url"] = tag.attributes["href"]
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attributes["emoji-id"]
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "blockquote" and "expandable" in tag.attributes:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-time":
            entity["unix_time"] = int(tag.attributes["unix"])
            if tag.attributes.get("format"):
                entity["date_time_format"] = tag.attributes["format"]
        self.entities.append(entity)


def _next_special(text: str, pos: int) -> int:
    """Index of the next ``<``, ``>`` or ``&`` at or after ``pos`` (or ``len(text)``)."""
    candidates = [index for index in (text.find(c, pos) for c in "<>&") if index >= 0]
    return min(candidates, default=len(text))


def parse_html(text: str) -> ParsedHtml:
    """Parse ``text`` the way Telegram does for ``parse_mode=HTML``."""
    return _Parser(text).run()


def check_html(text: str) -> list[str]:
    """Return every way ``text`` deviates from Telegram's HTML dialect (empty when fine)."""
    return [problem.message for problem in parse_html(text).problems]


def visible_text(text: str) -> str:
    """The text a user sees: tags removed and entities unescaped."""
    return parse_html(text).text
