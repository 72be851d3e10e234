"""Which kinds of bulk messages (categories) a member does not want."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.chunks import chunked
from bot.db.dialect import dialect_insert
from models import Category, OptOut
from models.base import utcnow

logger = logging.getLogger(__name__)


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
    found: set[int] = set()
    for chunk in chunked(member_ids):
        found.update(
            await session.scalars(
                select(OptOut.member_id).where(
                    OptOut.category == Category(category), OptOut.member_id.in_(chunk)
                )
            )
        )
    return found


async def opted_out_by_category(
    session: AsyncSession, recipients: Iterable[tuple[str, int]]
) -> dict[str, set[int]]:
    """For (category, member id) pairs: per category, which of its members switched it off.

    One query per category. A category the bot doesn't know has no opt-outs (it is logged).
    """
    by_category: dict[str, set[int]] = defaultdict(set)
    for category, member_id in recipients:
        by_category[category].add(member_id)
    known = {category.value for category in Category}
    opted_out: dict[str, set[int]] = {}
    for category, member_ids in by_category.items():
        if category not in known:
            logger.warning("deliveries with unknown category %r", category)
            continue
        opted_out[category] = await opted_out_among(session, member_ids, category)
    return opted_out
