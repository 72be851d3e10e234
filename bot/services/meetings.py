"""Meetings as broadcast audiences: who said yes or maybe to which meeting.

The meetings themselves are made by bot.services.schedule, answers recorded by
bot.services.rsvp.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Attendance, Meeting, RsvpAnswer


async def with_attendees(
    session: AsyncSession, *, now: datetime, back: timedelta, ahead: timedelta
) -> list[tuple[Meeting, int]]:
    """Meetings between now-back and now+ahead that someone said yes or maybe to, with how many."""
    counts = (
        select(Attendance.meeting_id, func.count().label("n"))
        .where(Attendance.answer.in_((RsvpAnswer.YES, RsvpAnswer.MAYBE)))
        .group_by(Attendance.meeting_id)
        .subquery()
    )
    rows = await session.execute(
        select(Meeting, counts.c.n)
        .join(counts, counts.c.meeting_id == Meeting.id)
        .where(Meeting.starts_at >= now - back, Meeting.starts_at <= now + ahead)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return [(meeting, int(count)) for meeting, count in rows]


async def existing(session: AsyncSession, meeting_ids: Collection[int]) -> int:
    """How many of `meeting_ids` exist."""
    if not meeting_ids:
        return 0
    count = await session.scalar(
        select(func.count()).select_from(Meeting).where(Meeting.id.in_(list(meeting_ids)))
    )
    return int(count or 0)
