"""The Bot session's request middleware: no database transaction is held across a request."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.db.session import current_session


class ReleaseBeforeRequestMiddleware(BaseRequestMiddleware):
    """Commit the update's open transaction before every Bot API request.

    A transaction held across network I/O would hold SQLite's write lock (every transaction
    takes it, see bot.db.sqlite) and PostgreSQL row locks for as long as Telegram takes to
    answer, serialising all other updates behind it. Committing first also means a member is
    never told "saved" before it is.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """End the current update's transaction, then make the request."""
        session = current_session.get()
        if session is not None and session.in_transaction():
            await session.commit()
        return await make_request(bot, method)
