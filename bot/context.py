"""What every job gets: the session factory, the bot, translations and settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.session import SessionPool
from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class JobContext:
    """Built once at start-up and handed to the scheduler's jobs."""

    session_pool: SessionPool
    bot: Bot
    i18n: I18n
    settings: Settings
    # Tells the delivery worker that new outbox rows wait (a no-op where none runs).
    wake: Callable[[], None] = field(default=lambda: None)

    @asynccontextmanager
    async def scope(self, locale: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session of the job's own, with translations active (default locale unless given).

        Jobs run outside any update, so nothing else sets the i18n context for them; a job that
        writes to several members switches locale per member with `i18n.use_locale`.
        """
        with self.i18n.context(), self.i18n.use_locale(locale or self.i18n.default_locale):
            async with self.session_pool() as session:
                yield session
