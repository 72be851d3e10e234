"""The intake's steps as one table, and moving the conversation between them.

For each step: its conversation state, where its options come from, the question that shows
them (bot.telegram.views.intake), how a press is stored (bot.services.profile), and what comes
next. handlers/intake.py answers the buttons with it; handlers/start.py asks the first question
after consent with it (handlers don't import each other).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory
from bot.services.members import load_answers
from bot.services.profile import (
    set_activity_type,
    set_contact_frequency,
    set_district,
    set_free_time_slot,
    set_topic,
)
from bot.telegram.callbacks import IntakeStep
from bot.telegram.labels import frequency_label, slot_label
from bot.telegram.views import intake as views
from models import ContactFrequency, FreeTime, Member, Profile

logger = logging.getLogger(__name__)

# Free-time slots and frequencies travel in buttons as their index here.
FREE_TIME_ORDER: tuple[FreeTime, ...] = tuple(FreeTime)
FREQUENCY_ORDER: tuple[ContactFrequency, ...] = tuple(ContactFrequency)
# The district button for "not sure / outside" (district ids start at 1).
OUTSIDE = 0
# In the conversation's data: Next, Skip and a choice lead back to the summary (editing an
# answer from /profil) rather than to the following question.
BACK_TO_SUMMARY = "back_to_summary"
# In the conversation's data: the message that shows the current step. Its buttons are the live
# ones; when the step is shown in another message, this one's buttons are taken away (`shown`).
SCREEN = "intake_screen"


class Intake(StatesGroup):
    """The intake conversation: one state per step, then the summary."""

    topics = State()
    district = State()
    activities = State()
    free_time = State()
    frequency = State()
    summary = State()


Options = Callable[[AsyncSession, Profile], Awaitable[list[views.Option]]]
# (session, member, value from the button, chosen): stores one press; raises ProfileError.
Store = Callable[[AsyncSession, Member, int, bool], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Step:
    """One question of the intake."""

    state: State
    options: Options
    question: views.Question
    store: Store
    next: IntakeStep
    # Several options switched on and off, then Next; or one choice, which moves on at once.
    several: bool


async def _topics(session: AsyncSession, profile: Profile) -> list[views.Option]:
    chosen = {topic.id for topic in (await load_answers(session, profile)).topics}
    return [
        views.Option(topic.id, topic.name, topic.id in chosen)
        for topic in await directory.topics(session)
    ]


async def _districts(session: AsyncSession, profile: Profile) -> list[views.Option]:
    options = [
        views.Option(district.id, district.name, district.id == profile.district_id)
        for district in await directory.districts(session)
    ]
    outside = views.Option(OUTSIDE, _("Not sure / outside"), profile.outside_districts, alone=True)
    return [*options, outside]


async def _activity_types(session: AsyncSession, profile: Profile) -> list[views.Option]:
    chosen = {kind.id for kind in (await load_answers(session, profile)).activity_types}
    return [
        views.Option(kind.id, kind.name, kind.id in chosen)
        for kind in await directory.activity_types(session)
    ]


async def _free_time(_session: AsyncSession, profile: Profile) -> list[views.Option]:
    return [
        views.Option(index, slot_label(slot), slot.value in profile.free_time)
        for index, slot in enumerate(FREE_TIME_ORDER)
    ]


async def _frequencies(_session: AsyncSession, profile: Profile) -> list[views.Option]:
    return [
        views.Option(index, frequency_label(frequency), profile.contact_frequency == frequency)
        for index, frequency in enumerate(FREQUENCY_ORDER)
    ]


def _nth(values: Sequence[str], index: int) -> str:
    """The `index`-th value; "" for an index from a forged button, which the service refuses."""
    return values[index] if 0 <= index < len(values) else ""


async def _store_topic(session: AsyncSession, member: Member, value: int, chosen: bool) -> bool:
    return await set_topic(session, member, value, chosen=chosen)


async def _store_district(session: AsyncSession, member: Member, value: int, _chosen: bool) -> None:
    await set_district(session, member, None if value == OUTSIDE else value)


async def _store_activity_type(
    session: AsyncSession, member: Member, value: int, chosen: bool
) -> bool:
    return await set_activity_type(session, member, value, chosen=chosen)


async def _store_free_time(
    _session: AsyncSession, member: Member, value: int, chosen: bool
) -> bool:
    return set_free_time_slot(member, _nth(FREE_TIME_ORDER, value), chosen=chosen)


async def _store_frequency(
    _session: AsyncSession, member: Member, value: int, _chosen: bool
) -> None:
    set_contact_frequency(member, _nth(FREQUENCY_ORDER, value))


STEPS: dict[IntakeStep, Step] = {
    IntakeStep.TOPICS: Step(
        Intake.topics,
        _topics,
        views.topics_question,
        _store_topic,
        next=IntakeStep.DISTRICT,
        several=True,
    ),
    IntakeStep.DISTRICT: Step(
        Intake.district,
        _districts,
        views.district_question,
        _store_district,
        next=IntakeStep.ACTIVITIES,
        several=False,
    ),
    IntakeStep.ACTIVITIES: Step(
        Intake.activities,
        _activity_types,
        views.activities_question,
        _store_activity_type,
        next=IntakeStep.FREE_TIME,
        several=True,
    ),
    IntakeStep.FREE_TIME: Step(
        Intake.free_time,
        _free_time,
        views.free_time_question,
        _store_free_time,
        next=IntakeStep.FREQUENCY,
        several=True,
    ),
    IntakeStep.FREQUENCY: Step(
        Intake.frequency,
        _frequencies,
        views.frequency_question,
        _store_frequency,
        next=IntakeStep.SUMMARY,
        several=False,
    ),
}
# The order the questions are asked and numbered in ("Step 2 of 5"); Back goes one up.
ORDER: tuple[IntakeStep, ...] = tuple(STEPS)
FIRST = ORDER[0]
SEVERAL = frozenset(key for key, step in STEPS.items() if step.several)
ONE = frozenset(key for key, step in STEPS.items() if not step.several)
STATE_OF: dict[IntakeStep, State] = {key: step.state for key, step in STEPS.items()} | {
    IntakeStep.SUMMARY: Intake.summary
}


STEP_OF: dict[str, IntakeStep] = {state.state: key for key, state in STATE_OF.items()}


def current(raw_state: str | None) -> IntakeStep | None:
    """The step (or the summary) a conversation in `raw_state` is at; None outside the intake."""
    return STEP_OF.get(raw_state) if raw_state is not None else None


def carried(data: Mapping[str, Any]) -> dict[str, Any]:
    """What of the conversation's data belongs to the intake (kept when /start resumes it)."""
    return {key: data[key] for key in (BACK_TO_SUMMARY, SCREEN) if key in data}


