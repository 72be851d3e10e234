"""The guide (/kv, "Wegweiser"): its table of contents and one section at a time."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import GUIDE_CONTENTS, GuideCallback
from bot.telegram.format import esc
from models import GuideSection


def contents(kv: str, sections: Sequence[GuideSection]) -> tuple[str, InlineKeyboardMarkup | None]:
    """The table of contents, one button per section; a note when there is no guide yet."""
    if not sections:
        return _("There is no guide for {kv} yet.").format(kv=esc(kv)), None
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=section.title,
                    callback_data=GuideCallback(section_id=section.id).pack(),
                )
            ]
            for section in sections
        ]
    )
    return _("<b>How {kv} works</b>\nChoose a section:").format(kv=esc(kv)), keyboard


def section(shown: GuideSection) -> tuple[str, InlineKeyboardMarkup]:
    """One section, with a button back to the table of contents."""
    back = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("« All sections"),
                    callback_data=GuideCallback(section_id=GUIDE_CONTENTS).pack(),
                )
            ]
        ]
    )
    return f"<b>{esc(shown.title)}</b>\n\n{esc(shown.body)}", back


def section_gone() -> str:
    """The answer to a button of a section that was removed since."""
    return _("This section no longer exists.")
