"""Logging: one line per event, with the update id of whatever is being handled."""

from __future__ import annotations

import logging
import warnings
from contextvars import ContextVar

# The update being handled, so every log line written while handling it can name it.
current_update_id: ContextVar[int | None] = ContextVar("current_update_id", default=None)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s update=%(update_id)s %(message)s"


class UpdateIdFilter(logging.Filter):
    """Adds `update_id` to every record ("-" outside an update)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the current update id; never drops a record."""
        update_id = current_update_id.get()
        record.update_id = "-" if update_id is None else update_id
        return True


def hide_update_contents() -> None:
    """Silence aiogram's warning of an update kind it doesn't know: it carries the whole update,
    which may be a member's message; the update's summary line (type=unknown) says enough."""
    warnings.filterwarnings(
        "ignore", message="Detected unknown update type", category=RuntimeWarning
    )


def configure_logging(level: str) -> None:
    """Log to stderr in one line per event; libraries stay at WARNING unless debugging."""
    hide_update_contents()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
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
