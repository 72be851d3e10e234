"""The i18n middleware: speaks the language the bookkeeping middleware chose."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18nMiddleware


class MemberI18nMiddleware(I18nMiddleware):
    """Uses data["locale"] (the member's choice, Telegram's language, or the default)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """The locale decided for this update."""
        return str(data.get("locale") or self.i18n.default_locale)
