"""/einladen: the member's own invitation link, to pass on to people who want to join in."""

from __future__ import annotations

from urllib.parse import urlencode

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.format import esc

Screen = tuple[str, InlineKeyboardMarkup]


def invitation(link: str, kv: str) -> Screen:
    """The link with what it does and shows, and a button that opens Telegram's share dialog."""
    text = _(
        "Invite people who want to get involved with <b>{kv}</b>: send them this link.\n\n"
        "{link}\n\n"
        "Whoever starts the bot with it reads that you invited them (your first name, nothing "
        "more). The link stays the same; it stops working when you delete your data."
    ).format(kv=esc(kv), link=esc(link))
    share = "https://t.me/share/url?" + urlencode(
        {"url": link, "text": _("Join in at {kv}!").format(kv=kv)}
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("Share the link"), url=share)]]
    )
    return text, keyboard


def no_consent() -> str:
    """Why /einladen has no link before consent."""
    return _("Your invitation link is ready once you have agreed in /start.")
