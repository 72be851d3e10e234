"""The organiser's side of surveys (/umfrage): the list, composing a draft step by step, the
audience panel, the preview, and what a started survey looks like.

Everything the organiser typed is escaped when it is shown again.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.audience import DIMENSIONS, Audience, Dimension, Option, Reach
from bot.services.reports.model import masked
from bot.services.survey_draft import (
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    MIN_OPTIONS,
    SurveyDraft,
    SurveyInputError,
)
from bot.telegram.callbacks import AudienceKind, SurveyPlanAction, SurveyPlanCallback
from bot.telegram.format import esc, format_meeting, number, zone_name
from bot.telegram.views.broadcast_draft import (
    DIMENSION_OF,
    KIND_OF,
    audience_text,
    dimension_label,
    option_label,
    reach_line,
)
from bot.telegram.views.surveys import characters, clip, kind_label
from models.survey import (
    INTRO_LENGTH,
    PROMPT_LENGTH,
    TITLE_LENGTH,
    QuestionKind,
    Survey,
    SurveyStatus,
)

Screen = tuple[str, InlineKeyboardMarkup]
# The kinds in the order of their buttons; a button names one by its position here.
KINDS: tuple[QuestionKind, ...] = (
    QuestionKind.RANKING,
    QuestionKind.SINGLE,
    QuestionKind.MULTIPLE,
    QuestionKind.SCALE,
    QuestionKind.TEXT,
)
PAGE_SIZE = 30
__all__ = ["DIMENSION_OF", "KINDS"]


def button(
    text: str, action: SurveyPlanAction, dim: AudienceKind | None = None, value: int = 0
) -> InlineKeyboardButton:
    """A button of the organiser's survey screens."""
    data = SurveyPlanCallback(action=action, dim=dim, value=value)
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def no_permission() -> str:
    """The answer to anyone else who tries /umfrage or one of its buttons."""
    return _("Sorry, only organisers can create surveys.")


def overview(listed: list[tuple[Survey, int]], zone: ZoneInfo) -> Screen:
    """Open and recent surveys, each with a button for its figures, and "New survey"."""
    lines = [_("<b>Surveys</b>")]
    rows = []
    for survey, participants in listed:
        if survey.status is SurveyStatus.OPEN:
            state = _("open until {end}").format(end=format_meeting(survey.ends_at, zone))
        else:
            state = _("ended {end}").format(end=format_meeting(survey.ends_at, zone))
        took_part = esc(masked(participants))
        if survey.invited:
            took_part = _("{count} of {invited} invited").format(
                count=took_part, invited=number(survey.invited)
            )
        lines.append(
            _("#{id} {title}: {state}, took part: {count}").format(
                id=survey.id, title=esc(survey.title), state=state, count=took_part
            )
        )
        rows.append(
            [button(f"#{survey.id} {survey.title}"[:60], SurveyPlanAction.SHOW, value=survey.id)]
        )
    rows.append([button(_("New survey"), SurveyPlanAction.NEW)])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def ask_title() -> str:
    """The first step of a new survey."""
    return _(
        "A new survey. Send me its title in the first line (at most {chars}); "
        "lines after it become a short introduction. /cancel stops."
    ).format(chars=characters(TITLE_LENGTH))


def questions_text(draft: SurveyDraft) -> str:
    """The draft's title and the questions so far."""
    lines = [_("<b>Survey: {title}</b>").format(title=esc(draft.title))]
    # Shortened: the introduction and ten long questions with ten options each would not fit
    # one message; the survey itself keeps them whole.
    if draft.intro:
        lines.append(clip(esc(draft.intro), 300))
    for index, question in enumerate(draft.questions, start=1):
        prompt = clip(esc(question.prompt), 100)
        lines.append(f"{index}. {prompt} ({kind_label(question.kind)})")
        if question.options:
            lines.append("   – " + clip(esc(", ".join(question.options)), 150))
    return "\n".join(lines)


def ask_kind(draft: SurveyDraft) -> Screen:
    """Which kind the next question is; with questions already there, also "on to the
    audience"."""
    lines = [questions_text(draft), ""]
    rows = []
    if len(draft.questions) < MAX_QUESTIONS:
        lines.append(_("Which kind is question {number}?").format(number=len(draft.questions) + 1))
        rows = [
            [button(kind_label(kind), SurveyPlanAction.KIND, value=index)]
            for index, kind in enumerate(KINDS)
        ]
    else:
        lines.append(_("That is the most questions a survey can have."))
    if draft.questions:
        rows.append([button(_("Questions done: choose the audience »"), SurveyPlanAction.AUDIENCE)])
    rows.append([button(_("Discard"), SurveyPlanAction.DISCARD)])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def ask_prompt(kind: QuestionKind) -> str:
    """The question's wording."""
    text = _("{kind}: write the question (at most {chars}).").format(
        kind=kind_label(kind), chars=characters(PROMPT_LENGTH)
    )
    if kind is QuestionKind.RANKING:
        text += "\n" + _("Members will order the KV's topics; I copy their names when you start.")
    return text


def ask_options() -> str:
    """The options of a single or multiple choice question."""
    return _("Now the options, one per line: {least} to {most}, each at most {chars}.").format(
        least=MIN_OPTIONS, most=MAX_OPTIONS, chars=characters(MAX_OPTION_CHARS)
    )


