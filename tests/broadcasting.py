"""Scheduling a broadcast the way the organiser's "send" does, and whom an audience reaches,
for the tests that need them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import not_, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def recipient_ids(
    session: AsyncSession, audience: segments.Audience, category: Category
) -> list[int]:
    """The ids of the members a message of `category` to `audience` goes to, in id order (the
    bot itself never pulls them into Python: bot.services.member_batches)."""
    matched = segments.matching(audience, category).subquery()
    rows = await session.scalars(
        select(matched.c.id)
        .where(not_(matched.c.opted_out), matched.c.reachable)
        .order_by(matched.c.id)
    )
    return list(rows)
