"""Logging: one line per event, with the update id of whatever is being handled.

Two formats (LOG_FORMAT): "text" for people reading a terminal or `docker compose logs`, and
"json" (one JSON object per line) for log collectors. Both carry the same fields and nothing
more: what a line says about a member is decided where it is logged, not here.
"""

from __future__ import annotations

import json
import logging
import warnings
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

# The update being handled, so every log line written while handling it can name it.
current_update_id: ContextVar[int | None] = ContextVar("current_update_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s update=%(update_id)s %(message)s"

LogFormat = Literal["text", "json"]


class UpdateIdFilter(logging.Filter):
    """Adds `update_id` to every record ("-" outside an update)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the current update id; never drops a record."""
        update_id = current_update_id.get()
        record.update_id = "-" if update_id is None else update_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, update_id when
    the line was written while handling an update, and a traceback as one string field.

    A message with line breaks stays on one line (JSON escapes them), so a collector never
    splits an event.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Set by UpdateIdFilter; read from the context too, for a handler added without it.
        update_id = getattr(record, "update_id", None)
        if update_id is None or update_id == "-":
            update_id = current_update_id.get()
        if update_id is not None and update_id != "-":
            entry["update_id"] = update_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter for LOG_FORMAT's value."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def hide_update_contents() -> None:
    """Silence aiogram's warning of an update kind it doesn't know: it carries the whole update,
    which may be a member's message; the update's summary line (type=unknown) says enough."""
    warnings.filterwarnings(
        "ignore", message="Detected unknown update type", category=RuntimeWarning
    )


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Log to stderr in one line per event; libraries stay at WARNING unless debugging."""
    hide_update_contents()
    handler = logging.StreamHandler()
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(UpdateIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = "DEBUG" if level == "DEBUG" else "WARNING"
    # aiogram logs every update at INFO already; ours (bot.middlewares.logging) adds the handler
    # and keeps message text out, so theirs would only double the lines.
    for name in (
        "aiogram.event",
        "aiosqlite",
        "alembic",
        "apscheduler",
        "sqlalchemy",
        "aiohttp.access",
    ):
        logging.getLogger(name).setLevel(quiet)
