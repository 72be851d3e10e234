"""/termine: the next meetings of all groups, and saying you come ("zusagen")."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.meetings import MeetingError
from bot.telegram.callbacks import MeetingCallback
from bot.telegram.format import esc, format_meeting
from models import Group

COMING = "✅ "
NOT_YET = "✋ "


def dates(
    upcoming: Sequence[tuple[datetime, Group]],
    going: Collection[tuple[int, datetime]],
    *,
    can_answer: bool,
    zone: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The list of upcoming meetings; with `can_answer`, a button per meeting to say you come.

    `going` holds (group id, start) of the meetings the member said they come to; their
    buttons take the answer back, the others give it.
    """
    if not upcoming:
        return _("No meetings in the next four weeks."), None
    lines = [_("<b>The next meetings</b>")]
    buttons = []
    for moment, group in upcoming:
        coming = (group.id, moment) in going
        when = format_meeting(moment, zone)
        place = f" ({esc(group.place)})" if group.place else ""
        lines.append(f"{COMING if coming else ''}{when} – {esc(group.name)}{place}")
        if can_answer:
            data = MeetingCallback(group_id=group.id, at=int(moment.timestamp()), going=not coming)
            label = (COMING if coming else NOT_YET) + f"{when} · {group.name}"
            buttons.append([InlineKeyboardButton(text=label, callback_data=data.pack())])
    lines.append("")
    if can_answer:
        lines.append(_("Tap a date to say you are coming; tap it again if you can't make it."))
    else:
        lines.append(
            _("Once you have agreed in /start, you can say here which meetings you come to.")
        )
    lines.append(_("/groups shows the groups and lets you join."))
    keyboard = InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None
    return "\n".join(lines), keyboard


def answer_noted(going: bool) -> str:
    """The short confirmation after a press."""
    return (
        _("See you there! I noted that you are coming.")
        if going
        else _("Noted: you are not coming.")
    )


def error_text(error: MeetingError) -> str:
    """Why an answer was not recorded."""
    if error.reason == "no_consent":
        return _("To say you come to meetings, agree in /start first.")
    return _("This meeting is no longer on the list. /dates shows the current ones.")
