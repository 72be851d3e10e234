"""One log line per update: type, handler, outcome and duration, never message text."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError

from bot.logs import current_update_id

if TYPE_CHECKING:
    from bot.metrics import Metrics

logger = logging.getLogger("mitmachbot.updates")


@dataclass(slots=True)
class EventLog:
    """Filled in while an update travels through the dispatcher, read when it is done."""

    handler: str = "-"
    # Why the update stopped before any handler ("duplicate"; "busy": another instance is handling
    # it; "dropped"), for the metrics.
    skipped: str | None = None


def note_skipped(data: dict[str, Any], why: str) -> None:
    """Mark the update in hand as skipped (a redelivery, a flood's excess) for the metrics."""
    log = data.get("event_log")
    if isinstance(log, EventLog):
        log.skipped = why


def _handler_name(handler: HandlerObject) -> str:
    callback = handler.callback
    module = getattr(callback, "__module__", "?")
    return f"{module}.{getattr(callback, '__qualname__', repr(callback))}"


def _event_type(update: Update) -> str:
    # An update of a kind aiogram doesn't know (a newer Bot API, or a forged webhook body)
    # has none; the summary line must not fail on it.
    try:
        return update.event_type
    except UpdateTypeLookupError:
        return "unknown"


# The log line's outcome, in the metrics' words.
_OUTCOMES = {"handled": "ok", "unhandled": "unhandled", "failed": "error"}


class UpdateLogMiddleware(BaseMiddleware):
    """Outer update middleware: sets the update id for log lines and writes the summary line.

    With `metrics`, also counts the update by type and outcome and records how long it took.
    """

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Time the update and log one line when it is done, also when it failed."""
        assert isinstance(event, Update)  # registered on dp.update only
        token = current_update_id.set(event.update_id)
        log = data["event_log"] = EventLog()
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if result is UNHANDLED else "handled"
            return result
        finally:
            seconds = time.perf_counter() - started
            event_type = _event_type(event)
            logger.info(
                "type=%s handler=%s outcome=%s duration_ms=%.1f",
                event_type,
                log.handler,
                outcome,
                seconds * 1000,
            )
            if self.metrics is not None:
                self.metrics.update_done(event_type, log.skipped or _OUTCOMES[outcome], seconds)
            current_update_id.reset(token)


class HandlerNameMiddleware(BaseMiddleware):
    """Inner middleware: notes which handler took the event, for the summary line."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Record the handler's dotted name, then run it."""
        log = data.get("event_log")
        handler_object = data.get("handler")
        if isinstance(log, EventLog) and isinstance(handler_object, HandlerObject):
            log.handler = _handler_name(handler_object)
        return await handler(event, data)
