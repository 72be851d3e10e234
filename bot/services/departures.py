"""Departed members: who blocked the bot or left every KV group, and since when.

members.departed_at is set when a member blocks the bot (bot.services.members.set_reachable,
from my_chat_member and from the outbox's 403) or leaves the last KV group, and cleared when
they come back. Retention (bot.services.erasure.erase_departed) erases members departed, and
not seen, for longer than MEMBER_RETENTION_MONTHS.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Member, ServedChat

# How many other KV groups are asked (getChatMember) whether someone who left one is still in
# another; a KV with more groups doesn't mark leavers departed (blocking the bot still does).
MAX_CHECKED = 10


async def other_served_chats(
    session: AsyncSession, member_id: int, chat_id: int
) -> list[int] | None:
    """The other KV groups to ask about a member who left `chat_id`.

    None when there is nothing to decide: `chat_id` is no KV group, the bot doesn't know the
    member (nothing stored, nothing to erase later), or there are more than MAX_CHECKED others.
    """
    if await session.get(ServedChat, chat_id) is None:
        return None
    if await session.scalar(select(Member.id).where(Member.id == member_id)) is None:
        return None
    others = list(
        await session.scalars(
            select(ServedChat.chat_id)
            .where(ServedChat.chat_id != chat_id)
            .order_by(ServedChat.chat_id)
            .limit(MAX_CHECKED + 1)
        )
    )
    return None if len(others) > MAX_CHECKED else others


async def mark_departed(session: AsyncSession, member_id: int, *, now: datetime) -> bool:
    """Note that the member is gone, unless already noted; returns whether that changed
    anything. The caller commits."""
    result = await session.execute(
        update(Member)
        .where(Member.id == member_id, Member.departed_at.is_(None))
        .values(departed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)


async def mark_returned(session: AsyncSession, member_id: int) -> bool:
    """The member is back; returns whether they had been marked departed. The caller commits."""
    result = await session.execute(
        update(Member)
        .where(Member.id == member_id, Member.departed_at.is_not(None))
        .values(departed_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)


async def returned_to(session: AsyncSession, member_id: int, chat_id: int) -> bool:
    """A member joined `chat_id`: back, if it is a KV group. The caller commits."""
    if await session.get(ServedChat, chat_id) is None:
        return False
    return await mark_returned(session, member_id)
