"""A meeting reminder: how soon it starts, the meeting's card and the answer buttons.

The buttons are the card's own, so a "no" pressed under a reminder frees the place for the
waiting list like anywhere else.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.dates import format_timedelta

from bot.services.rsvp import Counts
from bot.telegram.format import formatting_locale
from bot.telegram.views.meeting_card import meeting_card
from models import Attendance, Meeting


def starts_in(meeting: Meeting, now: datetime, zone: ZoneInfo) -> str:
    """ "in 2 hours" / "in 2 Stunden", rounded the way people say it."""
    return format_timedelta(
        meeting.starts_at - now,
        add_direction=True,
        threshold=1.5,
        locale=formatting_locale(zone),
    )


def meeting_reminder(
    meeting: Meeting, counts: Counts, zone: ZoneInfo, *, answer: Attendance, now: datetime
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reminder: a heading with the time left, then the card with the member's answer."""
    text, keyboard = meeting_card(meeting, counts, zone, answer=answer)
    heading = _("⏰ <b>Reminder:</b> this meeting starts {when}.").format(
        when=starts_in(meeting, now, zone)
    )
    footer = _("Can't make it after all? Tap “No” so someone else can have your place.")
    return f"{heading}\n\n{text}\n\n{footer}", keyboard
