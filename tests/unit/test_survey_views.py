"""Survey screens at their limits: the longest survey Telegram-sized, results of many long free
texts split into parts, '< 3' and typed text escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from bot.services.survey_draft import MAX_OPTIONS, MAX_QUESTIONS, DraftQuestion, SurveyDraft
from bot.services.surveys import OptionResult, QuestionResult, SurveyResults
from bot.telegram import format as fmt
from bot.telegram.views import survey_planning as planning_views
from bot.telegram.views import surveys as views
from models import QuestionKind, Survey, SurveyOption, SurveyQuestion, SurveyStatus
from models.survey import PROMPT_LENGTH, TEXT_LENGTH
from tests.fakebotapi import parse_html, utf16_len

ZONE = ZoneInfo("Europe/Berlin")
END = datetime(2027, 3, 8, 17, 0, tzinfo=UTC)
# Costly characters: escaped in HTML, outside the BMP.
LONG = "<&>😀" * 200


@pytest.fixture(scope="module", autouse=True)
def i18n() -> I18n:
    translations = create_i18n("de")
    with translations.context(), translations.use_locale("de"):
        yield translations


def _check(text: str, keyboard: InlineKeyboardMarkup | None = None) -> str:
    parsed = parse_html(text)
    assert not [problem for problem in parsed.problems if problem.fatal], parsed.problems
    assert utf16_len(parsed.text.strip()) <= fmt.TEXT_LIMIT
    for row in keyboard.inline_keyboard if keyboard else []:
        for button in row:
            assert button.callback_data is None or len(button.callback_data.encode()) <= 64
    return parsed.text


def _survey() -> Survey:
    survey = Survey(id=2**31 - 1, title=LONG[:120], intro=LONG[:1000], ends_at=END)
    for position in range(MAX_QUESTIONS):
        question = SurveyQuestion(
            id=2**31 - 2 - position,
            position=position,
            kind=QuestionKind.MULTIPLE,
            prompt=LONG[:PROMPT_LENGTH],
        )
        question.options = [
            SurveyOption(id=2**31 - 100 - i, position=i, label=LONG[:60])
            for i in range(MAX_OPTIONS)
        ]
        survey.questions.append(question)
    return survey


def test_the_largest_survey_fits() -> None:
    survey = _survey()
    answers = {q.id: [o.id for o in q.options] for q in survey.questions}
    _check(*views.invitation(survey, ZONE))
    _check(*views.question_screen(survey, 0, answers[survey.questions[0].id]))
    _check(*views.summary(survey, answers, change=True))
    draft = SurveyDraft(
        LONG[:120],
        LONG[:1000],
        tuple(
            DraftQuestion(QuestionKind.SINGLE, LONG[:PROMPT_LENGTH], (LONG[:60],) * MAX_OPTIONS)
            for _ in range(MAX_QUESTIONS)
        ),
        ends_at=END,
    )
    _check(*planning_views.ask_kind(draft))


def test_many_free_texts_are_split_and_small_counts_masked() -> None:
    results = SurveyResults(1, "Programm <2027>", SurveyStatus.CLOSED, END, participants=200)
    results.questions = [
        QuestionResult(
            QuestionKind.SINGLE, "Wann?", [OptionResult("Abends", 150), OptionResult("Nie", 2)]
        ),
        QuestionResult(QuestionKind.TEXT, "Was fehlt?", texts=[LONG[:TEXT_LENGTH]] * 200),
    ]
    parts = views.results_messages(results, ZONE, organiser=True)
    assert len(parts) > 1
    shown = "".join(_check(part) for part in parts)
    assert "Nie: < 3" in shown
    assert "Programm <2027>" in shown
    assert shown.count("– <&>😀") == 200  # every text, none lost
    # Members don't see the free texts.
    [member_part] = views.results_messages(results, ZONE, organiser=False)
    assert "<&>😀" not in _check(member_part)


def test_too_few_and_open_show_no_breakdown() -> None:
    results = SurveyResults(1, "Programm", SurveyStatus.CLOSED, END, participants=2)
    results.questions = [QuestionResult(QuestionKind.SCALE, "Wie?", scale=[0, 0, 1, 1, 0])]
    [text] = views.results_messages(results, ZONE, organiser=True)
    assert "Teilgenommen: < 3" in _check(text)
    assert "Zu wenige Antworten" in text
    assert views.results_keyboard(results) is None
    assert views.charts(results) == []
    results.participants, results.status = 10, SurveyStatus.OPEN
    [text] = views.results_messages(results, ZONE, organiser=True)
    assert "Wie?" not in text
    assert views.charts(results) == []
