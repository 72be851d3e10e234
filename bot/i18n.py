"""Translations: aiogram's I18n over the Babel catalogs in locales/."""

from __future__ import annotations

from pathlib import Path

from aiogram.utils.i18n import I18n

import locales
from bot.settings import SUPPORTED_LOCALES

LOCALES_DIR = Path(locales.__file__).resolve().parent
DOMAIN = "messages"


class TranslationsMissingError(Exception):
    """The compiled catalogs (.mo) are missing or older than their sources."""


def check_compiled(locales_dir: Path = LOCALES_DIR) -> None:
    """Fail with one clear line when a .mo file is missing or older than its .po file."""
    for locale in SUPPORTED_LOCALES:
        source = locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        compiled = source.with_suffix(".mo")
        if not compiled.exists() or compiled.stat().st_mtime < source.stat().st_mtime:
            raise TranslationsMissingError(
                f"Translations for '{locale}' are not compiled: "
                "run `bash scripts/i18n.sh compile` (scripts/setup.sh does it)."
            )


def create_i18n(default_locale: str, locales_dir: Path = LOCALES_DIR) -> I18n:
    """The I18n instance shared by handlers and jobs."""
    check_compiled(locales_dir)
    return I18n(path=locales_dir, default_locale=default_locale, domain=DOMAIN)
