"""/umfrage: organisers list surveys, compose a new one step by step, start it, see figures.

The draft (bot.services.survey_draft.SurveyDraft) lives in the conversation state, so a restart
keeps it; the survey becomes rows only on "Start". Who may do this is the feature router's role
filter (handlers.surveys); every id from a button is checked against the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audience as segments
from bot.services import survey_draft, surveys
from bot.services.broadcasts import parse_local_time
from bot.services.survey_draft import DraftQuestion, SurveyDraft, SurveyInputError
from bot.settings import Settings
from bot.telegram.callbacks import SurveyPlanAction, SurveyPlanCallback
from bot.telegram.commands import SURVEY
from bot.telegram.screens import show
from bot.telegram.views import survey_planning as views
from bot.telegram.views import surveys as survey_views
from models import QuestionKind, Survey, Topic
from models.base import utcnow

logger = logging.getLogger(__name__)


async def _reply(message: Message, screen: tuple[str, InlineKeyboardMarkup | None]) -> None:
    """Send `screen` (text and buttons) as a new message in the chat."""
    await message.answer(screen[0], reply_markup=screen[1])


DRAFT = "survey_draft"


class SurveyPlanFlow(StatesGroup):
    """Composing: the title, then questions (kind, wording, options), audience, end."""

    waiting_for_title = State()
    building = State()
    waiting_for_prompt = State()
    waiting_for_options = State()
    waiting_for_end = State()


DRAFT_STATES = tuple(
    state.state
    for state in (
        SurveyPlanFlow.building,
        SurveyPlanFlow.waiting_for_prompt,
        SurveyPlanFlow.waiting_for_options,
        SurveyPlanFlow.waiting_for_end,
    )
)
# The buttons of an open draft; pressed when it is closed, they get a quiet note.
DRAFT_ACTIONS = frozenset(set(SurveyPlanAction) - {SurveyPlanAction.NEW, SurveyPlanAction.SHOW})


class OpenSurveyDraft(Filter):
    """Passes while a survey draft is open, handing it on as `draft`."""

    async def __call__(self, event: TelegramObject, state: FSMContext) -> bool | dict[str, Any]:
        """The open draft, or False."""
        del event
        if await state.get_state() not in DRAFT_STATES:
            return False
        try:
            draft = SurveyDraft.from_json((await state.get_data()).get(DRAFT))
        except ValueError:
            return False
        return {"draft": draft}


async def _save(state: FSMContext, draft: SurveyDraft, step: State) -> None:
    await state.update_data({DRAFT: draft.to_json()})
    await state.set_state(step)


async def _topics(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(Topic.name).order_by(Topic.position, Topic.name)))


async def _ask_title(message: Message, state: FSMContext) -> None:
    await state.set_data({})
    await state.set_state(SurveyPlanFlow.waiting_for_title)
    await message.answer(views.ask_title())


async def survey_command(
    message: Message, session: AsyncSession, settings: Settings, state: FSMContext
) -> None:
    """The surveys there are (open first) with "New survey"; with none, a new draft."""
    listed = await surveys.listed(session)
    if not listed:
        await _ask_title(message, state)
        return
    await state.clear()
    await _reply(message, views.overview(listed, settings.zone))


async def new_pressed(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """ "New survey" under the list."""
    await query.answer()
    await _ask_title(message, state)


async def title_received(message: Message, state: FSMContext) -> None:
    """The title (and an introduction): on to the first question's kind."""
    title, intro = survey_draft.parse_title(message.text or "")
    draft = SurveyDraft(title=title, intro=intro)
    await _save(state, draft, SurveyPlanFlow.building)
    await _reply(message, views.ask_kind(draft))


async def kind_pressed(
    query: CallbackQuery,
    callback_data: SurveyPlanCallback,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    draft: SurveyDraft,
) -> None:
    """The next question's kind: ask for its wording."""
    kind = views.KINDS[callback_data.value]
    if kind is QuestionKind.RANKING and len(await _topics(session)) < 2:
        raise SurveyInputError("few_topics")
    if len(draft.questions) >= survey_draft.MAX_QUESTIONS:
        raise SurveyInputError("many_questions")
    draft = draft.with_pending(DraftQuestion(kind, ""))
    await _save(state, draft, SurveyPlanFlow.waiting_for_prompt)
    await query.answer()
    await message.answer(views.ask_prompt(kind))


