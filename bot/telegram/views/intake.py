"""The intake conversation: its questions, the summary of the answers, the reminder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.profile import ProfileError
from bot.telegram.callbacks import IntakeAction, IntakeCallback, IntakeStep
from bot.telegram.format import esc
from bot.telegram.labels import frequency_label, slot_label
from models import ContactFrequency, Profile

Screen = tuple[str, InlineKeyboardMarkup]
Row = list[InlineKeyboardButton]


@dataclass(frozen=True, slots=True)
class Option:
    """One answer to a question: its value in the button, its label, whether it is chosen."""

    value: int
    label: str
    chosen: bool
    # On a row of its own, after the others ("not sure / outside").
    alone: bool = False


@dataclass(frozen=True, slots=True)
class Position:
    """Where a question is: "Step 2 of 5"."""

    number: int
    total: int


Question = Callable[[Sequence[Option], Position], Screen]


def topics_question(options: Sequence[Option], position: Position) -> Screen:
    """Several topics, chosen on and off, then Next."""
    question = _("Which topics do you care about? Choose as many as you like.")
    return _several(IntakeStep.TOPICS, question, options, position)


def district_question(options: Sequence[Option], position: Position) -> Screen:
    """One Stadtteil (or "not sure / outside"); choosing moves on."""
    question = _("Where do you live? Choose your Stadtteil.")
    return _one(IntakeStep.DISTRICT, question, options, position, columns=2)


def activities_question(options: Sequence[Option], position: Position) -> Screen:
    """Several Mitmachformen (activity types), chosen on and off, then Next."""
    question = _("How would you like to take part? Choose as many as you like.")
    return _several(IntakeStep.ACTIVITIES, question, options, position)


def free_time_question(options: Sequence[Option], position: Position) -> Screen:
    """Several free-time slots, chosen on and off, then Next."""
    question = _("When do you usually have time? Choose everything that fits.")
    return _several(IntakeStep.FREE_TIME, question, options, position)


def frequency_question(options: Sequence[Option], position: Position) -> Screen:
    """How often to hear from the KV; choosing moves on."""
    question = _("How often would you like to hear from us?")
    return _one(IntakeStep.FREQUENCY, question, options, position, columns=1)


def _several(
    step: IntakeStep, question: str, options: Sequence[Option], position: Position
) -> Screen:
    # Each button says what it sets, so a double tap or a late press sets the same again.
    buttons = [
        _button(
            ("✅ " if option.chosen else "▫️ ") + option.label,
            step,
            IntakeAction.OFF if option.chosen else IntakeAction.ON,
            option.value,
        )
        for option in options
    ]
    rows = _columns(buttons, 2)
    rows.append(_navigation(step, position, can_go_on=True))
    return _framed(question, position), InlineKeyboardMarkup(inline_keyboard=rows)


def _one(
    step: IntakeStep,
    question: str,
    options: Sequence[Option],
    position: Position,
    *,
    columns: int,
) -> Screen:
    def button(option: Option) -> InlineKeyboardButton:
        label = ("✅ " if option.chosen else "") + option.label
        return _button(label, step, IntakeAction.CHOOSE, option.value)

    rows = _columns([button(option) for option in options if not option.alone], columns)
    rows += [[button(option)] for option in options if option.alone]
    rows.append(_navigation(step, position, can_go_on=False))
    return _framed(question, position), InlineKeyboardMarkup(inline_keyboard=rows)


def _framed(question: str, position: Position) -> str:
    where = _("Step {number} of {total}").format(number=position.number, total=position.total)
    return f"<i>{where}</i>\n{question}"


def _navigation(step: IntakeStep, position: Position, *, can_go_on: bool) -> Row:
    row = []
    if position.number > 1:
        row.append(_button(_("« Back"), step, IntakeAction.BACK))
    row.append(_button(_("Skip"), step, IntakeAction.SKIP))
    if can_go_on:
        row.append(_button(_("Next »"), step, IntakeAction.NEXT))
    return row


def _button(
    text: str, step: IntakeStep, action: IntakeAction, value: int = 0
) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=IntakeCallback(step=step, action=action, value=value).pack()
    )


def _columns(buttons: list[InlineKeyboardButton], columns: int) -> list[Row]:
    return [buttons[i : i + columns] for i in range(0, len(buttons), columns)]


def saved() -> str:
    """The short answer to a choice that moves on."""
    return _("Saved.")


def left_step() -> str:
    """The quiet answer to a button of a step the member has already left (a double tap)."""
    return _("This button is no longer valid.")


def intake_closed() -> str:
    """The answer to an intake button after the intake (done, skipped, or ended)."""
    return _("These questions are closed. /profile shows your answers and lets you change them.")


def answer_refused(error: ProfileError) -> str:
    """What a member hears when an answer can't be stored (a forged id, consent withdrawn)."""
    if error.reason == "unknown_group":
        return _("This group no longer exists.")
    return _("This button is no longer valid.")


# --- the summary ---------------------------------------------------------------------------


def summary(profile: Profile, steps: Sequence[IntakeStep]) -> Screen:
    """The answers so far, a button to change each of `steps`, and one to see suggestions."""
    finished = profile.intake_completed_at is not None
    edit_labels = {
        IntakeStep.TOPICS: _("Edit topics"),
        IntakeStep.DISTRICT: _("Edit Stadtteil"),
        IntakeStep.ACTIVITIES: _("Edit activities"),
        IntakeStep.FREE_TIME: _("Edit time"),
        IntakeStep.FREQUENCY: _("Edit frequency"),
    }
    rows = [
        [_button(edit_labels[step], IntakeStep.SUMMARY, IntakeAction.EDIT, index)]
        for index, step in enumerate(steps)
    ]
    done = _("Show groups that fit me") if finished else _("Done – show groups that fit me")
    rows.append([_button(done, IntakeStep.SUMMARY, IntakeAction.DONE)])
    return answers(profile), InlineKeyboardMarkup(inline_keyboard=rows)


def answers(profile: Profile) -> str:
    """The member's answers, one line each; "not given" for skipped ones."""
    nothing = _("not given")
    topics = ", ".join(esc(topic.name) for topic in profile.topics) or nothing
    if profile.district is not None:
        district = esc(profile.district.name)
    elif profile.outside_districts:
        district = _("not sure / outside")
    else:
        district = nothing
    activities = ", ".join(esc(kind.name) for kind in profile.activity_types) or nothing
    free_time = ", ".join(slot_label(slot) for slot in profile.free_time) or nothing
    frequency = (
        frequency_label(ContactFrequency(profile.contact_frequency))
        if profile.contact_frequency
        else nothing
    )
    return "\n".join(
        [
            _("<b>Your answers</b>"),
            _("Topics: {value}").format(value=topics),
            _("Stadtteil: {value}").format(value=district),
            _("Activities: {value}").format(value=activities),
            _("Time: {value}").format(value=free_time),
            _("Hearing from us: {value}").format(value=frequency),
        ]
    )


def finished(profile: Profile) -> str:
    """The summary once done, with where to change it; suggestions follow."""
    return answers(profile) + "\n\n" + _("Change it any time: /profile")


# --- the reminder --------------------------------------------------------------------------


def intake_reminder() -> tuple[str, InlineKeyboardMarkup]:
    """The one reminder a day after an abandoned intake, with a button to carry on."""
    text = _(
        "Yesterday you started telling me what you care about. Two more minutes "
        "and I can suggest groups that fit you."
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Carry on"), IntakeStep.REMINDER, IntakeAction.RESUME)],
        ]
    )
    return text, keyboard