def input_error_text(error: SurveyInputError) -> str:
    """Why the typed text can't be used; the draft waits for another."""
    reasons = {
        "empty": _("That was empty. Please write it again."),
        "title_long": _("The title is too long: at most {chars}.").format(
            chars=characters(TITLE_LENGTH)
        ),
        "intro_long": _("The introduction is too long: at most {chars}.").format(
            chars=characters(INTRO_LENGTH)
        ),
        "prompt_long": _("The question is too long: at most {chars}.").format(
            chars=characters(PROMPT_LENGTH)
        ),
        "few_options": _("Please give at least {least} options, one per line.").format(
            least=MIN_OPTIONS
        ),
        "many_options": _("At most {most} options, please.").format(most=MAX_OPTIONS),
        "option_long": _("An option is too long: at most {chars} each.").format(
            chars=characters(MAX_OPTION_CHARS)
        ),
        "duplicate_option": _("Two options are the same. Please make each one different."),
        "many_questions": _("That is the most questions a survey can have."),
        "no_questions": _("A survey needs at least one question."),
        "few_topics": _(
            "The KV's setup has fewer than two topics, so there is nothing to rank. "
            "Choose another kind."
        ),
    }
    return reasons.get(error.reason, reasons["empty"])


def audience_panel(
    chosen: dict[Dimension, list[Option]], reach: Reach, audience: Audience, zone: ZoneInfo
) -> Screen:
    """Who is asked, how many that are now, buttons to narrow it, and "on to the end date"."""
    text = "\n".join(
        [
            _("<b>Who is asked?</b>"),
            _("Audience: {audience}").format(audience=audience_text(chosen, zone)),
            "",
            reach_line(reach),
            _("(Members who switched off announcements get no invitation.)"),
        ]
    )
    kinds = []
    for dimension in DIMENSIONS:
        count = len(audience.values(dimension))
        label = dimension_label(dimension) + (f" ({count})" if count else "")
        kinds.append(button(label, SurveyPlanAction.PAGE, KIND_OF[dimension]))
    rows = [kinds[:2], kinds[2:4], kinds[4:]]
    if not audience.is_everyone:
        rows.append([button(_("Everyone who signed up"), SurveyPlanAction.EVERYONE)])
    if reach.recipients:
        rows.append([button(_("On to the end date »"), SurveyPlanAction.END)])
    rows.append([button(_("Discard"), SurveyPlanAction.DISCARD)])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def dimension_page(
    dimension: Dimension, options: list[Option], audience: Audience, reach: Reach, zone: ZoneInfo
) -> Screen:
    """One kind's values to tick (the first PAGE_SIZE), and the reach."""
    chosen = audience.values(dimension)
    kind = KIND_OF[dimension]
    if options:
        text = _("<b>{kind}</b>: tap to choose; any of the chosen ones matches.").format(
            kind=dimension_label(dimension)
        )
    else:
        text = _("The KV's setup has nothing to choose here yet.")
    buttons = [
        button(f"✅ {option_label(o, zone)}", SurveyPlanAction.REMOVE, kind, o.id)
        if o.id in chosen
        else button(option_label(o, zone), SurveyPlanAction.ADD, kind, o.id)
        for o in options[:PAGE_SIZE]
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([button(_("« Back"), SurveyPlanAction.AUDIENCE)])
    return f"{text}\n\n{reach_line(reach)}", InlineKeyboardMarkup(inline_keyboard=rows)


def ask_end(zone: ZoneInfo) -> str:
    """Until when members can answer."""
    return _(
        "Until when can members answer? Write the date and time, e.g. 24.12. 18:00 "
        "(time in {zone}). /cancel stops."
    ).format(zone=zone_name(zone))


def preview(
    draft: SurveyDraft,
    chosen: dict[Dimension, list[Option]],
    reach: Reach,
    topics: list[str],
    zone: ZoneInfo,
) -> Screen:
    """Everything before "Start": questions (rankings with today's topics), audience, end."""
    lines = [_("<b>Preview</b>"), "", questions_text(draft)]
    if any(question.kind is QuestionKind.RANKING for question in draft.questions):
        lines.append(_("Topics to rank: {topics}").format(topics=esc(", ".join(topics)) or "–"))
    lines += [
        "",
        _("Audience: {audience}").format(audience=audience_text(chosen, zone)),
        reach_line(reach),
    ]
    if draft.ends_at is not None:
        lines.append(_("Open until {end}").format(end=format_meeting(draft.ends_at, zone)))
    lines += ["", _("On “Start” everyone in the audience gets an invitation with a button.")]
    rows = [
        [button(_("Start"), SurveyPlanAction.START)],
        [button(_("« Audience"), SurveyPlanAction.AUDIENCE)],
        [button(_("Discard"), SurveyPlanAction.DISCARD)],
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def started(survey: Survey, invited: int, zone: ZoneInfo) -> str:
    """After "Start"."""
    return _(
        "Survey #{id} “{title}” is open until {end}. Invitations on their way: {count}.\n"
        "/umfrage shows how many took part so far; the results come when it closes."
    ).format(
        id=survey.id,
        title=esc(survey.title),
        end=format_meeting(survey.ends_at, zone),
        count=number(invited),
    )


def already_started(survey: Survey, zone: ZoneInfo) -> str:
    """A second "Start" of the same draft."""
    return _("This draft was started already: survey #{id}, open until {end}.").format(
        id=survey.id, end=format_meeting(survey.ends_at, zone)
    )


def discarded() -> str:
    """After "Discard"."""
    return _("Discarded. No survey was created.")


def draft_closed() -> str:
    """A button of a draft that was started, discarded or cancelled."""
    return _("This draft is no longer open. /umfrage starts a new one.")


def unknown_survey() -> str:
    """A survey button for a survey that doesn't exist."""
    return _("This survey doesn't exist (any more).")