async def prompt_received(message: Message, state: FSMContext, draft: SurveyDraft) -> None:
    """The question's wording; options next for a choice, else the question is complete."""
    if draft.pending is None:
        await _reply(message, views.ask_kind(draft))
        await _save(state, draft, SurveyPlanFlow.building)
        return
    prompt = survey_draft.parse_prompt(message.text or "")
    question = DraftQuestion(draft.pending.kind, prompt)
    if question.kind in survey_draft.TYPED_OPTIONS:
        draft = draft.with_pending(question)
        await _save(state, draft, SurveyPlanFlow.waiting_for_options)
        await message.answer(views.ask_options())
        return
    draft = draft.with_question(question)
    await _save(state, draft, SurveyPlanFlow.building)
    await _reply(message, views.ask_kind(draft))


async def options_received(message: Message, state: FSMContext, draft: SurveyDraft) -> None:
    """The options, one per line: the question is complete."""
    if draft.pending is None:
        await _save(state, draft, SurveyPlanFlow.building)
        await _reply(message, views.ask_kind(draft))
        return
    options = survey_draft.parse_options(message.text or "")
    draft = draft.with_question(DraftQuestion(draft.pending.kind, draft.pending.prompt, options))
    await _save(state, draft, SurveyPlanFlow.building)
    await _reply(message, views.ask_kind(draft))


async def _audience_screen(
    session: AsyncSession, audience: segments.Audience, zone: ZoneInfo
) -> tuple[str, Any]:
    chosen = await segments.chosen(session, audience)
    reach = await segments.reach(session, audience, segments.Category.ANNOUNCEMENTS)
    return views.audience_panel(chosen, reach, audience, zone)


async def audience_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: SurveyDraft,
) -> None:
    """The audience panel (questions are done; a question half typed is dropped)."""
    if not draft.questions:
        raise SurveyInputError("no_questions")
    draft = draft.with_audience(draft.audience)
    await _save(state, draft, SurveyPlanFlow.building)
    await query.answer()
    await show(message, *(await _audience_screen(session, draft.audience, settings.zone)))


async def _page(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    draft: SurveyDraft,
    dimension: segments.Dimension,
    options: list[segments.Option],
    zone: ZoneInfo,
) -> None:
    reach = await segments.reach(session, draft.audience, segments.Category.ANNOUNCEMENTS)
    await _save(state, draft, SurveyPlanFlow.building)
    await query.answer()
    await show(message, *views.dimension_page(dimension, options, draft.audience, reach, zone))


async def dimension_pressed(
    query: CallbackQuery,
    callback_data: SurveyPlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: SurveyDraft,
) -> None:
    """Open one kind of criterion, or choose or unchoose one of its values."""
    assert callback_data.dim is not None  # the filter asks for one
    dimension = views.DIMENSION_OF[callback_data.dim]
    options = await segments.options(session, dimension, now=utcnow())
    if callback_data.action is SurveyPlanAction.ADD:
        audience = draft.audience.with_value(dimension, callback_data.value, options)
        draft = draft.with_audience(audience)
    elif callback_data.action is SurveyPlanAction.REMOVE:
        draft = draft.with_audience(draft.audience.without_value(dimension, callback_data.value))
    await _page(query, message, session, state, draft, dimension, options, settings.zone)


async def everyone_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: SurveyDraft,
) -> None:
    """No criteria: everyone who signed up."""
    draft = draft.with_audience(segments.Audience())
    await _save(state, draft, SurveyPlanFlow.building)
    await query.answer()
    await show(message, *(await _audience_screen(session, draft.audience, settings.zone)))


async def end_pressed(
    query: CallbackQuery, settings: Settings, state: FSMContext, draft: SurveyDraft
) -> None:
    """Ask for the end date and time."""
    await _save(state, draft, SurveyPlanFlow.waiting_for_end)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(views.ask_end(settings.zone))


async def end_received(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: SurveyDraft,
) -> None:
    """The end in the KV's zone (a ScheduleError is explained and the draft waits): preview."""
    ends_at = parse_local_time(message.text or "", settings.zone, utcnow())
    draft = draft.ending(ends_at)
    await _save(state, draft, SurveyPlanFlow.building)
    chosen = await segments.chosen(session, draft.audience)
    reach = await segments.reach(session, draft.audience, segments.Category.ANNOUNCEMENTS)
    topics = await _topics(session)
    await _reply(message, views.preview(draft, chosen, reach, topics, settings.zone))


