"""/aktionen_planen: organisers (and hosts they allow) plan field actions in the chat.

The menu (also a button under /aktionen for planners), the staffing of every upcoming date, one
date to manage (people needed per shift, calling it off), a new action's conversation (kind,
title, place, Stadtteil, campaign, day or rule, shifts, material, summary), and which hosts may
plan (organisers only).

The router is guarded by role (hosts, organisers, admins); every command, press and typed step
asks bot.services.field_actions again: `is_planner` for creating and the overview, `can_manage`
for a given action. Refusals are PlanningError, explained in one place; a button of an earlier
step (or of another draft's message) is answered as over, like handlers.hosts' in_step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, cast

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import action_notices, audit, directory, field_actions, help_calls, shifts
from bot.services.errors import DomainError
from bot.services.field_actions import ActionError, PlannedShift, ShiftTextError, When
from bot.services.recurrence import RuleError
from bot.settings import Settings
from bot.telegram.callbacks import PlanAct, PlanCallback
from bot.telegram.commands import PLAN_ACTIONS
from bot.telegram.format import esc
from bot.telegram.guards import explain, guard, private_router
from bot.telegram.ids import parse_int
from bot.telegram.labels import action_kind_label
from bot.telegram.screens import Shown, show
from bot.telegram.views import action_planning as views
from models import ActionDate, ActionKind, AuditAction, Member, Role, Shift
from models.base import utcnow, valid_id
from models.field_action import MATERIAL_LENGTH, MAX_NEEDED, PLACE_LENGTH
from models.kv import NAME_LENGTH

PLANNER_ROLES = frozenset({Role.HOST, Role.ORGANISER, Role.ADMIN})
# A typed answer is any text that is not a command (commands keep working mid-conversation).
TYPED = (F.text, ~cast(Any, F.text).startswith("/"))
# How many of a new action's dates its answer shows.
FIRST_DATES = 3
MAX_WHEN_LENGTH = 200


class PlanFlow(StatesGroup):
    """A new action's steps, and a shift's people needed being typed."""

    kind = State()
    title = State()
    place = State()
    district = State()
    campaign = State()
    when = State()
    shifts = State()
    material = State()
    summary = State()
    needed = State()


class PlanningError(DomainError):
    """A planner's press or typed answer refused: "not_allowed" (no planner), "not_yours" (an
    action the planner may not change), "not_organiser", "not_host", "unknown", "step" (a
    button of a step that is over) and the services' reasons ("past", "needed", ...)."""


@contextmanager
def action_refusals() -> Iterator[None]:
    """A field action service's refusal as the planner's, explained by this router."""
    try:
        yield
    except ActionError as error:
        raise PlanningError(error.reason) from error


def _is_organiser(roles: frozenset[Role]) -> bool:
    return Role.ORGANISER in roles or Role.ADMIN in roles


async def _require_planner(session: AsyncSession, member: Member, roles: frozenset[Role]) -> None:
    if not await field_actions.is_planner(session, member.id, roles):
        raise PlanningError("not_allowed")


async def _managed_date(
    session: AsyncSession, member: Member, roles: frozenset[Role], date_id: int
) -> ActionDate:
    await _require_planner(session, member, roles)
    row = await field_actions.find_date(session, date_id)
    if row is None:
        raise PlanningError("unknown")
    if not await field_actions.can_manage(session, row.action, member.id, roles):
        raise PlanningError("not_yours")
    return row


async def _managed_shift(
    session: AsyncSession, member: Member, roles: frozenset[Role], shift_id: int
) -> Shift:
    await _require_planner(session, member, roles)
    shift = await field_actions.find_shift(session, shift_id)
    if shift is None:
        raise PlanningError("unknown")
    if not await field_actions.can_manage(session, shift.action_date.action, member.id, roles):
        raise PlanningError("not_yours")
    return shift


async def _in_step(state: FSMContext, step: State, message: Message) -> bool:
    """Whether the conversation is at `step` and the pressed message is that step's: a button
    of an earlier step or another draft must not act on the current one."""
    data = await state.get_data()
    return await state.get_state() == step.state and data.get("screen") == message.message_id


