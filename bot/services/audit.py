"""The audit log: every action of organisers, hosts and admins (and the bot's own jobs on the
KV's behalf) that reads member lists or writes to members is one row: who, what, about what,
how many members, when. Recorded in the action's own transaction, so the log holds exactly
the actions that happened. Names never go in: the subject is an id or a group's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditAction, AuditEntry, Member
from models.base import utcnow

SUBJECT_LENGTH = 120


async def record(
    session: AsyncSession,
    actor_id: int | None,
    action: AuditAction,
    *,
    count: int,
    subject: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry; the caller commits with the action itself.

    `actor_id` None: the bot did it (a job). An actor without a members row (erased meanwhile,
    say the author of a broadcast that starts later) is recorded as None too.
    """
    if actor_id is not None and await session.get(Member, actor_id) is None:
        actor_id = None
    entry = AuditEntry(
        actor_id=actor_id,
        action=action.value,
        subject=subject[:SUBJECT_LENGTH] if subject else None,
        count=max(0, int(count)),
        at=at or utcnow(),
    )
    session.add(entry)
    return entry


@dataclass(frozen=True, slots=True)
class Shown:
    """One entry as /protokoll lists it, with the actor's name if they are still a member."""

    entry: AuditEntry
    actor: Member | None


async def page(session: AsyncSession, *, number: int, size: int) -> tuple[list[Shown], int]:
    """Page `number` (0 first) of the log, newest first, and how many entries there are."""
    total = int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    rows = await session.execute(
        select(AuditEntry, Member)
        .outerjoin(Member, Member.id == AuditEntry.actor_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(max(0, number) * size)
        .limit(size)
    )
    return [Shown(entry, actor) for entry, actor in rows], total


async def prune(session: AsyncSession, *, now: datetime, days: int) -> int:
    """Delete entries older than `days`; returns how many. The caller commits."""
    result = await session.execute(
        delete(AuditEntry).where(AuditEntry.at < now - timedelta(days=days))
    )
    return int(result.rowcount or 0)


async def record_list_page(
    session: AsyncSession, reader: int, action: AuditAction, *, named: int, page: int, pages: int
) -> None:
    """Record that `reader` turned to page `page` (0 the first) of `pages` of a list naming
    `named` members; the caller commits. A page naming nobody reads no member data: not
    recorded."""
    if named:
        await record(session, reader, action, count=named, subject=f"page {page + 1} of {pages}")
