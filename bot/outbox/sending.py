"""One attempt to send a rendered outbox row, and what Telegram's answer means for it."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import Response
from aiogram.types import Message, MessageId

from bot.outbox.rendering import Copy, Parts, TextMessage
from bot.services.pacing import Decision, RetryPolicy, classify, success
from bot.telegram.retries import Retries, retries

# aiogram parses every answer with `Response[<result type>]`; pydantic keeps such generic
# classes only while something references them, so without these references a busy sender keeps
# rebuilding them (about a fifth of the CPU time per message in the broadcast benchmark).
_RESPONSE_TYPES = (Response[Message], Response[MessageId])


async def attempt(
    bot: Bot,
    chat_id: int,
    rendered: TextMessage | Parts | Copy,
    *,
    attempts: int,
    paid: bool,
    policy: RetryPolicy,
) -> Decision:
    """Send once; the outcome (sent, retry, Telegram's retry_after, blocked, failed) decides
    what becomes of the row (bot.services.pacing.classify)."""
    # Telegram's paid broadcasts lift the global limit to 1000/s (PAID_BROADCAST).
    allow_paid = paid or None
    try:
        # Made once: the worker paces and retries by itself (a retry by the request middleware
        # too would hold a pacing slot through its waits and count as one attempt).
        with retries(Retries.NONE):
            await _send(bot, chat_id, rendered, allow_paid)
    except TelegramRetryAfter as exc:
        return classify(status=429, retry_after=exc.retry_after, attempts=attempts)
    except TelegramForbiddenError as exc:
        return classify(status=403, description=exc.message, attempts=attempts)
    except (TelegramBadRequest, TelegramNotFound, TelegramUnauthorizedError) as exc:
        status = {TelegramNotFound: 404, TelegramUnauthorizedError: 401}.get(type(exc), 400)
        return classify(status=status, description=exc.message, attempts=attempts)
    except TelegramServerError as exc:
        return classify(status=500, description=exc.message, attempts=attempts, policy=policy)
    except (TelegramNetworkError, TimeoutError, TelegramAPIError) as exc:
        return classify(status=None, description=str(exc), attempts=attempts, policy=policy)
    return success()


async def _send(
    bot: Bot,
    chat_id: int,
    rendered: TextMessage | Parts | Copy,
    allow_paid: bool | None,
) -> None:
    if isinstance(rendered, Copy):
        await bot.copy_message(
            chat_id,
            rendered.from_chat_id,
            rendered.message_id,
            reply_markup=rendered.reply_markup,
            allow_paid_broadcast=allow_paid,
        )
    elif isinstance(rendered, Parts):
        # Counted as they go, so a retry after a 429 carries on with the next part.
        for text, keyboard in rendered.messages[rendered.sent :]:
            await bot.send_message(
                chat_id, text, reply_markup=keyboard, allow_paid_broadcast=allow_paid
            )
            rendered.sent += 1
    else:
        text, keyboard = rendered
        await bot.send_message(
            chat_id, text, reply_markup=keyboard, allow_paid_broadcast=allow_paid
        )
