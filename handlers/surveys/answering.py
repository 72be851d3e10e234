"""Members answer a survey with buttons, question by question, then send or change it.

The answers being given live in the member's conversation state (a restart keeps them) until
"Send" stores them (bot.services.surveys.submit, anonymous rows). Every press is checked
against the database: the survey must be open and meant for the member, the question the
current one, the option one of its own; anything else gets a polite answer and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import surveys
from bot.services.roles import allows
from bot.services.surveys import Answer, SurveyError
from bot.settings import Settings
from bot.telegram.callbacks import SurveyAction, SurveyCallback
from bot.telegram.commands import SURVEY
from bot.telegram.screens import show
from bot.telegram.views import surveys as views
from models import QuestionKind, Role, Survey, SurveyQuestion
from models.base import utcnow

logger = logging.getLogger(__name__)


async def _reply(message: Message, screen: tuple[str, InlineKeyboardMarkup | None]) -> None:
    """Send `screen` (text and buttons) as a new message in the chat."""
    await message.answer(screen[0], reply_markup=screen[1])


BALLOT = "survey_ballot"


class SurveyAnswering(StatesGroup):
    """Answering: buttons (`answering`) or a typed free text (`typing`)."""

    answering = State()
    typing = State()


ANSWER_ACTIONS = frozenset(
    {
        SurveyAction.PICK,
        SurveyAction.TOGGLE,
        SurveyAction.RANK,
        SurveyAction.RESET,
        SurveyAction.NEXT,
        SurveyAction.SKIP,
        SurveyAction.SUBMIT,
    }
)


class BallotError(ValueError):
    """Conversation data that is not a ballot (from an older version, or damaged)."""


class Ballot:
    """The answers being given: which survey, which question is current, whether they replace
    answers sent before."""

    def __init__(
        self, survey_id: int, step: int = 0, answers: Mapping[int, Answer] | None = None
    ) -> None:
        self.survey_id = survey_id
        self.step = step
        self.answers: dict[int, Answer] = dict(answers or {})
        self.change = False

    def to_json(self) -> dict[str, Any]:
        """Plain values for the conversation state (JSON keys are strings)."""
        return {
            "survey_id": self.survey_id,
            "step": self.step,
            "answers": {str(key): value for key, value in self.answers.items()},
            "change": self.change,
        }

    @classmethod
    def from_json(cls, data: object) -> Ballot:
        """Read what to_json wrote; anything else raises ValueError."""
        if not isinstance(data, Mapping):
            raise BallotError("no ballot")
        survey_id, step, answers = data.get("survey_id"), data.get("step"), data.get("answers")
        if not (isinstance(survey_id, int) and isinstance(step, int)):
            raise BallotError("bad ballot")
        if not isinstance(answers, Mapping):
            raise BallotError("bad answers")
        ballot = cls(survey_id, step, {int(key): value for key, value in answers.items()})
        ballot.change = bool(data.get("change"))
        return ballot


class OpenBallot(Filter):
    """Passes while the member is answering a survey, handing on `ballot`."""

    async def __call__(self, event: TelegramObject, state: FSMContext) -> bool | dict[str, Any]:
        """The ballot, or False."""
        del event
        if await state.get_state() not in (
            SurveyAnswering.answering.state,
            SurveyAnswering.typing.state,
        ):
            return False
        try:
            return {"ballot": Ballot.from_json((await state.get_data()).get(BALLOT))}
        except ValueError:
            return False


async def _present(
    message: Message, state: FSMContext, survey: Survey, ballot: Ballot, *, edit: bool
) -> None:
    """Keep the ballot and show its current question, or the summary after the last one."""
    if ballot.step >= len(survey.questions):
        ballot.step = len(survey.questions)
        screen = views.summary(survey, ballot.answers, change=ballot.change)
        step = SurveyAnswering.answering
    else:
        question = survey.questions[ballot.step]
        screen = views.question_screen(survey, ballot.step, ballot.answers.get(question.id))
        typing = question.kind is QuestionKind.TEXT
        step = SurveyAnswering.typing if typing else SurveyAnswering.answering
    await state.update_data({BALLOT: ballot.to_json()})
    await state.set_state(step)
    if edit:
        await show(message, *screen)
    else:
        await _reply(message, screen)


async def join_pressed(
    query: CallbackQuery,
    callback_data: SurveyCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
) -> None:
    """ "Take part": the first question, or (answered already) the offer to change."""
    survey = await surveys.open_for(session, callback_data.survey, query.from_user.id, utcnow())
    await query.answer()
    if await surveys.has_answered(session, survey.id, query.from_user.id):
        await _reply(message, views.already_answered(survey, settings.zone))
        return
    await _present(message, state, survey, Ballot(survey.id), edit=False)


async def change_pressed(
    query: CallbackQuery,
    callback_data: SurveyCallback,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    """Go through the questions again, with the answers given so far (or sent before)."""
    member_id = query.from_user.id
    survey = await surveys.open_for(session, callback_data.survey, member_id, utcnow())
    try:
        current = Ballot.from_json((await state.get_data()).get(BALLOT))
    except ValueError:
        current = None
    if current is not None and current.survey_id == survey.id:
        ballot = Ballot(survey.id, 0, current.answers)
        ballot.change = current.change
    else:
        stored = await surveys.my_answers(session, survey, member_id)
        ballot = Ballot(survey.id, 0, stored)
        ballot.change = stored is not None
    await query.answer()
    await _present(message, state, survey, ballot, edit=False)


async def _current(
    query: CallbackQuery, callback_data: SurveyCallback, session: AsyncSession, ballot: Ballot
) -> tuple[Survey, Any] | None:
    """The survey and current question the press belongs to; None (answered as stale) for a
    press of another survey or of a question that is not the current one."""
    if callback_data.survey != ballot.survey_id:
        await query.answer(views.stale())
        return None
    survey = await surveys.open_for(session, ballot.survey_id, query.from_user.id, utcnow())
    if ballot.step >= len(survey.questions):
        await query.answer(views.stale())
        return None
    question = survey.questions[ballot.step]
    if question.id != callback_data.question:
        await query.answer(views.stale())
        return None
    return survey, question


def _choice_pressed(
    question: SurveyQuestion, action: SurveyAction, value: int, chosen: list[int]
) -> tuple[Answer, bool]:
    """A choice or ranking button: the answer it leaves and whether the question is done."""
    kind = question.kind
    if action is SurveyAction.PICK and kind is QuestionKind.SINGLE:
        return surveys.check_answer(question, [value]), True
    if action is SurveyAction.TOGGLE and kind is QuestionKind.MULTIPLE:
        if value not in {option.id for option in question.options}:
            raise SurveyError("forged")
        return (
            [item for item in chosen if item != value] + ([] if value in chosen else [value])
        ), False
    if action is SurveyAction.RANK and kind is QuestionKind.RANKING:
        return surveys.check_answer(
            question, chosen if value in chosen else [*chosen, value]
        ), False
    if action is SurveyAction.RESET and kind is QuestionKind.RANKING:
        return [], False
    if action is SurveyAction.NEXT and kind in (QuestionKind.MULTIPLE, QuestionKind.RANKING):
        # A multiple choice needs one tick at least (check_answer says "incomplete").
        return surveys.check_answer(question, chosen), True
    raise SurveyError("forged")


def _pressed(
    question: SurveyQuestion, action: SurveyAction, value: int, chosen: list[int]
) -> tuple[Answer, bool]:
    """What a press of the current question does: (its answer now, whether it is done).

    A button of another kind than the question's is forged (SurveyError).
    """
    if action is SurveyAction.PICK and question.kind is QuestionKind.SCALE:
        return surveys.check_answer(question, value), True
    if action is SurveyAction.SKIP and question.kind is QuestionKind.TEXT:
        return None, True
    return _choice_pressed(question, action, value, chosen)


async def answer_pressed(
    query: CallbackQuery,
    callback_data: SurveyCallback,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    ballot: Ballot,
) -> None:
    """A button of the current question: choose, tick, rank, reset, go on or skip."""
    found = await _current(query, callback_data, session, ballot)
    if found is None:
        return
    survey, question = found
    given = ballot.answers.get(question.id)
    answer, advance = _pressed(
        question,
        callback_data.action,
        callback_data.value,
        given if isinstance(given, list) else [],
    )
    ballot.answers[question.id] = answer
    if advance:
        ballot.step += 1
    await query.answer()
    await _present(message, state, survey, ballot, edit=True)


async def text_received(
    message: Message, session: AsyncSession, state: FSMContext, ballot: Ballot
) -> None:
    """A typed free-text answer (length-checked; a SurveyError is explained and it waits)."""
    if message.from_user is None:
        return
    survey = await surveys.open_for(session, ballot.survey_id, message.from_user.id, utcnow())
    if ballot.step >= len(survey.questions):
        await message.answer(views.stale())
        return
    question = survey.questions[ballot.step]
    if question.kind is not QuestionKind.TEXT:
        await message.answer(views.stale())
        return
    ballot.answers[question.id] = surveys.check_answer(question, message.text or "")
    ballot.step += 1
    await _present(message, state, survey, ballot, edit=False)


async def not_text_received(message: Message) -> None:
    """A sticker or photo where a free text is expected."""
    await message.answer(views.not_a_text())


async def submit_pressed(
    query: CallbackQuery,
    callback_data: SurveyCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    ballot: Ballot,
) -> None:
    """Store the answers (a second "Send" or a forged answer is refused by the service)."""
    if callback_data.survey != ballot.survey_id:
        await query.answer(views.stale())
        return
    survey = await surveys.submit(
        session,
        ballot.survey_id,
        query.from_user.id,
        ballot.answers,
        now=utcnow(),
        change=ballot.change,
    )
    await state.clear()
    await session.commit()
    logger.info("survey %s answered (%s)", survey.id, "changed" if ballot.change else "new")
    await query.answer()
    await show(message, *views.thanks(survey, settings.zone))


async def stale_pressed(query: CallbackQuery) -> None:
    """An answer button with no answering under way (sent, or a restart of the conversation)."""
    await query.answer(views.stale())


async def results_pressed(
    query: CallbackQuery,
    callback_data: SurveyCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    roles: frozenset[Role] = frozenset({Role.MEMBER}),
) -> None:
    """The results' charts: for organisers, and for participants once the survey closed."""
    survey = await surveys.find(session, callback_data.survey)
    organiser = allows(roles, SURVEY.roles)
    if survey is None or not await surveys.may_see_results(
        session, survey, query.from_user.id, organiser=organiser
    ):
        await query.answer(views.survey_error_text(SurveyError("unknown")), show_alert=True)
        return
    results = await surveys.results(session, survey)
    await query.answer()
    # matplotlib is CPU-bound: a thread keeps the bot answering others meanwhile.
    files = await asyncio.to_thread(views.charts, results)
    if not files:
        for text in views.results_messages(results, settings.zone, organiser=organiser):
            await message.answer(text)
        return
    for name, png in files:
        await message.answer_photo(BufferedInputFile(png, filename=name))


def create_router() -> Router:
    """Answering surveys; every member may press, the services decide."""
    router = Router(name=__name__)
    register = router.callback_query.register
    register(join_pressed, SurveyCallback.filter(F.action == SurveyAction.JOIN))
    register(change_pressed, SurveyCallback.filter(F.action == SurveyAction.CHANGE))
    register(results_pressed, SurveyCallback.filter(F.action == SurveyAction.RESULTS))
    register(submit_pressed, SurveyCallback.filter(F.action == SurveyAction.SUBMIT), OpenBallot())
    answering = ANSWER_ACTIONS - {SurveyAction.SUBMIT}
    register(answer_pressed, SurveyCallback.filter(F.action.in_(answering)), OpenBallot())
    register(stale_pressed, SurveyCallback.filter(F.action.in_(ANSWER_ACTIONS)))
    not_a_command = ~F.text.startswith("/")
    router.message.register(
        text_received, SurveyAnswering.typing, F.text, not_a_command, OpenBallot()
    )
    router.message.register(not_text_received, SurveyAnswering.typing, ~F.text)
    return router
