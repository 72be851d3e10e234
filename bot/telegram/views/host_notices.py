"""What hosts are told of answers: each one as it comes, a daily summary, the list the day
before. First names only, guests, first-timers marked, and the counts."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.host_notices import AnswerNotice, MeetingAnswers
from bot.services.rsvp import Attendee
from bot.telegram.format import esc, format_meeting, part_label, split_message
from bot.telegram.views.meeting_card import MAYBE, NO, WAITING, YES, counts_line
from models import Meeting, RsvpAnswer

FIRST_TIME = "🌱"


def _icon(attendee: Attendee) -> str:
    if attendee.answer == RsvpAnswer.YES:
        return WAITING if attendee.waitlisted else YES
    return MAYBE if attendee.answer == RsvpAnswer.MAYBE else NO


def attendee_line(attendee: Attendee) -> str:
    """ "✅ Anna (+2) 🌱": answer, first name, guests, first-timer."""
    line = f"{_icon(attendee)} {esc(attendee.first_name)}"
    if attendee.answer == RsvpAnswer.YES and attendee.guests:
        line += f" (+{attendee.guests})"
    if attendee.first_time and attendee.answer != RsvpAnswer.NO:
        line += f" {FIRST_TIME}"
    return line


def _meeting_heading(meeting: Meeting, zone: ZoneInfo) -> str:
    return f"<b>{esc(meeting.group.name)}</b> · {format_meeting(meeting.starts_at, zone)}"


def _said(attendee: Attendee) -> str:
    name = esc(attendee.first_name)
    if attendee.answer == RsvpAnswer.YES and attendee.waitlisted:
        return _("{name} is on the waiting list.").format(name=name)
    if attendee.answer == RsvpAnswer.YES and attendee.guests:
        return ngettext(
            "{name} is coming, with {n} guest.",
            "{name} is coming, with {n} guests.",
            attendee.guests,
        ).format(name=name, n=attendee.guests)
    if attendee.answer == RsvpAnswer.YES:
        return _("{name} is coming.").format(name=name)
    if attendee.answer == RsvpAnswer.MAYBE:
        return _("{name} said maybe.").format(name=name)
    return _("{name} can't come.").format(name=name)


def answer_notice(notice: AnswerNotice, zone: ZoneInfo) -> str:
    """One answer for a host who hears of each: who said what, and the counts now."""
    lines = [f"🔔 {_said(notice.attendee)}"]
    if notice.attendee.first_time and notice.attendee.answer != RsvpAnswer.NO:
        lines.append(_("{icon} It would be their first time.").format(icon=FIRST_TIME))
    lines += [_meeting_heading(notice.meeting, zone), counts_line(notice.counts)]
    return "\n".join(lines)


def _legend(items: Sequence[MeetingAnswers]) -> list[str]:
    if any(a.first_time and a.answer != RsvpAnswer.NO for item in items for a in item.attendees):
        return ["", _("{icon} first time").format(icon=FIRST_TIME)]
    return []


def daily_summary(items: Sequence[MeetingAnswers], zone: ZoneInfo) -> list[str]:
    """The evening summary: per meeting the answers changed since yesterday evening.

    Several messages when one can't hold them all (split between lines, nobody left out).
    """
    lines: list[str] = []
    for item in items:
        lines += ["", _meeting_heading(item.meeting, zone)]
        lines += [attendee_line(attendee) for attendee in item.attendees]
        lines.append(counts_line(item.counts))
    title = _("<b>New answers since yesterday evening</b>")
    parts = split_message(
        lambda part, parts: title + part_label(part, parts), lines, tail="\n".join(_legend(items))
    )
    return [text for text, _run in parts]


def day_list(item: MeetingAnswers, zone: ZoneInfo) -> list[str]:
    """The list the evening before: who comes, who waits, who may come; the counts.

    Several messages for a long list, each opening with the meeting.
    """
    meeting = item.meeting
    head = [
        _("<b>Tomorrow:</b> {group}").format(group=esc(meeting.group.name)),
        f"🗓 {format_meeting(meeting.starts_at, zone)}",
    ]
    if meeting.where:
        head.append(f"📍 {esc(meeting.where)}")
    head.append(counts_line(item.counts))
    shown = [a for a in item.attendees if a.answer != RsvpAnswer.NO]
    if shown:
        lines = [attendee_line(attendee) for attendee in shown]
    else:
        lines = [_("Nobody has said yes or maybe yet.")]

    def heading(part: int, parts: int) -> str:
        return "\n".join([head[0] + part_label(part, parts), *head[1:], ""])

    legend = "\n".join(_legend([MeetingAnswers(meeting, shown, item.counts)]))
    return [text for text, _run in split_message(heading, lines, tail=legend)]
