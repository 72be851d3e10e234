"""What members and hosts are told about meetings, queued through the outbox.

Only ids travel in a row; the renderer reads what is still true at sending time (a reminder for a
meeting cancelled meanwhile is withdrawn). Keys make each notice once-only across restarts and
instances.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.delivery import enqueue_once
from models import Attendance, Meeting, MeetingPost, RsvpAnswer

MEETING_CHANGED = "meeting_changed"
RSVP_PROMOTED = "rsvp_promoted"
MEETING_REMINDER = "meeting_reminder"

# The changes members who said yes or maybe hear of.
MOVED = "moved"
CANCELLED = "cancelled"


async def interested_ids(session: AsyncSession, meeting_id: int) -> list[int]:
    """Members who said yes (waiting or not) or maybe to a meeting."""
    rows = await session.scalars(
        select(Attendance.member_id)
        .where(
            Attendance.meeting_id == meeting_id,
            Attendance.answer.in_((RsvpAnswer.YES, RsvpAnswer.MAYBE)),
        )
        .order_by(Attendance.queued_at, Attendance.member_id)
    )
    return list(rows)


async def queue_change(
    session: AsyncSession,
    meeting: Meeting,
    change: str,
    *,
    now: datetime,
    previous_start: datetime | None = None,
) -> int:
    """Tell everyone who said yes or maybe that a meeting moved or was cancelled.

    Returns how many were queued; the caller commits with the change itself.
    """
    # "to": the time it was moved to, so a notice overtaken by a later move is withdrawn.
    payload = {"meeting_id": meeting.id, "change": change, "to": int(meeting.starts_at.timestamp())}
    if previous_start is not None:
        payload["from"] = int(previous_start.timestamp())
    stamp = int((meeting.changed_at or now).timestamp() * 1000)
    queued = 0
    for member_id in await interested_ids(session, meeting.id):
        queued += await enqueue_once(
            session,
            member_id,
            key=f"mchg:{meeting.id}:{change}:{stamp}:{member_id}",
            kind=MEETING_CHANGED,
            payload=payload,
            due_at=now,
        )
    return queued


async def queue_promotions(
    session: AsyncSession, meeting_id: int, member_ids: Collection[int], *, now: datetime
) -> None:
    """Tell members moved up from the waiting list at once (the caller commits)."""
    stamp = int(now.timestamp() * 1000)
    for member_id in member_ids:
        await enqueue_once(
            session,
            member_id,
            key=f"prom:{meeting_id}:{stamp}:{member_id}",
            kind=RSVP_PROMOTED,
            payload={"meeting_id": meeting_id},
            due_at=now,
        )


async def touch_posts(session: AsyncSession, meeting_id: int) -> None:
    """Mark the meeting's posts in group chats as out of date; the pacer edits them."""
    await session.execute(
        update(MeetingPost)
        .where(MeetingPost.meeting_id == meeting_id)
        .values(revision=MeetingPost.revision + 1)
    )
