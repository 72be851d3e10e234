"""/termine: the next meetings of all groups, each opening its card with the answer buttons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.rsvp import RsvpError
from bot.services.schedule import ScheduleError
from bot.telegram.callbacks import RsvpAction, RsvpCallback
from bot.telegram.format import esc, fitting, format_meeting
from bot.telegram.views.meeting_card import MAYBE, NO, WAITING, YES, cancelled_line
from models import Attendance, Meeting, RsvpAnswer

# The list's share of a message (the rest: the heading and the hints below), and its most
# dates: each has a button, and a keyboard holds 100.
LIST_BUDGET = 3500
MAX_LISTED = 50


def mark(answer: Attendance | None) -> str:
    """The member's answer as an icon and a space ("" before they answered)."""
    if answer is None:
        return ""
    if answer.answer == RsvpAnswer.NO:
        return f"{NO} "
    if answer.answer == RsvpAnswer.MAYBE:
        return f"{MAYBE} "
    return f"{WAITING} " if answer.waitlisted else f"{YES} "


def dates(
    upcoming: Sequence[Meeting],
    answers: Mapping[int, Attendance],
    *,
    can_answer: bool,
    zone: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The list of upcoming meetings (cancelled ones shown as such, the member's answers
    marked); with `can_answer`, a button per meeting that takes place, opening its card."""
    if not upcoming:
        return _("No meetings in the next four weeks."), None
    lines = [_("<b>The next meetings</b>")]
    buttons = []
    listed = []
    for meeting in upcoming:
        if meeting.cancelled:
            listed.append(f"{cancelled_line(meeting, zone)} · {esc(meeting.group.name)}")
            continue
        answer = answers.get(meeting.id)
        when = format_meeting(meeting.starts_at, zone)
        place = f" ({esc(meeting.where)})" if meeting.where else ""
        listed.append(f"{mark(answer)}{when} – {esc(meeting.group.name)}{place}")
    # As many as fit one message (and its keyboard); the next ones show as the days pass.
    shown = fitting(listed, budget=LIST_BUDGET, max_items=MAX_LISTED)
    lines += listed[:shown]
    if shown < len(listed):
        more = len(listed) - shown
        lines.append(
            ngettext("… and {n} more meeting.", "… and {n} more meetings.", more).format(n=more)
        )
    for meeting in upcoming[:shown]:
        if can_answer and not meeting.cancelled:
            answer = answers.get(meeting.id)
            when = format_meeting(meeting.starts_at, zone)
            data = RsvpCallback(action=RsvpAction.SHOW, meeting_id=meeting.id)
            label = f"{mark(answer)}{when} · {meeting.group.name}"
            buttons.append([InlineKeyboardButton(text=label, callback_data=data.pack())])
    lines.append("")
    if can_answer:
        lines.append(_("Tap a date to say whether you are coming."))
    else:
        lines.append(
            _("Once you have agreed in /start, you can say here which meetings you come to.")
        )
    lines.append(_("/groups shows the groups and lets you join."))
    keyboard = InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None
    return "\n".join(lines), keyboard


def answer_noted(answer: Attendance, *, position: int | None = None) -> str:
    """The short confirmation after a press (a waiting member hears their place in line)."""
    if answer.answer == RsvpAnswer.YES and answer.waitlisted:
        if position is not None:
            return _("It's full: your place on the waiting list: {position}.").format(
                position=position
            )
        return _("It's full: you are on the waiting list.")
    if answer.answer == RsvpAnswer.YES and answer.guests:
        return _("See you there! I noted that you are coming, with guests: {n}.").format(
            n=answer.guests
        )
    if answer.answer == RsvpAnswer.YES:
        return _("See you there! I noted that you are coming.")
    if answer.answer == RsvpAnswer.MAYBE:
        return _("Noted: maybe.")
    return _("Noted: you are not coming.")


def guests_need_yes() -> str:
    """A guests button pressed by someone who doesn't say yes (any more)."""
    return _("Say yes first, then choose how many guests you bring.")


def error_text(error: RsvpError | ScheduleError) -> str:
    """Why an answer was not recorded."""
    if error.reason == "no_consent":
        return _("To answer for meetings, agree in /start first.")
    if error.reason == "cancelled":
        return _("This meeting was cancelled.")
    if error.reason in ("started", "past"):
        return _("This meeting has already started; answers can't be changed any more.")
    if error.reason == "guests":
        return _("You can bring up to five guests.")
    if error.reason == "full":
        return _("There isn't room for that many guests any more.")
    return _("This meeting is no longer on the list. /dates shows the current ones.")