def previous(key: IntakeStep) -> IntakeStep:
    """The step before `key` (Back); the first step has no Back button."""
    return ORDER[max(ORDER.index(key) - 1, 0)]


async def following(state: FSMContext, key: IntakeStep) -> IntakeStep:
    """Where Next, Skip or a choice on `key` leads: the table's next, or back to the summary."""
    if (await state.get_data()).get(BACK_TO_SUMMARY):
        return IntakeStep.SUMMARY
    return STEPS[key].next


async def begin(state: FSMContext, session: AsyncSession, member: Member) -> views.Screen:
    """Move the conversation to the first question and return it."""
    await state.update_data({BACK_TO_SUMMARY: False})
    return await enter(state, session, member, FIRST)


async def resume(state: FSMContext, session: AsyncSession, member: Member) -> views.Screen:
    """The step the conversation is at, answers as stored; the first step when there is none."""
    key = current(await state.get_state())
    if key is None:
        return await begin(state, session, member)
    return await screen(session, member, key)


async def shown(state: FSMContext, bot: Bot, chat_id: int, message_id: int) -> None:
    """Message `message_id` shows the intake now: the one that showed it before loses its
    buttons, so only one message's buttons answer (an old one's press would only refresh)."""
    before = (await state.get_data()).get(SCREEN)
    if before != message_id:
        await state.update_data({SCREEN: message_id})
    if isinstance(before, int) and before != message_id:
        await retire(bot, chat_id, before)


async def retire(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take the buttons off an intake message that no longer shows the current step.

    Not being able to (deleted by the member, too old) is fine: a press on it only refreshes.
    """
    try:
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
    except TelegramBadRequest as exc:
        logger.info("intake message %s keeps its buttons: %s", message_id, exc.message)


async def enter(
    state: FSMContext, session: AsyncSession, member: Member, key: IntakeStep
) -> views.Screen:
    """Move the conversation to step `key` (or the summary) and return its screen."""
    await state.set_state(STATE_OF[key])
    if key is IntakeStep.SUMMARY:
        await state.update_data({BACK_TO_SUMMARY: False})
    return await screen(session, member, key)


async def screen(session: AsyncSession, member: Member, key: IntakeStep) -> views.Screen:
    """Step `key`'s question with the member's answers so far, or the summary."""
    profile = member.profile
    assert profile is not None  # the intake's routers pass only members who consented
    if key is IntakeStep.SUMMARY:
        return views.summary(await load_answers(session, profile), ORDER)
    step = STEPS[key]
    position = views.Position(ORDER.index(key) + 1, len(ORDER))
    return step.question(await step.options(session, profile), position)
