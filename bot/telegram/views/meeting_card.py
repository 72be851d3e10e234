"""One meeting as a card: when, where, the note, the answers so far, and the answer buttons.

Used wherever a meeting is shown with buttons: /termine, after joining a group, deep links,
reminders, and posts in group chats (there without a personal answer).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.rsvp import Counts
from bot.telegram.callbacks import RsvpAction, RsvpCallback
from bot.telegram.format import esc, format_meeting
from models import Attendance, CancelReason, Meeting, RsvpAnswer
from models.meeting import MAX_GUESTS

YES, MAYBE, NO, WAITING = "✅", "🤔", "❌", "⏳"


def cancelled_line(meeting: Meeting, zone: ZoneInfo) -> str:
    """ "Cancelled" with the struck-through date and why."""
    when = f"<s>{format_meeting(meeting.starts_at, zone)}</s>"
    reason = {
        CancelReason.PAUSE: _("cancelled (break)"),
        CancelReason.SERIES_ENDED: _("cancelled (the series ended)"),
        CancelReason.SCHEDULE_CHANGED: _("cancelled (the schedule changed)"),
    }.get(meeting.cancel_reason or CancelReason.CANCELLED, _("cancelled"))
    return f"{NO} {when} – {reason}"


def counts_line(counts: Counts) -> str:
    """ "✅ 5 (+2 guests) · 🤔 2 · ❌ 1 · ⏳ 3 · 4 places left"."""
    parts = [f"{YES} {counts.yes}"]
    if counts.guests:
        parts[0] += " " + ngettext("(+{n} guest)", "(+{n} guests)", counts.guests).format(
            n=counts.guests
        )
    parts += [f"{MAYBE} {counts.maybe}", f"{NO} {counts.no}"]
    if counts.waiting:
        parts.append(
            ngettext(
                "{icon} {n} person waiting", "{icon} {n} people waiting", counts.waiting
            ).format(icon=WAITING, n=counts.waiting)
        )
    if counts.free is not None:
        parts.append(
            ngettext("{n} place left", "{n} places left", counts.free).format(n=counts.free)
            if counts.free
            else _("full")
        )
    return " · ".join(parts)


def your_answer(answer: Attendance | None) -> str | None:
    """The member's own answer in words, None before they answered."""
    if answer is None:
        return None
    if answer.answer == RsvpAnswer.YES and answer.waitlisted:
        return _("You are on the waiting list; I'll tell you as soon as a place frees up.")
    if answer.answer == RsvpAnswer.YES:
        if answer.guests:
            return ngettext(
                "You are coming, with {n} guest.", "You are coming, with {n} guests.", answer.guests
            ).format(n=answer.guests)
        return _("You are coming.")
    if answer.answer == RsvpAnswer.MAYBE:
        return _("You said maybe.")
    return _("You said you can't come.")


def meeting_text(
    meeting: Meeting, counts: Counts, zone: ZoneInfo, *, answer: Attendance | None = None
) -> str:
    """The card's text (HTML); with `answer`, the member's own answer under it."""
    lines = [f"<b>{esc(meeting.group.name)}</b>"]
    if meeting.cancelled:
        lines.append(cancelled_line(meeting, zone))
        return "\n".join(lines)
    lines.append(f"🗓 {format_meeting(meeting.starts_at, zone)}")
    if meeting.where:
        lines.append(f"📍 {esc(meeting.where)}")
    if meeting.note:
        lines.append(f"📝 {esc(meeting.note)}")
    lines.append(counts_line(counts))
    mine = your_answer(answer)
    if mine:
        lines += ["", mine]
    return "\n".join(lines)


def _button(
    label: str, action: RsvpAction, meeting: Meeting, value: int = 0
) -> InlineKeyboardButton:
    data = RsvpCallback(action=action, meeting_id=meeting.id, value=value)
    return InlineKeyboardButton(text=label, callback_data=data.pack())


def rsvp_keyboard(
    meeting: Meeting, *, answer: Attendance | None = None, personal: bool = True
) -> InlineKeyboardMarkup | None:
    """Yes / maybe / no (the member's answer marked); after a yes, how many guests come along.

    `personal` False (a post in a group chat) leaves out the marks and the guests row.
    None for a cancelled meeting: there is nothing to answer.
    """
    if meeting.cancelled:
        return None
    current = answer.answer if (personal and answer is not None) else None

    def mark(kind: RsvpAnswer, label: str) -> str:
        return f"• {label} •" if kind == current else label

    # Outside the f-strings: the message extractor doesn't look inside them.
    yes, maybe, no = _("Yes"), _("Maybe"), _("No")
    rows = [
        [
            _button(mark(RsvpAnswer.YES, f"{YES} {yes}"), RsvpAction.YES, meeting),
            _button(mark(RsvpAnswer.MAYBE, f"{MAYBE} {maybe}"), RsvpAction.MAYBE, meeting),
            _button(mark(RsvpAnswer.NO, f"{NO} {no}"), RsvpAction.NO, meeting),
        ]
    ]
    if personal and answer is not None and answer.answer == RsvpAnswer.YES:
        guests = answer.guests
        rows.append(
            [
                _button(f"•+{n}•" if n == guests else f"+{n}", RsvpAction.GUESTS, meeting, value=n)
                for n in range(MAX_GUESTS + 1)
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def meeting_card(
    meeting: Meeting, counts: Counts, zone: ZoneInfo, *, answer: Attendance | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card in a private chat: text and the member's answer buttons."""
    return meeting_text(meeting, counts, zone, answer=answer), rsvp_keyboard(meeting, answer=answer)
