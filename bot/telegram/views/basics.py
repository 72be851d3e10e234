"""The basics: /hilfe, /sprache, /abbrechen, and the notes for what no feature handles
(stale buttons, unknown commands, stray text, an error on the bot's side).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import LanguageCallback
from bot.telegram.commands import CommandSpec
from bot.telegram.format import esc

# Each language is named in itself, so someone who can't read the current one still finds theirs.
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}


def help_text(commands: Iterable[CommandSpec], locale: str) -> str:
    """/hilfe: one line per command, named as in the member's menu."""
    lines = [f"/{spec.name(locale)} – {esc(spec.description)}" for spec in commands]
    return _("What I can do for you:") + "\n\n" + "\n".join(lines)


def language_choice(codes: Iterable[str]) -> tuple[str, InlineKeyboardMarkup]:
    """/sprache: one button per language, each named in itself."""
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=LANGUAGE_NAMES.get(code, code),
                    callback_data=LanguageCallback(code=code).pack(),
                )
                for code in sorted(codes)
            ]
        ]
    )
    return _("Which language shall I speak with you?"), keyboard


def language_unknown() -> str:
    """A language button for a language the bot doesn't have (old or forged)."""
    return _("I don't speak that language yet.")


def language_chosen() -> str:
    """The confirmation, rendered in the language just chosen."""
    return _("From now on I speak English with you.")


def nothing_to_cancel() -> str:
    """/abbrechen outside any conversation step."""
    return _("There is nothing to cancel.")


def cancelled() -> str:
    """/abbrechen ended a step."""
    return _("Cancelled. /help shows what else I can do.")


def stale_button() -> str:
    """A button no handler accepts: from an old message, an older bot version, or forged."""
    return _("This button is no longer valid.")


def unknown_command() -> str:
    """A command this bot doesn't have (or not for this member)."""
    return _("I don't know that command. /help shows what I can do for you.")


def stray_message() -> str:
    """Text, stickers, photos outside any conversation step."""
    return _("I work with commands and buttons. /help shows what I can do for you.")


def error_note(reference: int) -> str:
    """Something failed on the bot's side: no detail, only a number the office can look up."""
    return _(
        "Sorry, something went wrong on my side. Please try again in a moment. "
        "If it keeps happening, tell the office this number: {reference}"
    ).format(reference=reference)
