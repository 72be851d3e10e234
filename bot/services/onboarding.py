"""After the intake: one reminder for an abandoned intake, the organisers' newcomer digest.

Both only queue outbox rows; what each row says is decided again when it is sent (see
`reminder_still_wanted` and `newcomers_still_waiting`), so a member who finished the intake or
joined a group meanwhile is not named.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, directory
from bot.services.delivery import enqueue
from bot.services.members import members_by_id
from bot.services.profile import members_to_remind
from models import AuditAction, Category, Member

INTAKE_REMINDER = "intake_reminder"
NEWCOMER_DIGEST = "newcomer_digest"
# The NEWCOMER_DAYS a digest row was made with, when the row doesn't say (rows from older code).
DEFAULT_DIGEST_DAYS = 14


async def queue_intake_reminders(session: AsyncSession, now: datetime, after: timedelta) -> int:
    """Mark and queue one reminder, never more, per member who left the intake `after` ago.

    Marked and queued in the caller's transaction, so a reminder is neither lost nor doubled.
    Returns how many were queued; the caller commits.
    """
    members = await members_to_remind(session, now, after)
    for member in members:
        assert member.profile is not None
        member.profile.intake_reminded_at = now
    enqueue(
        session,
        [member.id for member in members],
        kind=INTAKE_REMINDER,
        payload={},
        due_at=now,
        category=Category.REMINDERS,
    )
    return len(members)


def reminder_still_wanted(member: Member | None) -> bool:
    """Whether the intake reminder still makes sense: consent kept, intake not finished."""
    return (
        member is not None and member.profile is not None and not member.profile.intake_completed_at
    )


async def queue_newcomer_digest(
    session: AsyncSession, *, now: datetime, days: int, admin_ids: Collection[int]
) -> int:
    """Queue the digest of newcomers without a group (older than `days`) for each organiser.

    Returns how many organisers get it (0 when there is nobody to list); the caller commits.
    """
    newcomers = await directory.newcomers_without_group(
        session, now=now, older_than=timedelta(days=days)
    )
    if not newcomers:
        return 0
    recipients = await directory.organiser_ids(session, admin_ids)
    # A list of members sent to organisers on the KV's behalf: the bot is the actor.
    await audit.record(
        session,
        None,
        AuditAction.DIGEST,
        count=len(newcomers),
        subject=f"{len(recipients)} organisers",
        at=now,
    )
    enqueue(
        session,
        recipients,
        kind=NEWCOMER_DIGEST,
        payload={"member_ids": [member.id for member in newcomers], "days": days},
        due_at=now,
    )
    return len(recipients)


async def newcomers_still_waiting(session: AsyncSession, payload: dict[str, Any]) -> list[Member]:
    """The digest's newcomers who, at sending time, still agree and still have no group."""
    member_ids: Sequence[int] = payload.get("member_ids", [])
    joined = await directory.members_with_groups(session, member_ids)
    known = await members_by_id(session, member_ids)
    return [
        known[member_id]
        for member_id in member_ids
        if member_id not in joined and member_id in known and known[member_id].consented
    ]


def digest_days(payload: dict[str, Any]) -> int:
    """The NEWCOMER_DAYS a digest was made with (kept in the row: settings may change)."""
    return int(payload.get("days", DEFAULT_DIGEST_DAYS))
