"""Every outbox kind and the function that renders it at sending time.

A renderer asks a service what is still true (the member may have finished the intake, the
broadcast may have been stopped) and renders with the feature's view; None withdraws the row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.rendering import Copy, Rendered, Renderer, kv_zone
from bot.services import (
    broadcasts,
    host_notices,
    meeting_notices,
    memorials,
    onboarding,
    reminders,
    rsvp,
    schedule,
)
from bot.services.schedule import ScheduleError
from bot.telegram.views import broadcast as broadcast_views
from bot.telegram.views import host_notices as host_views
from bot.telegram.views import meeting_notices as notice_views
from bot.telegram.views import memorials as memorial_views
from bot.telegram.views.intake import intake_reminder
from bot.telegram.views.newcomers import newcomer_digest
from bot.telegram.views.reminders import meeting_reminder
from models import Attendance, Delivery, Meeting, Member, RsvpAnswer
from models.base import utcnow


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
        reminder.meeting, counts, kv_zone(session), answer=reminder.attendance, now=now
    )


async def render_host_answer(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """One answer for a host who hears of each (withdrawn when the meeting is off or past)."""
    del member
    notice = await host_notices.answer_notice(session, row.payload, row.recipient_id, now=utcnow())
    return None if notice is None else (host_views.answer_notice(notice, kv_zone(session)), None)


async def render_host_summary(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The host's evening summary of changed answers (withdrawn when nothing is left)."""
    del member
    items = await host_notices.summary(session, row.payload, row.recipient_id, now=utcnow())
    return (host_views.daily_summary(items, kv_zone(session)), None) if items else None


async def render_host_list(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """Who comes tomorrow, for a host who chose the list the day before."""
    del member
    item = await host_notices.day_list(session, row.payload, row.recipient_id, now=utcnow())
    return None if item is None else (host_views.day_list(item, kv_zone(session)), None)


async def _still_answered(
    session: AsyncSession, row: Delivery, member: Member | None
) -> tuple[Meeting, Attendance] | None:
    """The notice's meeting and the member's answer, while they still said yes or maybe."""
    if member is None or not member.consented:
        return None
    try:
        meeting = await schedule.get_meeting(session, int(row.payload.get("meeting_id", 0)))
    except ScheduleError:
        return None
    answer = (await rsvp.member_answers(session, member.id, [meeting.id])).get(meeting.id)
    if answer is None or answer.answer == RsvpAnswer.NO:
        return None
    return meeting, answer


def _moment(value: object) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


async def render_meeting_changed(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """A move (old and new time, with the buttons) or a cancellation, while still true: not
    for a meeting that started, a move overtaken by another move or a cancellation, a
    cancellation taken back, or a member who said no meanwhile."""
    found = await _still_answered(session, row, member)
    if found is None:
        return None
    meeting, answer = found
    now = datetime.now(UTC)
    if meeting.starts_at <= now:
        return None
    zone = kv_zone(session)
    if row.payload.get("change") == meeting_notices.CANCELLED:
        return notice_views.meeting_cancelled(meeting, zone) if meeting.cancelled else None
    previous = _moment(row.payload.get("from"))
    moved_to = _moment(row.payload.get("to"))
    if meeting.cancelled or previous is None or previous == meeting.starts_at:
        return None
    if moved_to is not None and moved_to != meeting.starts_at:
        return None  # moved again: that move has its own notice
    counts = (await rsvp.counts(session, [meeting]))[meeting.id]
    return notice_views.meeting_moved(meeting, counts, zone, previous=previous, answer=answer)


async def render_rsvp_promoted(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """ "A place freed up: you're in", while the member still has that place."""
    found = await _still_answered(session, row, member)
    if found is None:
        return None
    meeting, answer = found
    if (
        meeting.cancelled
        or meeting.starts_at <= datetime.now(UTC)
        or answer.answer != RsvpAnswer.YES
        or answer.waitlisted
    ):
        return None
    counts = (await rsvp.counts(session, [meeting]))[meeting.id]
    return notice_views.promoted(meeting, counts, kv_zone(session), answer=answer)


async def render_memorial_reminder(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """A Gedenktag ahead, with the KV's event and its answer buttons, unless the date is over,
    its memorial retired, or the member withdrew consent meanwhile."""
    now, zone = utcnow(), kv_zone(session)
    due = await memorials.still_due(session, row.payload, member, now=now, zone=zone)
    if due is None:
        return None
    return memorial_views.reminder(due, zone, now=now)


async def render_memorial_planning(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The organisers' note ahead of a Gedenktag, unless the date is over or the member is no
    organiser any more."""
    now, zone = utcnow(), kv_zone(session)
    due = await memorials.still_due(
        session, row.payload, member, now=now, zone=zone, organiser=True
    )
    if due is None:
        return None
    return memorial_views.planning_note(due, zone, now=now)


RENDERERS: dict[str, Renderer] = {
    onboarding.INTAKE_REMINDER: render_intake_reminder,
    onboarding.NEWCOMER_DIGEST: render_newcomer_digest,
    broadcasts.BROADCAST_KIND: render_broadcast,
    meeting_notices.MEETING_REMINDER: render_meeting_reminder,
    host_notices.HOST_ANSWER: render_host_answer,
    host_notices.HOST_SUMMARY: render_host_summary,
    host_notices.HOST_LIST: render_host_list,
    meeting_notices.MEETING_CHANGED: render_meeting_changed,
    meeting_notices.RSVP_PROMOTED: render_rsvp_promoted,
    memorials.MEMORIAL_REMINDER: render_memorial_reminder,
    memorials.MEMORIAL_PLANNING: render_memorial_planning,
}
