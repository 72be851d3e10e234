"""What a member hears about a meeting they answered: it moved, it was cancelled, they moved up.

Each notice carries the meeting's card (with its buttons where there is still something to
answer), so a member who can't make the new time says so with one tap.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.rsvp import Counts
from bot.telegram.format import esc, format_meeting
from bot.telegram.views.meeting_card import meeting_card
from models import Attendance, CancelReason, Meeting

Notice = tuple[str, InlineKeyboardMarkup | None]


def meeting_moved(
    meeting: Meeting,
    counts: Counts,
    zone: ZoneInfo,
    *,
    previous: datetime,
    answer: Attendance | None,
) -> Notice:
    """ "Moved: … is now on <new> instead of <old>", then the card with the answer buttons."""
    head = _("🔁 <b>Moved:</b> {group} is now on {new} instead of {old}.").format(
        group=esc(meeting.group.name),
        new=format_meeting(meeting.starts_at, zone),
        old=format_meeting(previous, zone),
    )
    ask = _("Can you still come? Tap to change your answer.")
    text, keyboard = meeting_card(meeting, counts, zone, answer=answer)
    return f"{head}\n{ask}\n\n{text}", keyboard


def meeting_cancelled(meeting: Meeting, zone: ZoneInfo) -> Notice:
    """ "Cancelled: … on <date> does not take place", and why where it's a pause or the like."""
    values = {"group": esc(meeting.group.name), "when": format_meeting(meeting.starts_at, zone)}
    reason = meeting.cancel_reason or CancelReason.CANCELLED
    if reason == CancelReason.PAUSE:
        text = _(
            "❌ <b>Cancelled:</b> {group} on {when} does not take place: the group takes a break."
        )
    elif reason == CancelReason.SERIES_ENDED:
        text = _(
            "❌ <b>Cancelled:</b> {group} on {when} does not take place: the series has ended."
        )
    elif reason == CancelReason.SCHEDULE_CHANGED:
        text = _(
            "❌ <b>Cancelled:</b> {group} on {when} does not take place: the group's schedule "
            "changed."
        )
    else:
        text = _("❌ <b>Cancelled:</b> {group} on {when} does not take place.")
    more = _("/dates shows the next meetings.")
    return f"{text.format(**values)}\n{more}", None


def promoted(meeting: Meeting, counts: Counts, zone: ZoneInfo, *, answer: Attendance) -> Notice:
    """ "A place freed up: you're in", then the card (a no frees the place again)."""
    head = _("🎉 <b>A place freed up: you're in!</b> You have moved up from the waiting list.")
    text, keyboard = meeting_card(meeting, counts, zone, answer=answer)
    return f"{head}\n\n{text}", keyboard
