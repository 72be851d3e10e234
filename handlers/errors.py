"""The global error handler: the log gets the detail, the member a short note in their language."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n

from bot.telegram.views import basics as views

logger = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, bot: Bot, i18n: I18n, locale: str | None = None) -> bool:
    """Log the exception with the update id; tell the member something went wrong, nothing more."""
    update = event.update
    logger.error(
        "handler failed for update %s: %s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    if isinstance(event.exception, TelegramForbiddenError):
        # The member blocked the bot (or left the chat): an apology would be refused the same way.
        return True
    with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
        text = views.error_note(update.update_id)
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            elif update.message is not None:
                await bot.send_message(update.message.chat.id, text)
        except TelegramAPIError as exc:
            logger.warning("could not tell the member about the error: %s", exc)
    return True


def create_router() -> Router:
    """The error handler for every update."""
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router
