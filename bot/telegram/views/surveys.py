"""A member's side of a survey: the invitation, each question, the summary, the results.

Everything the organiser typed (title, prompts, options) and every free text is escaped before
it goes into HTML. Counts of people in results are masked ("< 3", bot.services.reports.model).
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.charts import Bar, bar_chart
from bot.services.reports.model import masked
from bot.services.surveys import SCALE, Answer, QuestionResult, SurveyError, SurveyResults
from bot.telegram.callbacks import SurveyAction, SurveyCallback
from bot.telegram.format import (
    esc,
    format_meeting,
    number,
    shorten,
    split_message,
    visible_length,
)
from models.survey import TEXT_LENGTH, QuestionKind, Survey, SurveyQuestion, SurveyStatus

Screen = tuple[str, InlineKeyboardMarkup | None]
# Visible characters of a question and of an answer in the summary (ten of each fit a message).
SUMMARY_PROMPT = 100
SUMMARY_ANSWER = 200
CHART_TITLE = 80


def clip(html_text: str, room: int) -> str:
    """`html_text` as it is when it has at most `room` visible characters, else cut (plain)."""
    return html_text if visible_length(html_text) <= room else shorten(html_text, room)


def button(
    text: str, action: SurveyAction, survey: int, question: int = 0, value: int = 0
) -> InlineKeyboardButton:
    """A button of a member's survey screens."""
    data = SurveyCallback(action=action, survey=survey, question=question, value=value)
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def characters(limit: int) -> str:
    """ "500 characters" / "500 Zeichen", a plural entry of its own so any limit reads right."""
    return _("{limit} character", "{limit} characters", limit).format(limit=number(limit))


def kind_label(kind: QuestionKind) -> str:
    """A kind of question in words."""
    labels = {
        QuestionKind.RANKING: _("Ranking of the topics"),
        QuestionKind.SINGLE: _("Single choice"),
        QuestionKind.MULTIPLE: _("Multiple choice"),
        QuestionKind.SCALE: _("Scale 1–5"),
        QuestionKind.TEXT: _("Short free text"),
    }
    return labels[kind]


def invitation(survey: Survey, zone: ZoneInfo) -> Screen:
    """The invitation the outbox sends to the audience, with "Take part"."""
    lines = [_("<b>Survey: {title}</b>").format(title=esc(survey.title))]
    if survey.intro:
        lines += ["", esc(survey.intro)]
    count = len(survey.questions)
    lines += [
        "",
        _(
            "{count} question, answered with buttons. Open until {end}; until then you can "
            "change your answers. You see the results when it closes.",
            "{count} questions, answered with buttons. Open until {end}; until then you can "
            "change your answers. You see the results when it closes.",
            count,
        ).format(count=number(count), end=format_meeting(survey.ends_at, zone)),
        _("Your answers are stored without your name."),
    ]
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[take_part_button(survey)]])
    return "\n".join(lines), keyboard


def take_part_button(survey: Survey) -> InlineKeyboardButton:
    """ "Take part": opens the survey's first question (or the member's answers so far)."""
    return button(_("Take part"), SurveyAction.JOIN, survey.id)


def _option_names(question: SurveyQuestion, ids: list[int]) -> list[str]:
    labels = {option.id: option.label for option in question.options}
    return [labels[option_id] for option_id in ids if option_id in labels]


