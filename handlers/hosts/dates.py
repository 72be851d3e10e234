"""Managing meetings from the host's panel: a new date (picked or typed), places, note, moving
or cancelling one date, pausing or ending the series.

Every step reloads the group or meeting and asks `hosting.managed_*` again, typed steps too
(the role may be gone by then). Typed dates go through parse_moment / parse_period, whose
refusals (past, impossible, a time the clocks skip) are shown as they are; the schedule's
refusals (a clash, a cancelled date) are explained by the host router.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import hosting, schedule
from bot.services.hosting import HostError
from bot.services.recurrence import MomentError, parse_moment, parse_period
from bot.settings import Settings
from bot.telegram.callbacks import HostAction, HostCallback
from bot.telegram.ids import parse_int
from bot.telegram.screens import Shown, show
from bot.telegram.views import hosts as views
from handlers.hosts.common import (
    TYPED,
    HostFlow,
    group_view,
    in_step,
    meeting_view,
    schedule_refusals,
    typed_group,
    typed_meeting,
)
from models import Group, Meeting, Member, Role
from models.base import utcnow
from models.meeting import NOTE_LENGTH

# What hosts type for "no limit on places" / "no note".
NO_LIMIT = frozenset({"none", "no", "keine", "kein", "keins", "nein", "unbegrenzt", "-", "0"})
NO_NOTE = frozenset({"-", "none", "keine", "kein"})
LABEL_LENGTH = 100


def _moment(text: str, *, day: date | None, now: datetime, zone: ZoneInfo) -> datetime:
    """The typed moment; with a picked `day`, the text is only its time."""
    if day is not None:
        text = f"{day:%d.%m.%Y} {text}"
    return parse_moment(text, now=now, zone=zone)


def _day(value: int) -> date:
    try:
        return date.fromordinal(value)
    except (ValueError, OverflowError) as error:
        raise HostError("unknown") from error


async def _show_meeting(
    message: Message, session: AsyncSession, meeting: Meeting, settings: Settings, *, edit: bool
) -> None:
    text, keyboard = await meeting_view(session, meeting, zone=settings.zone, now=utcnow())
    if edit:
        await show(message, text, keyboard)
    else:
        await message.answer(text, reply_markup=keyboard)


async def _show_group(
    message: Message, session: AsyncSession, group: Group, member: Member, settings: Settings
) -> None:
    text, keyboard = await group_view(session, group, member, zone=settings.zone, now=utcnow())
    await message.answer(text, reply_markup=keyboard)


# --- a new meeting --------------------------------------------------------------------------


async def add_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The next two weeks as day buttons."""
    group = await hosting.managed_group(session, member, roles, callback_data.group_id)
    await state.clear()
    today = utcnow().astimezone(settings.zone).date()
    await query.answer()
    await show(message, *views.day_picker(group, today, settings.zone))


async def day_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """The common times on the day picked."""
    group = await hosting.managed_group(session, member, roles, callback_data.group_id)
    day = _day(callback_data.value)
    await query.answer()
    await show(message, *views.time_picker(group, day, settings.zone))


async def time_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """Add the meeting at the day and time picked (a time that passed or doesn't exist that
    night is refused with the reason)."""
    group = await hosting.managed_group(session, member, roles, callback_data.group_id)
    try:
        day, clock = views.from_time_value(callback_data.value)
    except (ValueError, OverflowError) as error:
        raise HostError("unknown") from error
    now = utcnow()
    try:
        starts_at = _moment(f"{clock:%H:%M}", day=day, now=now, zone=settings.zone)
    except MomentError as error:
        await query.answer(str(error), show_alert=True)
        return
    existing = await schedule.meeting_id_at(session, group.id, starts_at)
    if existing is not None:
        # A second tap (or a time the group meets at anyway): the meeting is there; show it.
        meeting = await schedule.get_meeting(session, existing)
        await query.answer(views.error_text(HostError("exists")))
        await _show_meeting(message, session, meeting, settings, edit=True)
        return
    with schedule_refusals():
        meeting = await schedule.add_one_off(
            session, group_id=group.id, starts_at=starts_at, now=now
        )
    await session.commit()
    await query.answer(views.added(meeting, settings.zone))
    await _show_meeting(message, session, meeting, settings, edit=True)


