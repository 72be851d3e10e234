"""Walking all signed-up members in id ranges, for jobs that put one outbox row per member.

A broadcast or a survey invitation to 100,000 members can't be enqueued in the organiser's
update (SQLite runs a write transaction's statements on the event loop; other members' replies
would wait seconds). It is enqueued in batches instead: each batch is the next range of member
ids, claimed by moving a cursor column with a conditional UPDATE in the batch's own
transaction, so a committed batch is never enqueued twice (a restart resumes after it) and of
two instances running the same batch only one writes rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models import Profile

# Members per batch (per transaction): one INSERT ... SELECT, a few binds however many members
# there are. On SQLite a batch is as long as other members' replies may wait: 500 keeps that
# to a few tens of milliseconds (1,000 gave a /start p99 of 205 ms under load 7).
BATCH = 500


@dataclass(frozen=True, slots=True)
class Batch:
    """A claimed id range: members with `after` < id <= `last` (None: no members left)."""

    after: int
    last: int | None
    done: bool


async def claim(
    session: AsyncSession,
    cursor: InstrumentedAttribute[Any],
    *conditions: Any,
    after: int,
    size: int = BATCH,
    empty: bool = False,
) -> Batch | None:
    """Claim the next `size` signed-up members after `after` for the row `conditions` select.

    `cursor` is that row's column holding `after`; it moves to the range's last id, or to None
    when the range is short (the last batch). `empty` claims nothing but still ends the walk
    (an audience that can no longer match anyone). Returns None when the cursor was no longer
    at `after`: another instance took this batch, or the walk was stopped. The caller commits.
    """
    last, found = None, 0
    if not empty:
        # The batch is the next `size` signed-up members by id (an index range on profiles),
        # whoever of them an audience matches: with both ends of the range known, every
        # criterion's table is read in that range only (a count-limited window over the
        # criteria made PostgreSQL hash a whole link table per batch).
        window = (
            select(Profile.member_id)
            .where(Profile.member_id > after)
            .order_by(Profile.member_id)
            .limit(size)
            .subquery()
        )
        last, found = (
            await session.execute(select(func.max(window.c.member_id), func.count()))
        ).one()
    done = found < size
    moved = await session.execute(
        update(cursor.class_)
        .where(*conditions, cursor == after)
        .values({cursor.key: None if done else last})
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:
        return None
    return Batch(after=after, last=last, done=done)
