"""Onboarding jobs: one reminder after an abandoned intake, the weekly newcomer digest.

Both only queue messages in the outbox; the delivery worker renders and sends them (RENDERERS),
in each recipient's language at sending time, paced and retried like every bulk message.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import IntakeCallback
from bot.outbox import Rendered, Renderer
from bot.services import directory
from bot.services.delivery import enqueue
from bot.services.members import get_member
from bot.services.profile import members_to_remind
from bot.texts import member_label
from jobs.context import JobContext
from models import Category, Delivery, Member
from models.base import utcnow

logger = logging.getLogger(__name__)

REMIND_AFTER = timedelta(hours=24)
INTAKE_REMINDER = "intake_reminder"
NEWCOMER_DIGEST = "newcomer_digest"
# Telegram's limit on inline buttons per message; the digest lists the rest by name only.
MAX_DIGEST_BUTTONS = 50


async def remind_abandoned_intakes(ctx: JobContext, now: datetime | None = None) -> int:
    """Queue one gentle reminder, never more, for members who left the intake a day ago."""
    now = now or utcnow()
    async with ctx.scope() as session:
        members = await members_to_remind(session, now, REMIND_AFTER)
        for member in members:
            assert member.profile is not None
            member.profile.intake_reminded_at = now
        # Marked and queued in one transaction: a reminder is neither lost nor doubled.
        enqueue(
            session,
            [m.id for m in members],
            kind=INTAKE_REMINDER,
            payload={},
            due_at=now,
            category=Category.REMINDERS,
        )
        await session.commit()
    if members:
        ctx.wake()
    return len(members)


async def render_intake_reminder(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The reminder, unless the member finished the intake or withdrew consent meanwhile."""
    del session, row
    if member is None or member.profile is None or member.profile.intake_completed_at:
        return None
    text = _(
        "You started telling me what you care about yesterday. Two minutes more "
        "and I can suggest groups that fit you."
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Carry on"),
                    callback_data=IntakeCallback(step="resume", action="resume").pack(),
                )
            ]
        ]
    )
    return text, keyboard


async def newcomer_digest(ctx: JobContext, now: datetime | None = None) -> int:
    """Queue the digest of newcomers without a group for each organiser; returns how many."""
    now = now or utcnow()
    async with ctx.scope() as session:
        newcomers = await directory.newcomers_without_group(
            session, now=now, older_than=timedelta(days=ctx.settings.newcomer_days)
        )
        if not newcomers:
            return 0
        recipients = await directory.organiser_ids(session, ctx.settings.admin_ids)
        enqueue(
            session,
            recipients,
            kind=NEWCOMER_DIGEST,
            payload={
                "member_ids": [member.id for member in newcomers],
                "days": ctx.settings.newcomer_days,
            },
            due_at=now,
        )
        await session.commit()
    if recipients:
        ctx.wake()
    return len(recipients)


async def render_newcomer_digest(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The digest with whoever of the listed newcomers still has no group and still agrees."""
    del member
    joined = await directory.members_with_groups(session, row.payload.get("member_ids", []))
    newcomers = [
        newcomer
        for newcomer_id in row.payload.get("member_ids", [])
        if newcomer_id not in joined
        and (newcomer := await get_member(session, newcomer_id)) is not None
        and newcomer.consented
    ]
    if not newcomers:
        return None
    days = _days(row)
    lines = [
        _(
            "<b>Newcomers without a group</b> ({count}): they have been with us for "
            "{days} days or more and haven't joined a group yet. A personal message "
            "often helps."
        ).format(count=len(newcomers), days=days)
    ]
    lines += [f"• {member_label(newcomer)}" for newcomer in newcomers]
    buttons = [
        [
            InlineKeyboardButton(
                text=_("Write to {name}").format(name=newcomer.first_name or newcomer.id),
                url=f"tg://user?id={newcomer.id}",
            )
        ]
        for newcomer in newcomers[:MAX_DIGEST_BUTTONS]
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


def _days(row: Delivery) -> int:
    """The NEWCOMER_DAYS the digest was made with (kept in the row: settings may change)."""
    return int(row.payload.get("days", 14))


RENDERERS: dict[str, Renderer] = {
    INTAKE_REMINDER: render_intake_reminder,
    NEWCOMER_DIGEST: render_newcomer_digest,
}