async def typed_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Ask for the date and time (or only the time, `value` naming the day picked)."""
    group = await hosting.managed_group(session, member, roles, callback_data.group_id)
    day = _day(callback_data.value) if callback_data.value else None
    await state.set_state(HostFlow.moment)
    await state.set_data({"group_id": group.id, "day": day.toordinal() if day else None})
    await query.answer()
    if day is None:
        await message.answer(views.ask_moment(group))
    else:
        await message.answer(views.ask_time(day, settings.zone))


async def moment_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The new meeting's time, typed; a refusal says why and waits for another try."""
    data = await state.get_data()
    group = await typed_group(session, member, roles, state)
    day = _day(data["day"]) if data.get("day") else None
    now = utcnow()
    try:
        starts_at = _moment(message.text or "", day=day, now=now, zone=settings.zone)
    except MomentError as error:
        await message.answer(views.moment_error(str(error)))
        return
    with schedule_refusals():
        meeting = await schedule.add_one_off(
            session, group_id=group.id, starts_at=starts_at, now=now
        )
    await state.clear()
    await session.commit()
    await message.answer(views.added(meeting, settings.zone))
    await _show_meeting(message, session, meeting, settings, edit=False)


# --- one meeting ----------------------------------------------------------------------------


async def _ask_about_meeting(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Places, note or new time: ask for it and wait for the typed answer."""
    meeting = await hosting.managed_meeting(session, member, roles, callback_data.meeting_id)
    if meeting.cancelled:
        raise HostError("cancelled")
    if meeting.starts_at <= utcnow():
        raise HostError("started")
    step, ask = {
        HostAction.CAPACITY: (HostFlow.capacity, views.ask_capacity),
        HostAction.NOTE: (HostFlow.note, views.ask_note),
        HostAction.MOVE: (HostFlow.move, views.ask_move),
    }[callback_data.action]
    await state.set_state(step)
    await state.set_data({"meeting_id": meeting.id})
    await query.answer()
    await message.answer(ask(meeting, settings.zone))


def _capacity(text: str) -> int | None:
    """The typed number of places; None for no limit; HostError("capacity") otherwise."""
    value = text.strip().lower().strip("„“\"'")
    if value in NO_LIMIT:
        return None
    places = parse_int(value, maximum=999_999)
    if places is None:
        raise HostError("capacity")
    return places


async def capacity_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Set the places; waiting members who now fit move up and are told."""
    meeting = await typed_meeting(session, member, roles, state)
    capacity = _capacity(message.text or "")
    with schedule_refusals():
        promoted = await schedule.set_capacity(session, meeting.id, capacity, now=utcnow())
    await state.clear()
    await session.commit()
    await message.answer(views.capacity_set(capacity, len(promoted)))
    await _show_meeting(message, session, meeting, settings, edit=False)


async def note_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Set the note ("-" removes it); a note too long is refused and the step waits."""
    meeting = await typed_meeting(session, member, roles, state)
    text = (message.text or "").strip()
    note = None if text.lower() in NO_NOTE else text
    if note is not None and len(note) > NOTE_LENGTH:
        await message.answer(views.note_too_long(len(note)))
        return
    with schedule_refusals():
        await schedule.set_note(session, meeting.id, note, now=utcnow())
    await state.clear()
    await session.commit()
    await message.answer(views.note_set(note))
    await _show_meeting(message, session, meeting, settings, edit=False)


async def move_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Move the meeting to the typed time; everyone who said yes or maybe is told."""
    meeting = await typed_meeting(session, member, roles, state)
    now = utcnow()
    try:
        starts_at = parse_moment(message.text or "", now=now, zone=settings.zone)
    except MomentError as error:
        await message.answer(views.moment_error(str(error)))
        return
    with schedule_refusals():
        meeting = await schedule.move(session, meeting.id, starts_at=starts_at, now=now)
    told = await schedule.answered_count(session, meeting.id)
    await state.clear()
    await session.commit()
    await message.answer(views.moved(meeting, settings.zone, told))
    await _show_meeting(message, session, meeting, settings, edit=False)


async def cancel_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Ask before cancelling a date, saying how many will be told."""
    meeting = await hosting.managed_meeting(session, member, roles, callback_data.meeting_id)
    if meeting.cancelled:
        raise HostError("cancelled")
    await state.clear()
    told = await schedule.answered_count(session, meeting.id)
    await query.answer()
    await show(message, *views.cancel_question(meeting, settings.zone, told))


async def cancel_confirmed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """Cancel the date: it stays listed as cancelled, the yes and maybe are told."""
    meeting = await hosting.managed_meeting(session, member, roles, callback_data.meeting_id)
    told = await schedule.answered_count(session, meeting.id)
    with schedule_refusals():
        meeting = await schedule.cancel(session, meeting.id, now=utcnow())
    await session.commit()
    await query.answer(views.cancelled_date(meeting, settings.zone, told))
    await _show_meeting(message, session, meeting, settings, edit=True)


# --- the series -----------------------------------------------------------------------------


def _require_series(group: Group) -> None:
    if not group.rrule or group.series_ends_on is not None:
        raise HostError("no_series")


async def pause_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Ask for the period of the pause."""
    group = await hosting.managed_group(session, member, roles, callback_data.group_id)
    _require_series(group)
    await state.set_state(HostFlow.period)
    await state.set_data({"group_id": group.id})
    await query.answer()
    await message.answer(views.ask_period(group))


async def period_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The pause's period; then ask for its name."""
    group = await typed_group(session, member, roles, state)
    today = utcnow().astimezone(settings.zone).date()
    try:
        start, end = parse_period(message.text or "", today=today)
    except MomentError as error:
        await message.answer(views.moment_error(str(error)))
        return
    await state.set_state(HostFlow.label)
    await state.set_data({"group_id": group.id, "start": start.toordinal(), "end": end.toordinal()})
    text, keyboard = views.ask_label(group, start, end, settings.zone)
    await message.answer(text, reply_markup=keyboard)


async def _pause(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
    label: str | None,
) -> None:
    data = await state.get_data()
    group = await typed_group(session, member, roles, state)
    start, end = _day(int(data["start"])), _day(int(data["end"]))
    with schedule_refusals():
        cancelled = await schedule.pause(
            session,
            group.id,
            starts_on=start,
            ends_on=end,
            label=label,
            now=utcnow(),
            zone=settings.zone,
        )
    await state.clear()
    await session.commit()
    await message.answer(views.paused(start, end, settings.zone, len(cancelled)))
    await _show_group(message, session, group, member, settings)


async def label_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The pause's name (e.g. “Sommerpause”): pause the series."""
    label = (message.text or "").strip()
    if len(label) > LABEL_LENGTH:
        await message.answer(views.label_too_long())
        return
    await _pause(message, session, settings, member, roles, state, label or None)


async def no_label_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Pause without a name (only while that pause is being asked for)."""
    if not await in_step(state, HostFlow.label, "group_id", callback_data.group_id):
        await query.answer(views.step_closed())
        return
    await query.answer()
    await message.delete_reply_markup()
    await _pause(message, session, settings, member, roles, state, None)


async def end_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Ask before ending the series."""
    group = await hosting.managed_group(session, member, roles, callback_data.group_id)
    _require_series(group)
    await state.clear()
    await query.answer()
    await show(message, *views.end_question(group))


async def end_confirmed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """End the series: its future dates are cancelled and the yes and maybe told."""
    group = await hosting.managed_group(session, member, roles, callback_data.group_id)
    with schedule_refusals():
        cancelled = await schedule.end_series(session, group.id, now=utcnow(), zone=settings.zone)
    await session.commit()
    await query.answer()
    text, keyboard = await group_view(session, group, member, zone=settings.zone, now=utcnow())
    await show(message, f"{views.ended(len(cancelled))}\n\n{text}", keyboard)


def create_router() -> Router:
    """Managing dates; the feature's router (handlers.hosts) filters the chat."""
    router = Router(name=__name__)

    def press(handler: object, action: HostAction) -> None:
        router.callback_query.register(handler, HostCallback.filter(F.action == action), Shown())

    press(add_pressed, HostAction.ADD)
    press(day_pressed, HostAction.ADD_DAY)
    press(time_pressed, HostAction.ADD_TIME)
    press(typed_pressed, HostAction.ADD_TYPED)
    for action in (HostAction.CAPACITY, HostAction.NOTE, HostAction.MOVE):
        press(_ask_about_meeting, action)
    press(cancel_pressed, HostAction.CANCEL)
    press(cancel_confirmed, HostAction.CANCEL_OK)
    press(pause_pressed, HostAction.PAUSE)
    press(no_label_pressed, HostAction.PAUSE_NO_LABEL)
    press(end_pressed, HostAction.END)
    press(end_confirmed, HostAction.END_OK)
    typed = router.message.register
    typed(moment_typed, HostFlow.moment, *TYPED)
    typed(capacity_typed, HostFlow.capacity, *TYPED)
    typed(note_typed, HostFlow.note, *TYPED)
    typed(move_typed, HostFlow.move, *TYPED)
    typed(period_typed, HostFlow.period, *TYPED)
    typed(label_typed, HostFlow.label, *TYPED)
    return router