async def start_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: SurveyDraft,
    wake_outbox: Callable[[], None] | None = None,
) -> None:
    """Store the survey and queue the invitations (once per draft, see surveys.start)."""
    if draft.ends_at is None:
        await query.answer()
        await _save(state, draft, SurveyPlanFlow.waiting_for_end)
        await message.answer(views.ask_end(settings.zone))
        return
    key = f"{query.from_user.id}:{message.message_id}"
    try:
        survey, invited = await surveys.start(
            session, draft, author_id=query.from_user.id, now=utcnow(), key=key
        )
    except surveys.AlreadyStartedError as exc:
        await _already_started(query, message, session, settings, state, exc.survey)
        return
    except IntegrityError:
        # The same tap on another instance stored it a moment before (its draft key).
        await session.rollback()
        existing = await surveys.started_with(session, key)
        if existing is None:
            raise
        await _already_started(query, message, session, settings, state, existing)
        return
    await state.clear()
    await session.commit()
    logger.info("survey %s started by %s: %s invited", survey.id, query.from_user.id, invited)
    await query.answer()
    await show(message, views.started(survey, invited, settings.zone))
    if invited and wake_outbox is not None:
        wake_outbox()


async def _already_started(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    survey: Survey,
) -> None:
    """A second "Start" of the same draft: show the survey the first one created."""
    await state.clear()
    await session.commit()
    await query.answer()
    await show(message, views.already_started(survey, settings.zone))


async def discard_pressed(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """Forget the draft; nothing was stored."""
    await state.clear()
    await query.answer()
    await show(message, views.discarded())


async def draft_closed_pressed(query: CallbackQuery) -> None:
    """A button of a draft that was started, discarded or cancelled."""
    await query.answer(views.draft_closed())


async def show_pressed(
    query: CallbackQuery,
    callback_data: SurveyPlanCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """A survey's figures: participants so far (open) or its results (closed)."""
    survey = await surveys.find(session, callback_data.value)
    if survey is None:
        await query.answer(views.unknown_survey(), show_alert=True)
        return
    results = await surveys.results(session, survey)
    await query.answer()
    texts = survey_views.results_messages(results, settings.zone, organiser=True)
    for text in texts[:-1]:
        await message.answer(text)
    await message.answer(texts[-1], reply_markup=survey_views.results_keyboard(results))


def create_router() -> Router:
    """Composing and following surveys; the feature's router filters chat and role."""
    router = Router(name=__name__)
    router.message.register(survey_command, Command(*SURVEY.aliases))
    text = cast(Any, F.text)
    typed = (F.text, ~text.startswith("/"))
    router.message.register(title_received, SurveyPlanFlow.waiting_for_title, *typed)
    draft = OpenSurveyDraft()
    router.message.register(prompt_received, SurveyPlanFlow.waiting_for_prompt, *typed, draft)
    router.message.register(options_received, SurveyPlanFlow.waiting_for_options, *typed, draft)
    router.message.register(end_received, SurveyPlanFlow.waiting_for_end, *typed, draft)

    def press(action: SurveyPlanAction, rule: Any = None) -> Any:
        match = F.action == action
        return SurveyPlanCallback.filter(match if rule is None else match & rule)

    register = router.callback_query.register
    register(new_pressed, press(SurveyPlanAction.NEW))
    register(show_pressed, press(SurveyPlanAction.SHOW))
    register(kind_pressed, press(SurveyPlanAction.KIND, F.value < len(views.KINDS)), draft)
    register(audience_pressed, press(SurveyPlanAction.AUDIENCE), draft)
    has_dim = F.dim.is_not(None)
    for action in (SurveyPlanAction.PAGE, SurveyPlanAction.ADD, SurveyPlanAction.REMOVE):
        register(dimension_pressed, press(action, has_dim), draft)
    register(everyone_pressed, press(SurveyPlanAction.EVERYONE), draft)
    register(end_pressed, press(SurveyPlanAction.END), draft)
    register(start_pressed, press(SurveyPlanAction.START), draft)
    register(discard_pressed, press(SurveyPlanAction.DISCARD), draft)
    register(
        draft_closed_pressed,
        SurveyPlanCallback.filter(F.action.in_(DRAFT_ACTIONS)),
        ~OpenSurveyDraft(),
    )
    return router