def question_screen(survey: Survey, index: int, answer: Answer) -> Screen:
    """Question number `index` (0-based) with its buttons; `answer` is what the member has
    chosen so far (ticked, or the order so far)."""
    question = survey.questions[index]
    lines = [
        _("<b>{title}</b> · question {number} of {count}").format(
            title=esc(survey.title), number=index + 1, count=len(survey.questions)
        ),
        "",
        esc(question.prompt),
    ]
    rows: list[list[InlineKeyboardButton]] = []

    def press(text: str, action: SurveyAction, value: int = 0) -> InlineKeyboardButton:
        return button(text, action, survey.id, question.id, value)

    chosen = answer if isinstance(answer, list) else []
    if question.kind is QuestionKind.SINGLE:
        rows = [
            [press(("✅ " if o.id in chosen else "") + o.label, SurveyAction.PICK, o.id)]
            for o in question.options
        ]
    elif question.kind is QuestionKind.MULTIPLE:
        lines += ["", _("Tick all that apply, then “Next”.")]
        rows = [
            [press(("✅ " if o.id in chosen else "") + o.label, SurveyAction.TOGGLE, o.id)]
            for o in question.options
        ]
        rows.append([press(_("Next »"), SurveyAction.NEXT)])
    elif question.kind is QuestionKind.SCALE:
        lines += ["", _("1 = not at all … 5 = very much")]
        rows = [
            [
                press(("✅ " if answer == value else "") + str(value), SurveyAction.PICK, value)
                for value in SCALE
            ]
        ]
    elif question.kind is QuestionKind.RANKING:
        lines += [
            "",
            _(
                "Tap the topics in order of importance to you, the most important first. "
                "You may stop after a few: topics you leave out count as least important."
            ),
        ]
        if chosen:
            lines += ["", _("Your order so far:")]
            lines += [
                f"{place}. {esc(name)}"
                for place, name in enumerate(_option_names(question, chosen), start=1)
            ]
        left = [o for o in question.options if o.id not in chosen]
        buttons = [press(o.label, SurveyAction.RANK, o.id) for o in left]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append([press(_("Reset"), SurveyAction.RESET), press(_("Done »"), SurveyAction.NEXT)])
    else:
        lines += [
            "",
            _("Write your answer in a message (at most {chars}).").format(
                chars=characters(TEXT_LENGTH)
            ),
        ]
        if isinstance(answer, str):
            lines += [_("Your answer so far: {text}").format(text=esc(answer))]
        rows = [[press(_("Skip"), SurveyAction.SKIP)]]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def answer_text(question: SurveyQuestion, answer: Answer) -> str:
    """One answer in words (escaped)."""
    if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        return esc(", ".join(_option_names(question, answer if isinstance(answer, list) else [])))
    if question.kind is QuestionKind.RANKING:
        names = _option_names(question, answer if isinstance(answer, list) else [])
        if not names:
            return _("no order given")
        return esc(" › ".join(names))
    if question.kind is QuestionKind.SCALE:
        return str(answer) if answer is not None else "–"
    return esc(answer) if isinstance(answer, str) else _("(skipped)")


def summary(survey: Survey, answers: Mapping[int, Answer], *, change: bool) -> Screen:
    """All answers before sending, with "Send" and "Change"."""
    lines = [_("<b>{title}</b>: your answers").format(title=esc(survey.title)), ""]
    for index, question in enumerate(survey.questions, start=1):
        # Shortened: ten long questions with long answers would not fit one message.
        lines.append(f"{index}. {clip(esc(question.prompt), SUMMARY_PROMPT)}")
        answer = answer_text(question, answers.get(question.id))
        lines.append(f"   → {clip(answer, SUMMARY_ANSWER)}")
    lines += ["", _("Send them? Until the survey ends you can still change them.")]
    label = _("Send changed answers") if change else _("Send answers")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(label, SurveyAction.SUBMIT, survey.id)],
            [button(_("Change answers"), SurveyAction.CHANGE, survey.id)],
        ]
    )
    return "\n".join(lines), keyboard


def thanks(survey: Survey, zone: ZoneInfo) -> Screen:
    """After sending: thanks, and how to change them."""
    text = _(
        "Thank you! Your answers to “{title}” are stored, without your name. You can change "
        "them until {end}; then you get the results."
    ).format(title=esc(survey.title), end=format_meeting(survey.ends_at, zone))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[button(_("Change answers"), SurveyAction.CHANGE, survey.id)]]
    )
    return text, keyboard


def already_answered(survey: Survey, zone: ZoneInfo) -> Screen:
    """ "Take part" again after answering: the answers count once; changing is offered."""
    text = _(
        "You have already answered “{title}”; your answers count once. You can change them "
        "until {end}."
    ).format(title=esc(survey.title), end=format_meeting(survey.ends_at, zone))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[button(_("Change answers"), SurveyAction.CHANGE, survey.id)]]
    )
    return text, keyboard


def survey_error_text(error: SurveyError) -> str:
    """Why an answer was not taken; nothing stored changed."""
    reasons = {
        "unknown": _("This survey doesn't exist (any more)."),
        "closed": _("This survey has ended; answers can no longer be given or changed."),
        "not_in_audience": _("This survey is meant for other members. Thanks for your interest!"),
        "answered": _("You have already sent your answers; they count once."),
        "forged": _("That answer doesn't belong to this question. Nothing was changed."),
        "incomplete": _("Please answer this question first."),
        "text_long": _("That is too long: please keep it to {chars}.").format(
            chars=characters(TEXT_LENGTH)
        ),
        "past": _("The end must be in the future."),
    }
    return reasons.get(error.reason, reasons["unknown"])


