"""Caps on what a member can make the bot send to others: one notice per member, kind and
subject an hour ("talk to the office" pressed ten times tells the organisers once).

The rows live in the database (models.NoticeCap), so the cap holds across restarts and
instances: a claim is one INSERT .. ON CONFLICT DO NOTHING on the row's key, and only the
instance whose insert lands sends. Rows older than the window are deleted on the next claim,
so the table holds at most an hour of presses.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from models import NoticeCap

CAP_WINDOW = timedelta(hours=1)


class NoticeKind(enum.StrEnum):
    """Who is told what on a member's press."""

    OFFICE = "office"  # the organisers: this member would like to talk to someone
    JOINED = "joined"  # a group's hosts (subject: the group): this member joined
    PROPOSAL = "proposal"  # the organisers: this member proposes a Stammtisch
    ANSWER = "answer"  # hosts who hear of each answer (subject: the meeting): a changed answer


async def claim(
    session: AsyncSession,
    member_id: int,
    kind: NoticeKind,
    subject_id: int = 0,
    *,
    now: datetime,
    window: timedelta = CAP_WINDOW,
) -> bool:
    """Whether the member may make the bot send this notice now; True records it.

    False when one of the same kind (and subject) went out less than `window` ago. The caller
    commits before sending, so a second instance sees the claim.
    """
    await session.execute(delete(NoticeCap).where(NoticeCap.sent_at <= now - window))
    insert = dialect_insert(session)
    result = await session.execute(
        insert(NoticeCap)
        .values(member_id=member_id, kind=kind.value, subject_id=subject_id, sent_at=now)
        .on_conflict_do_nothing()
    )
    return bool(result.rowcount)


async def last_claimed(
    session: AsyncSession, member_id: int, kind: NoticeKind, subject_id: int = 0
) -> datetime | None:
    """When the member's last notice of this kind (and subject) was claimed, if within the
    window (older rows are gone on the next claim)."""
    return await session.scalar(
        select(NoticeCap.sent_at).where(
            NoticeCap.member_id == member_id,
            NoticeCap.kind == kind.value,
            NoticeCap.subject_id == subject_id,
        )
    )
