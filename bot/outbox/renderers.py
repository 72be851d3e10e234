"""Every outbox kind and the function that renders it at sending time.

A renderer asks a service what is still true (the member may have finished the intake, the
broadcast may have been stopped) and renders with the feature's view; None withdraws the row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.rendering import Copy, Rendered, Renderer, as_parts, kv_zone
from bot.services import (
    action_notices,
    action_results,
    broadcasts,
    call_list,
    erasure,
    field_actions,
    help_calls,
    host_notices,
    meeting_notices,
    memorials,
    newcomer_digest,
    onboarding,
    reengagement,
    reminders,
    rsvp,
    schedule,
    shift_reminders,
    shifts,
    surveys,
)
from bot.services.schedule import ScheduleError
from bot.telegram import check_in_lines
from bot.telegram.views import action_results as result_views
from bot.telegram.views import actions as action_views
from bot.telegram.views import broadcast as broadcast_views
from bot.telegram.views import help_calls as call_views
from bot.telegram.views import host_notices as host_views
from bot.telegram.views import meeting_notices as notice_views
from bot.telegram.views import memorials as memorial_views
from bot.telegram.views import newcomers as newcomer_views
from bot.telegram.views import privacy as privacy_views
from bot.telegram.views import reengagement as reengagement_views
from bot.telegram.views import surveys as survey_views
from bot.telegram.views.intake import intake_reminder
from bot.telegram.views.reminders import meeting_reminder
from bot.telegram.views.shift_reminders import shift_reminder
from models import Attendance, Delivery, Meeting, Member, RsvpAnswer, Shift, SwapStatus
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
    """The digest's first page as of sending time (who still has no group and still agrees),
    unless nobody is waiting any more."""
    del member
    # Never as of a moment before the one it was queued for (a row due in the future, as the
    # tests' clock makes them).
    now = max(utcnow(), row.due_at)
    page = await newcomer_digest.digest_page(
        session, now=now, days=newcomer_digest.digest_days(row.payload), page=0
    )
    if not page.total:
        return None
    return newcomer_views.newcomer_digest(page)


_BROADCAST_COPIES = "broadcast_copies"


async def render_broadcast(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """A copy of the organiser's message, unless the broadcast was stopped meanwhile.

    The answer is kept for the session (one batch of the worker): the identity map holds the
    Broadcast only weakly, so without it every row of a paid broadcast paid a SELECT and a new
    keyboard, about half of the bot's CPU per message. Within the batch's transaction the
    status read once is as current as a second read.
    """
    del member
    copies: dict[tuple[object, ...], Rendered] = session.info.setdefault(_BROADCAST_COPIES, {})
    payload = row.payload
    label = broadcast_views.settings_button_label()  # the member's language
    key = (payload.get("broadcast_id"), payload.get("from_chat_id"), payload.get("message_id"))
    if (key, label) in copies:
        return copies[key, label]
    source = await broadcasts.source_to_copy(session, payload)
    rendered: Rendered = None
    if source is not None:
        chat_id, message_id = source
        rendered = Copy(
            from_chat_id=chat_id,
            message_id=message_id,
            reply_markup=broadcast_views.settings_button(),
        )
    copies[key, label] = rendered
    return rendered


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
    if not items:
        return None
    return as_parts([(text, None) for text in host_views.daily_summary(items, kv_zone(session))])


async def render_host_list(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """Who comes tomorrow, for a host who chose the list the day before."""
    del member
    item = await host_notices.day_list(session, row.payload, row.recipient_id, now=utcnow())
    if item is None:
        return None
    return as_parts([(text, None) for text in host_views.day_list(item, kv_zone(session))])


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


async def render_shift_reminder(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The shift reminder, unless the member left the shift, its date was called off, or it
    moved or started meanwhile."""
    now = utcnow()
    reminder = await shift_reminders.still_due(session, row.payload, member, now=now)
    return None if reminder is None else shift_reminder(reminder, kv_zone(session), now=now)


