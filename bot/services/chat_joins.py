"""Counting joins to the KV's group chats per chat and local day, without keeping who joined.

The report's funnel starts here ("joined a KV group"). Only served chats count, bots never.
Each Telegram update is handled once (the update-id claim in bot.middlewares.database), so a
redelivered update adds nothing; the two ways Telegram reports one join are kept apart and the
larger counts (models.ChatJoinDay), so a join seen both ways counts once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from models import ChatJoinDay, ServedChat

# A day's joins: the larger of the two sources (SQL, for sums over days and chats).
JOINS = case(
    (ChatJoinDay.joins > ChatJoinDay.announced, ChatJoinDay.joins), else_=ChatJoinDay.announced
)


class JoinSource(StrEnum):
    """Where the bot saw a join: a chat_member update, or the "joined" service message."""

    MEMBER_UPDATE = "joins"
    SERVICE_MESSAGE = "announced"


async def count_joins(
    session: AsyncSession,
    chat_id: int,
    people: int,
    *,
    source: JoinSource,
    at: datetime,
    zone: ZoneInfo,
) -> bool:
    """Add `people` joins of `chat_id` on `at`'s local day; False (nothing stored) for a chat
    the KV doesn't serve or no one to count. The caller commits."""
    if people <= 0 or await session.get(ServedChat, chat_id) is None:
        return False
    column = getattr(ChatJoinDay, source.value)
    insert: Any = dialect_insert(session)
    statement = (
        insert(ChatJoinDay)
        .values(chat_id=chat_id, day=at.astimezone(zone).date(), **{source.value: people})
        .on_conflict_do_update(
            index_elements=["chat_id", "day"], set_={source.value: column + people}
        )
    )
    await session.execute(statement)
    return True
