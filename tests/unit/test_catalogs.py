"""Translation catalogs: complete in every language, and in step with the code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR
from bot.settings import SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z-]+")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {message.id for message in catalog if message.id}


def _forms(value: str | tuple[str, ...] | list[str]) -> list[str]:
    """A message's id or string as a list: one entry, or one per plural form."""
    return [value] if isinstance(value, str) else list(value)


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def _check_translation(message: Message, where: str, num_plurals: int) -> None:
    ids, strings = _forms(message.id), _forms(message.string)
    if len(ids) == 1:
        assert len(strings) == 1, f"{where} is no plural but has {len(strings)} forms"
    else:
        assert len(strings) == num_plurals, f"{where} has {len(strings)} of {num_plurals} forms"
    for index, string in enumerate(strings):
        form = where if len(strings) == 1 else f"{where} form {index}"
        assert string, f"{form} has no translation"
        # A form matches the singular or the plural source: the singular may say "one" where
        # the plural names the count ("Show one more group" / "Show {count} more groups").
        assert _placeholders(string) in [_placeholders(source) for source in ids], (
            f"{form}: placeholders differ"
        )
        assert TAG.findall(string) in [TAG.findall(source) for source in ids], (
            f"{form}: HTML tags differ"
        )


@pytest.fixture(scope="module")
def template() -> Catalog:
    return _read(LOCALES_DIR / "messages.pot")


def test_extraction_would_not_change_the_template(tmp_path: Path, template: Catalog) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(["bash", str(ROOT / "scripts" / "i18n.sh"), "pot", str(fresh)], check=True)
    assert fresh.read_text() == (LOCALES_DIR / "messages.pot").read_text(), (
        "locales/messages.pot is out of date: run `scripts/i18n.sh update` and translate"
    )
    assert len(_ids(template)) > 10


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_is_translated(locale: str, template: Catalog) -> None:
    catalog = _read(LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po", locale)
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy"
    assert _ids(catalog) == _ids(template), f"{locale}: run `scripts/i18n.sh update`"
    for message in catalog:
        if not message.id:
            continue
        where = f"{locale}: {message.id!r}"
        assert not message.fuzzy, f"{where} is fuzzy"
        _check_translation(message, where, catalog.num_plurals)


ERRORS = (
    "{path}: {count} error, nothing was imported",
    "{path}: {count} errors, nothing was imported",
)


@pytest.mark.parametrize(
    ("strings", "problem"),
    [
        (("{path}: {count} Fehler", ""), "form 1 has no translation"),
        (("{path}: {count} Fehler", "{path}: Fehler"), "form 1: placeholders differ"),
        (("{path}: {count} Fehler",), "has 1 of 2 forms"),
    ],
)
def test_plural_entries_are_checked(
    template: Catalog, strings: tuple[str, ...], problem: str
) -> None:
    """Plural entries (a tuple of ids) get every form checked, not a crash or a pass."""
    assert ERRORS in _ids(template)
    _check_translation(Message(ERRORS, string=("{path}: {count} Fehler",) * 2), "ok", 2)
    with pytest.raises(AssertionError, match=problem):
        _check_translation(Message(ERRORS, string=strings), "broken", 2)


# The glossary keeps these German in every language (DESIGN.md), so they match on purpose;
# month names that are the same word in both languages match too.
GLOSSARY_MESSAGES = {
    "Stammtisch",
    "Stammtische",
    "Basisgruppe",
    "Basisgruppen",
    "Stadtteil",
    "Stadtteil: {value}",
    "Infostand",
    "September",
}


def test_german_is_really_german() -> None:
    catalog = _read(LOCALES_DIR / "de" / "LC_MESSAGES" / "messages.po", "de")
    # Short words ("Admin") and pure placeholders ("{when}, {time}") may be the same in German.
    same = [
        m.id
        for m in catalog
        if m.id
        and _forms(m.string) == _forms(m.id)
        and m.id not in GLOSSARY_MESSAGES
        and len(re.sub(r"\W", "", PLACEHOLDER.sub("", _forms(m.id)[0]))) > 8
    ]
    assert same == [], f"untranslated German entries: {same}"