async def render_help_call(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """The call for help, unless the shift filled up, was called off or started, or the member
    is on it (or an overlapping shift) by now; a withdrawn call no longer counts as asked."""
    call = await help_calls.still_open(session, row.payload, member, now=utcnow())
    return None if call is None else call_views.help_call(call, kv_zone(session))


async def render_result_prompt(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """ "How did the shift go? Log the result", withdrawn when a teammate logged it meanwhile,
    the member left the shift or withdrew consent, or the date was called off."""
    if member is None or not member.consented:
        return None
    shift = await action_results.prompt_still_wanted(session, row.payload, member.id, now=utcnow())
    return None if shift is None else result_views.result_prompt(shift, kv_zone(session))


def _payload_id(row: Delivery, key: str) -> int:
    value = row.payload.get(key)
    return value if isinstance(value, int) else 0


async def render_action_cancelled(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """ "Called off", while the date still is (not when it was re-scheduled) and its last shift
    has not ended, to a member still on one of its shifts."""
    if member is None or not member.consented:
        return None
    date = await field_actions.find_date(session, _payload_id(row, "date_id"), retired_too=True)
    if date is None or not date.cancelled or not date.shifts:
        return None
    if date.shifts[-1].ends_at <= utcnow():
        return None
    holders = await shifts.holder_ids(session, [shift.id for shift in date.shifts])
    held = [shift for shift in date.shifts if member.id in holders.get(shift.id, set())]
    if not held:
        return None
    return action_views.action_cancelled(date, held, kv_zone(session))


async def _taken_swap(session: AsyncSession, row: Delivery) -> tuple[Shift, Member] | None:
    """The swap's shift and its taker, while the swap stands: taken, the taker still on the
    shift, the shift of a date that takes place and not started."""
    swap = await shifts.find_swap(session, _payload_id(row, "swap_id"))
    if swap is None or swap.status != SwapStatus.TAKEN or swap.to_member_id is None:
        return None
    shift = await field_actions.find_shift(session, swap.shift_id)
    if shift is None or shift.action_date.cancelled or shift.starts_at <= utcnow():
        return None
    holders = await shifts.holder_ids(session, [shift.id])
    if swap.to_member_id not in holders.get(shift.id, set()):
        return None
    taker = await session.get(Member, swap.to_member_id)
    return (shift, taker) if taker is not None else None


def _name(member: Member | None) -> str:
    return member.first_name if member is not None and member.first_name else ""


async def render_shift_swapped(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """To whoever plans the action: who took over whose shift, while that still stands."""
    del member
    found = await _taken_swap(session, row)
    if found is None:
        return None
    shift, taker = found
    swap = await shifts.find_swap(session, _payload_id(row, "swap_id"))
    assert swap is not None
    giver = await session.get(Member, swap.from_member_id)
    return action_views.shift_swapped(
        swap,
        shift,
        _name(giver) or action_views.someone(),
        _name(taker) or action_views.someone(),
        kv_zone(session),
    )


async def render_swap_taken(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """To the member whose offer was taken, while the taker still holds the shift."""
    if member is None or not member.consented:
        return None
    found = await _taken_swap(session, row)
    if found is None:
        return None
    shift, taker = found
    return action_views.swap_taken(shift, _name(taker) or action_views.someone(), kv_zone(session))


async def render_shift_emptied(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """To whoever plans the action: a shift emptied close to its start, while it is still
    empty, of a date that takes place, and not started."""
    del member
    shift = await field_actions.find_shift(session, _payload_id(row, "shift_id"))
    if shift is None or shift.action_date.cancelled or shift.starts_at <= utcnow():
        return None
    if await shifts.count(session, shift.id):
        return None
    return action_views.shift_emptied(shift, kv_zone(session))


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


async def render_host_lost(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """To organisers: a group lost its host (who erased their data), unless it has one again."""
    del member
    group = await erasure.lost_group(session, row.payload)
    return None if group is None else privacy_views.host_lost(group)


async def render_check_in(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """A quiet member's check-in with what is near them now, unless they were erased or are
    no longer quiet (they did something since it was queued)."""
    if member is None or member.profile is None:
        return None
    quarter = str(row.payload.get("quarter", ""))
    check_in = await reengagement.find(session, member.id, quarter)
    if check_in is None or member.last_seen_at > check_in.queued_at:
        return None
    now, zone = max(utcnow(), row.due_at), kv_zone(session)
    await reengagement.mark_sent(session, check_in, now=now)
    suggestions = await check_in_lines.suggestions_for(session, member, now, zone)
    return reengagement_views.check_in(
        member.first_name,
        [item.line for item in suggestions],
        member_id=member.id,
        quarter=quarter,
        extra=[item.button for item in suggestions if item.button is not None],
    )


async def render_call_list(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """The organisers' monthly call list, its first page as of sending time, unless nobody is
    on it any more. Queued for organisers only (bot.services.call_list.queue_call_list)."""
    del member
    now, zone = max(utcnow(), row.due_at), kv_zone(session)
    page = await call_list.call_page(
        session, now=now, months=call_list.list_months(row.payload), page=0
    )
    if not page.total:
        return None
    return reengagement_views.call_list(page, zone)


_SURVEY_RESULTS = "survey_results"


async def render_survey_invite(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The invitation with "Take part", unless the survey closed or the member answered it
    meanwhile."""
    if member is None:
        return None
    survey = await surveys.invitation_still_wanted(
        session, _payload_id(row, "survey_id"), member.id, utcnow()
    )
    return None if survey is None else survey_views.invitation(survey, kv_zone(session))


async def render_survey_results(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """A closed survey's results (organisers: with the free texts) and a button for charts."""
    del member
    # Computed once per batch of the worker, not once per participant.
    cache: dict[int, surveys.SurveyResults] = session.info.setdefault(_SURVEY_RESULTS, {})
    survey_id = _payload_id(row, "survey_id")
    if survey_id not in cache:
        survey = await surveys.find(session, survey_id)
        if survey is None:
            return None
        cache[survey_id] = await surveys.results(session, survey)
    results = cache[survey_id]
    organiser = bool(row.payload.get("organiser"))
    texts = survey_views.results_messages(results, kv_zone(session), organiser=organiser)
    # The charts button under the last part.
    parts = [(text, None) for text in texts[:-1]]
    parts.append((texts[-1], survey_views.results_keyboard(results)))
    return as_parts(parts)


RENDERERS: dict[str, Renderer] = {
    onboarding.INTAKE_REMINDER: render_intake_reminder,
    newcomer_digest.NEWCOMER_DIGEST: render_newcomer_digest,
    broadcasts.BROADCAST_KIND: render_broadcast,
    meeting_notices.MEETING_REMINDER: render_meeting_reminder,
    host_notices.HOST_ANSWER: render_host_answer,
    host_notices.HOST_SUMMARY: render_host_summary,
    host_notices.HOST_LIST: render_host_list,
    meeting_notices.MEETING_CHANGED: render_meeting_changed,
    meeting_notices.RSVP_PROMOTED: render_rsvp_promoted,
    shift_reminders.SHIFT_REMINDER: render_shift_reminder,
    help_calls.HELP_CALL: render_help_call,
    action_results.RESULT_PROMPT: render_result_prompt,
    action_notices.ACTION_CANCELLED: render_action_cancelled,
    action_notices.SHIFT_SWAPPED: render_shift_swapped,
    action_notices.SHIFT_EMPTIED: render_shift_emptied,
    action_notices.SWAP_TAKEN: render_swap_taken,
    memorials.MEMORIAL_REMINDER: render_memorial_reminder,
    memorials.MEMORIAL_PLANNING: render_memorial_planning,
    erasure.HOST_LOST: render_host_lost,
    reengagement.CHECK_IN: render_check_in,
    call_list.CALL_LIST: render_call_list,
    surveys.SURVEY_INVITE: render_survey_invite,
    surveys.SURVEY_RESULTS: render_survey_results,
}
