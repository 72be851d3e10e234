"""Scheduling a broadcast the way the organiser's "send" does, for the tests that need one."""

from __future__ import annotations

from datetime import datetime

from bot.db.session import SessionPool
from bot.services import audience as segments
from bot.services import broadcasts
from models import Category


async def schedule_broadcast(pool: SessionPool, at: datetime, *, summary: str = "Hallo") -> int:
    """A text broadcast by member 1 to everyone, announcements, due `at`; returns its id."""
    async with pool() as session:
        broadcast = await broadcasts.schedule(
            session,
            author_id=1,
            source_chat_id=1,
            source_message_id=10,
            content_type="text",
            summary=summary,
            category=Category.ANNOUNCEMENTS,
            audience=segments.Audience(),
            scheduled_at=at,
        )
        await session.commit()
        return broadcast.id
