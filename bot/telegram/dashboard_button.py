"""The organisers' menu button to the dashboard (the Mini App, bot.miniapp).

Telegram opens Mini Apps from https addresses only: with PUBLIC_URL (or WEBHOOK_URL's origin)
on https, organisers and admins get a "Dashboard" button in their private chat; whoever loses
the role gets the default button back. Without such an address nothing is set and /bericht is
the way to the figures. Like the command menus (bot.telegram.commands), a button that can't be
set (the chat not opened yet, Telegram away) is logged and left: the next start sets it again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import MenuButtonDefault, MenuButtonWebApp, WebAppInfo
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.miniapp.auth import DASHBOARD_ROLES
from bot.miniapp.routes import PAGE_PATH
from bot.services.roles import allows
from bot.settings import Settings
from models import Role

logger = logging.getLogger(__name__)


def dashboard_url(settings: Settings) -> str | None:
    """The Mini App's address when the web server is public on https; None otherwise."""
    base = settings.public_base_url
    if base is None or urlsplit(base).scheme != "https":
        return None
    return base.rstrip("/") + PAGE_PATH


async def set_dashboard_button(
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    *,
    chat_id: int,
    roles: Collection[Role],
    locale: str,
    reset: bool = False,
) -> bool:
    """Give an organiser or admin the dashboard button in their private chat.

    With `reset` (after a role change), someone who may not see the dashboard gets the
    default button back. Nothing happens without a public https address. Returns whether
    Telegram took it.
    """
    url = dashboard_url(settings)
    if url is None:
        return False
    if allows(roles, DASHBOARD_ROLES):
        with i18n.context(), i18n.use_locale(locale):
            button = MenuButtonWebApp(text=_("Dashboard"), web_app=WebAppInfo(url=url))
    elif reset:
        button = MenuButtonDefault()
    else:
        return False
    try:
        await bot.set_chat_menu_button(chat_id=chat_id, menu_button=button)
    except TelegramAPIError as exc:
        # Someone who never opened the private chat (or blocked the bot) has no chat to set.
        logger.info("no dashboard button for chat=%s: %s", chat_id, exc)
        return False
    return True
