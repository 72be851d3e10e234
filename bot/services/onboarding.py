"""After the intake: one reminder for an abandoned intake.

It only queues outbox rows; whether a row is still wanted is decided again when it is sent
(`reminder_still_wanted`), so a member who finished the intake meanwhile is not reminded. The
organisers' newcomer digest lives in bot.services.newcomer_digest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.delivery import enqueue_once
from bot.services.profile import members_to_remind
from models import Category, Member

INTAKE_REMINDER = "intake_reminder"


async def queue_intake_reminders(session: AsyncSession, now: datetime, after: timedelta) -> int:
    """Mark and queue one reminder, never more, per member who left the intake `after` ago.

    Marked and queued in the caller's transaction, so a reminder is neither lost nor doubled.
    Returns how many were queued; the caller commits.
    """
    members = await members_to_remind(session, now, after)
    queued = 0
    for member in members:
        profile = member.profile
        assert profile is not None
        profile.intake_reminded_at = now
        # Keyed by when the intake began: a run overlapping on a second instance queues nothing
        # more, and an intake begun again after a withdrawal has a reminder of its own.
        started = profile.intake_started_at or profile.consent_at
        queued += await enqueue_once(
            session,
            member.id,
            key=f"intake:{member.id}:{int(started.timestamp())}",
            kind=INTAKE_REMINDER,
            payload={},
            due_at=now,
            category=Category.REMINDERS,
        )
    return queued


def reminder_still_wanted(member: Member | None) -> bool:
    """Whether the intake reminder still makes sense: consent kept, intake not finished."""
    return (
        member is not None and member.profile is not None and not member.profile.intake_completed_at
    )