async def _step_over(query: CallbackQuery) -> None:
    await query.answer(views.step_closed(), show_alert=True)


# --- the menu --------------------------------------------------------------------------------


async def plan_command(
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The planner's menu; hosts nobody allowed yet hear that an organiser can."""
    if not await field_actions.is_planner(session, member.id, roles):
        await message.answer(views.not_allowed())
        return
    await state.clear()
    text, keyboard = views.menu(can_allow=_is_organiser(roles))
    await message.answer(text, reply_markup=keyboard)


async def menu_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The menu as a screen (from /aktionen's button or a « back)."""
    await _require_planner(session, member, roles)
    await state.clear()
    await query.answer()
    await show(message, *views.menu(can_allow=_is_organiser(roles)))


# --- staffing and one date -------------------------------------------------------------------


async def staffing_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Every upcoming date with filled/needed per shift, a page of it."""
    await _require_planner(session, member, roles)
    await state.clear()
    now = utcnow()
    items = await field_actions.upcoming_staffing(
        session, now=now, until=now + field_actions.HORIZON
    )
    manageable = frozenset(
        [
            item.action_date.id
            for item in items
            if await field_actions.can_manage(session, item.action_date.action, member.id, roles)
        ]
    )
    await query.answer()
    await show(
        message,
        *views.staffing(items, page=callback_data.page, zone=settings.zone, manageable=manageable),
    )


async def _date_view(
    session: AsyncSession, row: ActionDate, settings: Settings, *, reader: int | None = None
) -> tuple[str, Any]:
    """The date's screen; with `reader`, the list of its people shown is in the audit log."""
    [item] = await field_actions.staffing(session, [row])
    people = {shift.id: await shifts.people(session, shift.id) for shift in row.shifts}
    if reader is not None:
        await audit.record(
            session,
            reader,
            AuditAction.STAFFING_LIST,
            count=len({person.id for listed in people.values() for person in listed}),
            subject=f"date #{row.id}",
        )
        await session.commit()
    calls = await help_calls.stats(session, [shift.id for shift in row.shifts])
    return views.date_screen(item, people=people, calls=calls, zone=settings.zone, now=utcnow())


async def _date_view_of(session: AsyncSession, shift: Shift, settings: Settings) -> tuple[str, Any]:
    # A date reached through a shift has no shifts loaded: load it by its own query.
    with action_refusals():
        row = await field_actions.get_date(session, shift.action_date_id)
    return await _date_view(session, row, settings)


async def date_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """One date: who holds each shift, the calls for help, and what can be changed."""
    row = await _managed_date(session, member, roles, callback_data.date_id)
    await state.clear()
    await query.answer()
    await show(message, *await _date_view(session, row, settings, reader=member.id))


async def needed_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """➖/➕: the shift needs `value` people (an absolute number, so a second tap is harmless)."""
    shift = await _managed_shift(session, member, roles, callback_data.shift_id)
    if shift.action_date.cancelled:
        raise PlanningError("cancelled")
    with action_refusals():
        shift = await field_actions.set_needed(session, shift.id, callback_data.value, now=utcnow())
    await session.commit()
    await query.answer(views.needed_set(shift, settings.zone))
    await show(message, *await _date_view_of(session, shift, settings))


async def shift_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Ask for the number of people the shift needs, typed."""
    shift = await _managed_shift(session, member, roles, callback_data.shift_id)
    if shift.action_date.cancelled:
        raise PlanningError("cancelled")
    if shift.starts_at <= utcnow():
        raise PlanningError("past")
    await state.set_state(PlanFlow.needed)
    await state.set_data({"shift_id": shift.id})
    await query.answer()
    await message.answer(views.ask_needed(shift, settings.zone))


async def needed_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The typed number of people; anything else is refused and the step waits."""
    shift_id = (await state.get_data()).get("shift_id")
    try:
        shift = await _managed_shift(
            session, member, roles, shift_id if isinstance(shift_id, int) else 0
        )
    except PlanningError:
        await state.clear()
        raise
    needed = parse_int(message.text, minimum=1, maximum=MAX_NEEDED)
    if needed is None:
        await message.answer(views.needed_invalid())
        return
    with action_refusals():
        shift = await field_actions.set_needed(session, shift.id, needed, now=utcnow())
    await state.clear()
    await session.commit()
    await message.answer(views.needed_set(shift, settings.zone))
    text, keyboard = await _date_view_of(session, shift, settings)
    await message.answer(text, reply_markup=keyboard)


async def cancel_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Ask before calling off a date, saying how many will be told."""
    row = await _managed_date(session, member, roles, callback_data.date_id)
    if row.cancelled:
        raise PlanningError("cancelled")
    await state.clear()
    holders = await shifts.holder_ids(session, [shift.id for shift in row.shifts])
    told = len(set().union(*holders.values())) if holders else 0
    await query.answer()
    await show(
        message, *views.cancel_question(row.day, row.action.title, told, row.id, settings.zone)
    )


async def cancel_confirmed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """Call the date off; everyone on its shifts is told through the outbox, in the same
    transaction."""
    row = await _managed_date(session, member, roles, callback_data.date_id)
    if row.cancelled:
        raise PlanningError("cancelled")
    now = utcnow()
    with action_refusals():
        row = await field_actions.cancel_date(session, row.id, now=now)
    told = await action_notices.queue_cancelled(session, row, now=now)
    await audit.record(
        session,
        member.id,
        AuditAction.ACTION_CANCELLED,
        count=told,
        subject=f"date #{row.id}",
        at=now,
    )
    await session.commit()
    await query.answer(views.cancelled(told))
    await show(message, *await _date_view(session, row, settings))


# --- a new action ----------------------------------------------------------------------------


async def _ask(message: Message, state: FSMContext, step: State, text: str, keyboard: Any) -> None:
    """Send a step's question; its message's buttons belong to this step."""
    sent = await message.answer(text, reply_markup=keyboard)
    await state.set_state(step)
    await state.update_data(screen=sent.message_id)


async def _typed_planner(
    session: AsyncSession, member: Member, roles: frozenset[Role], state: FSMContext
) -> dict[str, Any]:
    """The draft of a typed step, after checking again that the member may plan (the role
    may be gone by then); a refusal ends the conversation."""
    try:
        await _require_planner(session, member, roles)
    except PlanningError:
        await state.clear()
        raise
    return await state.get_data()


async def new_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Start a new action: its kind first."""
    await _require_planner(session, member, roles)
    await state.clear()
    await query.answer()
    await _ask(message, state, PlanFlow.kind, *views.ask_kind())


async def kind_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The kind; then ask for the title."""
    await _require_planner(session, member, roles)
    if not await _in_step(state, PlanFlow.kind, message):
        await _step_over(query)
        return
    if not 0 <= callback_data.value < len(views.KINDS):
        raise PlanningError("unknown")
    kind = views.KINDS[callback_data.value]
    await query.answer()
    await show(message, views.chosen(views.kind_word(), action_kind_label(kind)), None)
    await state.update_data(kind=kind.value)
    await _ask(message, state, PlanFlow.title, views.ask_title(), None)


async def title_typed(
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The title; then ask where."""
    await _typed_planner(session, member, roles, state)
    title = (message.text or "").strip()
    if not 0 < len(title) <= NAME_LENGTH:
        await message.answer(views.input_error("title"))
        return
    await state.update_data(title=title)
    await _ask(message, state, PlanFlow.place, views.ask_place(), None)


async def place_typed(
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The place or area; then the Stadtteil (skipped when the KV has none)."""
    await _typed_planner(session, member, roles, state)
    place = (message.text or "").strip()
    if not 0 < len(place) <= PLACE_LENGTH:
        await message.answer(views.input_error("place"))
        return
    await state.update_data(place=place)
    districts = await directory.districts(session)
    if districts:
        await _ask(message, state, PlanFlow.district, *views.ask_district(districts))
    else:
        await state.update_data(district_id=None)
        await _ask_campaign(message, session, state)


async def _ask_campaign(message: Message, session: AsyncSession, state: FSMContext) -> None:
    campaigns = await field_actions.campaigns(session)
    if campaigns:
        await _ask(message, state, PlanFlow.campaign, *views.ask_campaign(campaigns))
    else:
        await state.update_data(campaign_id=None)
        await _ask(message, state, PlanFlow.when, views.ask_when(), None)


async def district_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The Stadtteil (or none); then the campaign."""
    await _require_planner(session, member, roles)
    if not await _in_step(state, PlanFlow.district, message):
        await _step_over(query)
        return
    name = views.none_word()
    district_id = None
    if callback_data.value:
        districts = {district.id: district for district in await directory.districts(session)}
        district = districts.get(callback_data.value)
        if district is None:
            raise PlanningError("unknown")
        name, district_id = district.name, district.id
    await query.answer()
    await show(message, views.chosen(views.district_word(), esc(name)), None)
    await state.update_data(district_id=district_id)
    await _ask_campaign(message, session, state)


async def campaign_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The campaign (or none); then ask when."""
    await _require_planner(session, member, roles)
    if not await _in_step(state, PlanFlow.campaign, message):
        await _step_over(query)
        return
    name = views.none_word()
    campaign_id = None
    if callback_data.value:
        campaign = await field_actions.find_campaign(session, callback_data.value)
        if campaign is None:
            raise PlanningError("unknown")
        name, campaign_id = campaign.name, campaign.id
    await query.answer()
    await show(message, views.chosen(views.campaign_word(), esc(name)), None)
    await state.update_data(campaign_id=campaign_id)
    await _ask(message, state, PlanFlow.when, views.ask_when(), None)


def _when_data(when: When) -> dict[str, Any]:
    def day(value: date | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "day": day(when.on_day),
        "rule": when.rule,
        "starts": day(when.starts_on),
        "ends": day(when.ends_on),
    }


def _when_of(data: dict[str, Any]) -> When:
    def day(value: object) -> date | None:
        return date.fromisoformat(value) if isinstance(value, str) else None

    when = data.get("when") or {}
    return When(
        on_day=day(when.get("day")),
        rule=when.get("rule"),
        starts_on=day(when.get("starts")),
        ends_on=day(when.get("ends")),
    )


async def when_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """One day or a rule with an optional period; then the shifts."""
    await _typed_planner(session, member, roles, state)
    text = (message.text or "").strip()
    today = utcnow().astimezone(settings.zone).date()
    if len(text) > MAX_WHEN_LENGTH:
        await message.answer(views.input_error("when_long"))
        return
    try:
        when = field_actions.parse_when(text, today=today)
    except RuleError as error:
        await message.answer(views.when_error(str(error)))
        return
    campaign = await field_actions.find_campaign(
        session, (await state.get_data()).get("campaign_id")
    )
    try:
        field_actions.check_when(when, campaign=campaign)
        if when.on_day is not None:
            field_actions.check_day(when.on_day, (), now=utcnow(), zone=settings.zone)
    except ActionError as error:
        await message.answer(views.input_error(error.reason))
        return
    await state.update_data(when=_when_data(when))
    await _ask(message, state, PlanFlow.shifts, *views.ask_shifts())


async def _take_shifts(
    message: Message,
    state: FSMContext,
    settings: Settings,
    plan: tuple[PlannedShift, ...],
) -> bool:
    """Keep the plan (a single day's first shift must lie ahead); then the material step."""
    when = _when_of(await state.get_data())
    if when.on_day is not None:
        try:
            field_actions.check_day(when.on_day, plan, now=utcnow(), zone=settings.zone)
        except ActionError as error:
            await message.answer(views.input_error(error.reason))
            return False
    await state.update_data(shifts=[item.as_json() for item in plan])
    await _ask(message, state, PlanFlow.material, *views.ask_material())
    return True


async def shifts_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The typed shifts; a part that can't be used is named and the step waits."""
    await _typed_planner(session, member, roles, state)
    try:
        plan = field_actions.parse_shifts(message.text or "")
    except ShiftTextError as error:
        await message.answer(views.input_error(error.reason, error.part))
        return
    except ActionError as error:
        await message.answer(views.input_error(error.reason))
        return
    await _take_shifts(message, state, settings, plan)


async def preset_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """A ready-made shift plan."""
    await _require_planner(session, member, roles)
    if not await _in_step(state, PlanFlow.shifts, message):
        await _step_over(query)
        return
    options = views.presets()
    if not 0 <= callback_data.value < len(options):
        raise PlanningError("unknown")
    preset = options[callback_data.value]
    await query.answer()
    if await _take_shifts(message, state, settings, preset.shifts):
        await show(message, views.chosen(views.shifts_word(), preset.name), None)


async def _show_summary(
    message: Message, session: AsyncSession, state: FSMContext, settings: Settings
) -> None:
    data = await state.get_data()
    text, keyboard = views.summary(**await _draft(session, data), zone=settings.zone)
    await _ask(message, state, PlanFlow.summary, text, keyboard)


async def _draft(session: AsyncSession, data: dict[str, Any]) -> dict[str, Any]:
    """The draft's values as the summary shows them."""
    district = campaign = None
    if data.get("district_id"):
        found = {item.id: item.name for item in await directory.districts(session)}
        district = found.get(data["district_id"])
    if data.get("campaign_id"):
        found = {item.id: item.name for item in await field_actions.campaigns(session)}
        campaign = found.get(data["campaign_id"])
    return {
        "kind": ActionKind(data["kind"]),
        "title": data["title"],
        "place": data["place"],
        "district": district,
        "campaign": campaign,
        "when": _when_of(data),
        "plan": _plan_of(data),
        "material": data.get("material"),
    }


def _plan_of(data: dict[str, Any]) -> tuple[PlannedShift, ...]:
    return tuple(
        PlannedShift(
            start=field_actions.parse_time(entry["start"]),
            end=field_actions.parse_time(entry["end"]),
            needed=int(entry["needed"]),
            label=entry.get("label"),
        )
        for entry in data.get("shifts") or ()
    )


async def material_typed(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Material notes; then the summary."""
    await _typed_planner(session, member, roles, state)
    material = (message.text or "").strip()
    if len(material) > MATERIAL_LENGTH:
        await message.answer(views.input_error("material"))
        return
    await state.update_data(material=material or None)
    await _show_summary(message, session, state, settings)


async def skip_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """No material notes; the summary."""
    await _require_planner(session, member, roles)
    if not await _in_step(state, PlanFlow.material, message):
        await _step_over(query)
        return
    await query.answer()
    await message.delete_reply_markup()
    await state.update_data(material=None)
    await _show_summary(message, session, state, settings)


async def save_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Create the action as summarised, with the planner as its contact; answer with its first
    dates and their staffing."""
    await _require_planner(session, member, roles)
    if not await _in_step(state, PlanFlow.summary, message):
        await _step_over(query)
        return
    draft = await _draft(session, await state.get_data())
    data = await state.get_data()
    when: When = draft["when"]
    now = utcnow()
    try:
        action = await field_actions.create(
            session,
            kind=draft["kind"],
            title=draft["title"],
            place=draft["place"],
            shifts=draft["plan"],
            now=now,
            zone=settings.zone,
            on_day=when.on_day,
            rule=when.rule,
            starts_on=when.starts_on,
            ends_on=when.ends_on,
            district_id=data.get("district_id") if draft["district"] else None,
            campaign_id=data.get("campaign_id") if draft["campaign"] else None,
            material=draft["material"],
            contact_id=member.id,
        )
    except ActionError as error:
        # Nothing was stored; the draft stays. A day that passed meanwhile is asked again.
        await query.answer(views.input_error(error.reason), show_alert=True)
        if error.reason in {"past", "too_far"}:
            await message.delete_reply_markup()
            await _ask(message, state, PlanFlow.when, views.ask_when(), None)
        return
    await session.commit()
    await state.clear()
    dates = await field_actions.upcoming_dates(
        session,
        now=now,
        until=now + field_actions.HORIZON,
        include_cancelled=False,
        action_ids=[action.id],
    )
    items = await field_actions.staffing(session, dates[:FIRST_DATES])
    await query.answer()
    await message.delete_reply_markup()
    text, keyboard = views.saved(action.title, items, settings.zone)
    await message.answer(text, reply_markup=keyboard)


async def buttons_step_typed(message: Message, state: FSMContext) -> None:
    """Text typed where the step wants a button: point to the buttons (the step waits)."""
    del state
    await message.answer(views.use_buttons())


# --- who may plan ----------------------------------------------------------------------------


async def planners_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The hosts with a toggle each (organisers and admins only)."""
    if not _is_organiser(roles):
        raise PlanningError("not_organiser")
    await state.clear()
    await query.answer()
    await show(message, *views.planners(await field_actions.hosts_as_planners(session)))


async def planner_pressed(
    query: CallbackQuery,
    callback_data: PlanCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """Allow a host to plan actions (`value` 1) or stop it (0)."""
    if not _is_organiser(roles):
        raise PlanningError("not_organiser")
    if not valid_id(callback_data.member_id) or not await field_actions.is_host(
        session, callback_data.member_id
    ):
        raise PlanningError("not_host")
    host = await session.get(Member, callback_data.member_id)
    assert host is not None
    allowed = callback_data.value == 1
    await field_actions.allow_planner(session, host.id, allowed=allowed, by=member.id, now=utcnow())
    await session.commit()
    await query.answer(views.planner_changed(host, allowed))
    await show(message, *views.planners(await field_actions.hosts_as_planners(session)))


# --- the router ------------------------------------------------------------------------------


def create_router() -> Router:
    """Planning field actions, for hosts, organisers and admins (re-checked per action)."""
    router = private_router(__name__)
    router.message.register(plan_command, Command(*PLAN_ACTIONS.aliases))

    def press(handler: object, act: PlanAct) -> None:
        router.callback_query.register(handler, PlanCallback.filter(F.act == act), Shown())

    press(menu_pressed, PlanAct.MENU)
    press(staffing_pressed, PlanAct.STAFFING)
    press(date_pressed, PlanAct.DATE)
    press(needed_pressed, PlanAct.NEEDED)
    press(shift_pressed, PlanAct.SHIFT)
    press(cancel_pressed, PlanAct.CANCEL_DATE)
    press(cancel_confirmed, PlanAct.CANCEL_DATE_OK)
    press(new_pressed, PlanAct.NEW)
    press(kind_pressed, PlanAct.KIND)
    press(district_pressed, PlanAct.DISTRICT)
    press(campaign_pressed, PlanAct.CAMPAIGN)
    press(preset_pressed, PlanAct.PRESET)
    press(skip_pressed, PlanAct.SKIP)
    press(save_pressed, PlanAct.SAVE)
    press(planners_pressed, PlanAct.PLANNERS)
    press(planner_pressed, PlanAct.PLANNER)
    typed = router.message.register
    typed(title_typed, PlanFlow.title, *TYPED)
    typed(place_typed, PlanFlow.place, *TYPED)
    typed(when_typed, PlanFlow.when, *TYPED)
    typed(shifts_typed, PlanFlow.shifts, *TYPED)
    typed(material_typed, PlanFlow.material, *TYPED)
    typed(needed_typed, PlanFlow.needed, *TYPED)
    typed(
        buttons_step_typed,
        StateFilter(PlanFlow.kind, PlanFlow.district, PlanFlow.campaign, PlanFlow.summary),
        *TYPED,
    )
    explain(router, PlanningError, lambda error: views.refusal(error.reason), alert=True)
    return guard(
        router,
        roles=PLANNER_ROLES,
        refusal=views.not_planner,
        commands=[PLAN_ACTIONS],
        callbacks=[PlanCallback],
        states=[PlanFlow],
    )


__all__ = ["PlanFlow", "create_router"]
