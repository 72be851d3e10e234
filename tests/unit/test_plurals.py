"""Counts meet nouns through plurals, in every language.

Every message that carries a count renders with 0, 1 and 2 in German and English, and a message
that puts a count before a word it must agree with ("1 Mitglieder", "1 haben") without being a
plural entry fails here, naming the message.
"""

from __future__ import annotations

import re
import string

import pytest
from aiogram.utils.i18n import I18n
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, create_i18n
from bot.settings import SUPPORTED_LOCALES

# Placeholders that hold a number of things (a count, days, a length); others hold names.
COUNTS = frozenset(
    {"count", "days", "n", "total", "length", "limit", "size", "done", "sent", "missing"}
)
# Words after a count that don't agree with it: "3 of 5", "3 pro Sekunde", "3 weitere",
# "3 hinzugefügt", "3 nicht erreichbar", "3 ×" (participles and predicative adjectives keep
# their form in German and English). Anything else after a count needs a plural entry.
NEUTRAL_AFTER = frozenset(
    {
        "of",
        "von",
        "per",
        "pro",
        "more",
        "weitere",
        "added",
        "hinzugefügt",
        "updated",
        "geändert",
        "removed",
        "entfernt",
        "deactivated",
        "deaktiviert",
        # A broadcast's outcome: "1.428 zugestellt, 15 nicht erreichbar, 2 fehlgeschlagen".
        "delivered",
        "zugestellt",
        "failed",
        "fehlgeschlagen",
        "unreachable",
        "not",
        "nicht",
    }
)
COUNT_BEFORE_WORD = re.compile(r"\{(\w+)\}\s+(?:<[^>]+>)?([^\W\d_]+)")
COUNTS_SHOWN = (0, 1, 2)


def _catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def _messages(locale: str) -> list[Message]:
    return [message for message in _catalog(locale) if message.id]


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _values(text: str, n: int) -> dict[str, object]:
    return {name: (n if name in COUNTS else f"<{name}>") for name in _fields(text)}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_no_count_meets_a_word_outside_a_plural(locale: str) -> None:
    offenders = []
    for message in _messages(locale):
        if isinstance(message.id, tuple):
            continue
        for text in (message.id, message.string):
            for match in COUNT_BEFORE_WORD.finditer(text):
                name, word = match.groups()
                if name in COUNTS and word.lower() not in NEUTRAL_AFTER:
                    offenders.append(f"{message.id!r}: {match.group(0)!r}")
    assert offenders == [], "use _(singular, plural, n) for:\n" + "\n".join(offenders)


def _plural_messages() -> list[tuple[str, str]]:
    return [message.id for message in _messages("de") if isinstance(message.id, tuple)]


def test_there_are_plural_messages() -> None:
    assert len(_plural_messages()) >= 10


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("n", COUNTS_SHOWN)
def test_every_plural_message_renders(i18n: I18n, locale: str, n: int) -> None:
    problems = []
    with i18n.context(), i18n.use_locale(locale):
        for singular, plural in _plural_messages():
            text = i18n.gettext(singular, plural, n)
            if text in (singular, plural) and locale != "en":
                problems.append(f"{singular!r} is not translated for n={n}")
                continue
            try:
                rendered = text.format(**_values(plural, n))
            except (KeyError, IndexError, ValueError) as exc:
                problems.append(f"{singular!r} for n={n}: {exc!r}")
                continue
            names = _fields(text) & COUNTS
            if names and str(n) not in rendered:
                problems.append(f"{singular!r} for n={n} lost the count: {rendered!r}")
    assert problems == []


def test_english_singular_and_plural_differ(i18n: I18n) -> None:
    """An English plural entry whose forms are the same is a plural in name only.

    (German may rightly use one word for both: "1 Fehler", "2 Fehler".)
    """
    same = []
    with i18n.context(), i18n.use_locale("en"):
        for singular, plural in _plural_messages():
            if i18n.gettext(singular, plural, 1) == i18n.gettext(singular, plural, 2):
                same.append(singular)
    assert same == []