def stale() -> str:
    """A button of a question that is no longer the current one (or of another survey)."""
    return _("That button is no longer current. Please use the latest message.")


def not_a_text() -> str:
    """Something else than a text where a free-text answer is expected."""
    return _("Please write your answer as a text message, or press “Skip”.")


def _one_decimal(value: float) -> str:
    return number(round(value, 1))


def _question_lines(result: QuestionResult, *, organiser: bool) -> list[str]:
    lines = [f"<b>{esc(result.prompt)}</b>"]
    if result.kind is QuestionKind.RANKING:
        lines.append(_("Ranking by Borda points (first place n−1 points … last or unranked 0):"))
        lines += [
            f"{place}. {esc(option.label)}: {number(option.points)}"
            for place, option in enumerate(result.options, start=1)
        ]
    elif result.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        lines += [
            f"• {esc(option.label)}: {esc(masked(option.count))}" for option in result.options
        ]
    elif result.kind is QuestionKind.SCALE:
        lines.append(
            " · ".join(
                f"{value}: {esc(masked(count))}"
                for value, count in zip(SCALE, result.scale, strict=True)
            )
        )
        if result.mean is not None:
            lines.append(_("Mean: {mean}").format(mean=_one_decimal(result.mean)))
    elif organiser:
        if result.texts:
            lines += [f"– {esc(text)}" for text in result.texts]
        else:
            lines.append(_("No texts."))
    else:
        lines.append(_("(Free texts are read by the organisers.)"))
    return lines


def results_messages(results: SurveyResults, zone: ZoneInfo, *, organiser: bool) -> list[str]:
    """The results as one or more messages (many free texts don't fit one): participants, then
    each question; nothing broken down with fewer than 3.

    While the survey is open only the number of participants is shown: interim figures
    compared before and after one more answer would tell that member's answers.
    """
    if results.status is SurveyStatus.CLOSED:
        head = _("<b>Results: {title}</b> (ended {end})")
    else:
        head = _("<b>Interim results: {title}</b> (open until {end})")
    head = head.format(title=esc(results.title), end=format_meeting(results.ends_at, zone))
    lines = [_("Took part: {count}").format(count=esc(masked(results.participants)))]
    if results.status is not SurveyStatus.CLOSED:
        lines += ["", _("The answers are counted when the survey closes.")]
    elif results.too_few:
        lines += ["", _("Too few answers to show results: that could reveal who answered what.")]
    else:
        for result in results.questions:
            lines += ["", *_question_lines(result, organiser=organiser)]
    return [text for text, _run in split_message(head, lines)]


def results_keyboard(results: SurveyResults) -> InlineKeyboardMarkup | None:
    """ "Charts" under results that have something to draw."""
    if results.status is not SurveyStatus.CLOSED or results.too_few:
        return None
    if not any(result.kind is not QuestionKind.TEXT for result in results.questions):
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(_("Charts"), SurveyAction.RESULTS, results.survey_id)]]
    )


def charts(results: SurveyResults) -> list[tuple[str, bytes]]:
    """One PNG per question that is not free text, as (file name, bytes); none with too few.

    CPU-bound (matplotlib): handlers call it in a thread.
    """
    if results.status is not SurveyStatus.CLOSED or results.too_few:
        return []
    subtitle = _("Survey “{title}” · took part: {count}").format(
        title=results.title, count=masked(results.participants)
    )
    files = []
    for index, result in enumerate(results.questions, start=1):
        if result.kind is QuestionKind.TEXT:
            continue
        if result.kind is QuestionKind.RANKING:
            bars = [Bar(o.label, float(o.points), number(o.points)) for o in result.options]
        elif result.kind is QuestionKind.SCALE:
            bars = [
                Bar(str(value), float(count), masked(count))
                for value, count in zip(SCALE, result.scale, strict=True)
            ]
        else:
            bars = [Bar(o.label, float(o.count), masked(o.count)) for o in result.options]
        # A chart's title is one line on a phone: long questions are cut.
        title = (
            result.prompt
            if len(result.prompt) <= CHART_TITLE
            else result.prompt[: CHART_TITLE - 1] + "…"
        )
        files.append((f"question-{index}.png", bar_chart(title, subtitle, bars)))
    return files
