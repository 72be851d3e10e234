"""Every outbox kind and the function that renders it at sending time.

A renderer asks a service what is still true (the member may have finished the intake, the
broadcast may have been stopped) and renders with the feature's view; None withdraws the row.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.rendering import Copy, Rendered, Renderer
from bot.services import broadcasts, host_notices, meeting_notices, onboarding, reminders, rsvp
from bot.telegram.views import broadcast as broadcast_views
from bot.telegram.views import host_notices as host_views
from bot.telegram.views.intake import intake_reminder
from bot.telegram.views.newcomers import newcomer_digest
from bot.telegram.views.reminders import meeting_reminder
from models import Delivery, Member
from models.base import utcnow

# Rows about meetings carry the KV's zone they were queued in; older or foreign rows use this.
FALLBACK_ZONE = "Europe/Berlin"


async def render_intake_reminder(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The reminder, unless the member finished the intake or withdrew consent meanwhile."""
    del session, row
    return intake_reminder() if onboarding.reminder_still_wanted(member) else None


async def render_newcomer_digest(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The digest with whoever of the listed newcomers still has no group and still agrees."""
    del member
    newcomers = await onboarding.newcomers_still_waiting(session, row.payload)
    if not newcomers:
        return None
    return newcomer_digest(newcomers, onboarding.digest_days(row.payload))


async def render_broadcast(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """A copy of the organiser's message, unless the broadcast was stopped meanwhile."""
    del member
    source = await broadcasts.source_to_copy(session, row.payload)
    if source is None:
        return None
    chat_id, message_id = source
    return Copy(
        from_chat_id=chat_id, message_id=message_id, reply_markup=broadcast_views.settings_button()
    )


def _zone(payload: dict[str, Any]) -> ZoneInfo:
    name = payload.get("zone")
    try:
        return ZoneInfo(name if isinstance(name, str) and name else FALLBACK_ZONE)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo(FALLBACK_ZONE)


async def render_meeting_reminder(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The reminder with the answer buttons, unless the meeting was cancelled, moved or has
    started, or the member said no or dropped this offset meanwhile."""
    now = utcnow()
    reminder = await reminders.still_due(session, row.payload, member, now=now)
    if reminder is None:
        return None
    counts = (await rsvp.counts(session, [reminder.meeting]))[reminder.meeting.id]
    return meeting_reminder(
        reminder.meeting, counts, _zone(row.payload), answer=reminder.attendance, now=now
    )


async def render_host_answer(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """One answer for a host who hears of each (withdrawn when the meeting is off or past)."""
    del member
    notice = await host_notices.answer_notice(session, row.payload, row.recipient_id, now=utcnow())
    return None if notice is None else (host_views.answer_notice(notice, _zone(row.payload)), None)


async def render_host_summary(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The host's evening summary of changed answers (withdrawn when nothing is left)."""
    del member
    items = await host_notices.summary(session, row.payload, row.recipient_id, now=utcnow())
    return (host_views.daily_summary(items, _zone(row.payload)), None) if items else None


async def render_host_list(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """Who comes tomorrow, for a host who chose the list the day before."""
    del member
    item = await host_notices.day_list(session, row.payload, row.recipient_id, now=utcnow())
    return None if item is None else (host_views.day_list(item, _zone(row.payload)), None)


RENDERERS: dict[str, Renderer] = {
    onboarding.INTAKE_REMINDER: render_intake_reminder,
    onboarding.NEWCOMER_DIGEST: render_newcomer_digest,
    broadcasts.BROADCAST_KIND: render_broadcast,
    meeting_notices.MEETING_REMINDER: render_meeting_reminder,
    host_notices.HOST_ANSWER: render_host_answer,
    host_notices.HOST_SUMMARY: render_host_summary,
    host_notices.HOST_LIST: render_host_list,
}
