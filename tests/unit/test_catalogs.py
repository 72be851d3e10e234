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


def _ids(catalog: Catalog) -> set[str]:
    return {message.id for message in catalog if message.id}


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
        for string, source in _forms(message):
            assert string, f"{where} has no translation"
            assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(source)), (
                f"{where}: placeholders differ"
            )
            assert TAG.findall(string) == TAG.findall(source), f"{where}: HTML tags differ"


def _forms(message: Message) -> list[tuple[str, str]]:
    """Each translated form with the msgid it renders: a plural entry's first form is the
    singular, the others the plural."""
    if not isinstance(message.id, tuple):
        return [(message.string, message.id)]
    singular, plural = message.id
    return [
        (string, singular if index == 0 else plural) for index, string in enumerate(message.string)
    ]


# The glossary keeps these German in every language (DESIGN.md), so they match on purpose.
GLOSSARY_MESSAGES = {"Stammtisch", "Basisgruppe", "Stadtteil", "Stadtteil: {value}"}


def test_german_is_really_german() -> None:
    catalog = _read(LOCALES_DIR / "de" / "LC_MESSAGES" / "messages.po", "de")
    # Short words ("Admin") and pure placeholders ("{when}, {time}") may be the same in German.
    same = [
        m.id
        for m in catalog
        if m.id
        and m.string == m.id
        and m.id not in GLOSSARY_MESSAGES
        and len(re.sub(r"\W", "", PLACEHOLDER.sub("", m.id))) > 8
    ]
    assert same == [], f"untranslated German entries: {same}"
