"""The global error handler: the log gets the detail, the member a short note in their language."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n

from bot.logs import current_update_id
from bot.telegram.views import basics as views

logger = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, bot: Bot, i18n: I18n, locale: str | None = None) -> bool:
    """Log the exception with the update id; tell the member something went wrong, nothing more.

    The number the member is asked to pass on (the update id) is the one the ERROR line names
    as "reference", so the office finds the traceback by it.
    """
    update = event.update
    reference = update.update_id
    # aiogram's error middleware runs outside the update-logging middleware, which has reset
    # the update id by now: set it again, so these lines carry it like every other.
    token = current_update_id.set(update.update_id)
    try:
        logger.error(
            "handler failed for update %s (reference %s): %s",
            update.update_id,
            reference,
            type(event.exception).__name__,
            exc_info=event.exception,
        )
        if isinstance(event.exception, TelegramForbiddenError):
            # The member blocked the bot (or left the chat): an apology would be refused the same
            # way.
            return True
        with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
            text = views.error_note(reference)
            try:
                if update.callback_query is not None:
                    await update.callback_query.answer(text, show_alert=True)
                elif update.message is not None:
                    await bot.send_message(update.message.chat.id, text)
            except TelegramAPIError as exc:
                logger.warning("could not tell the member about the error: %s", exc)
        return True
    finally:
        current_update_id.reset(token)


def create_router() -> Router:
    """The error handler for every update."""
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router
