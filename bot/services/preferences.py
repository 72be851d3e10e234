"""Which kinds of bulk messages (categories) a member does not want."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import dialect_insert
from models import Category, OptOut
from models.base import utcnow


async def opted_out_categories(session: AsyncSession, member_id: int) -> frozenset[Category]:
    """The categories `member_id` has switched off."""
    rows = await session.scalars(select(OptOut.category).where(OptOut.member_id == member_id))
    return frozenset(Category(value) for value in rows)


async def set_opted_out(
    session: AsyncSession, member_id: int, category: Category, *, opted_out: bool
) -> None:
    """Switch a category off (opted_out=True) or on again; idempotent, the caller commits."""
    if opted_out:
        insert = dialect_insert(session)(OptOut).values(
            member_id=member_id, category=category, created_at=utcnow()
        )
        await session.execute(insert.on_conflict_do_nothing())
    else:
        await session.execute(
            delete(OptOut).where(OptOut.member_id == member_id, OptOut.category == category)
        )


async def opted_out_among(
    session: AsyncSession, member_ids: Collection[int], category: Category | str
) -> set[int]:
    """Which of `member_ids` switched `category` off."""
    if not member_ids:
        return set()
    rows = await session.scalars(
        select(OptOut.member_id).where(
            OptOut.category == Category(category), OptOut.member_id.in_(list(member_ids))
        )
    )
    return set(rows)
