"""/kalender: the member's dates, .ics files, and the subscription link."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.calendar import CalendarDate, meetings_ics, uid_domain
from bot.telegram.callbacks import CalendarAction, CalendarCallback
from bot.telegram.format import esc, format_day, format_meeting
from bot.telegram.views.meeting_card import MAYBE, WAITING, YES, cancelled_line
from models import Attendance, Meeting, RsvpAnswer

CALENDAR = "🗓"


def personal_calendar_name(kv_name: str) -> str:
    """The name a calendar app shows for a member's dates."""
    return _("{kv}: my dates").format(kv=kv_name)


def cancelled_label() -> str:
    """What goes before a cancelled meeting's title in a calendar app."""
    return _("Cancelled")


def personal_ics(
    meetings: Sequence[Meeting], *, kv_name: str, zone: ZoneInfo, bot_id: int, now: datetime
) -> bytes:
    """A member's own dates as one .ics (file or feed), named and labelled in their language."""
    return meetings_ics(
        meetings,
        name=personal_calendar_name(kv_name),
        zone=zone,
        domain=uid_domain(bot_id),
        now=now,
        cancelled_label=cancelled_label(),
    )


def _mark(answer: Attendance | None) -> str:
    if answer is None:
        return CALENDAR
    if answer.answer == RsvpAnswer.MAYBE:
        return MAYBE
    return WAITING if answer.waitlisted else YES


def _button(text: str, action: CalendarAction, meeting_id: int = 0) -> list[InlineKeyboardButton]:
    data = CalendarCallback(action=action, meeting_id=meeting_id)
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


def overview(
    dates: Sequence[CalendarDate],
    *,
    shown: int,
    zone: ZoneInfo,
    can_subscribe: bool,
    has_link: bool,
) -> tuple[str, InlineKeyboardMarkup]:
    """The member's next dates (the first `shown` of them, cancelled ones marked), a button per
    meeting for its .ics file, one for all of them, and the subscription buttons."""
    lines = [_("<b>Your dates</b>")]
    buttons: list[list[InlineKeyboardButton]] = []
    if not dates:
        lines.append(_("No dates in the next eight weeks: /groups shows groups to join."))
    for item in dates[:shown]:
        meeting = item.meeting
        if meeting.cancelled:
            lines.append(f"{cancelled_line(meeting, zone)} · {esc(meeting.group.name)}")
            continue
        when = format_meeting(meeting.starts_at, zone)
        place = f" ({esc(meeting.where)})" if meeting.where else ""
        lines.append(f"{_mark(item.answer)} {when} – {esc(meeting.group.name)}{place}")
        buttons.append(
            _button(f"{CALENDAR} {when} · {meeting.group.name}", CalendarAction.MEETING, meeting.id)
        )
    if len(dates) > shown:
        more = len(dates) - shown
        lines.append(
            ngettext(
                "… and {n} more date in the file.", "… and {n} more dates in the file.", more
            ).format(n=more)
        )
    lines.append("")
    lines.append(
        _(
            "{yes} you are coming · {maybe} maybe · {waiting} waiting list · {group} your group"
        ).format(yes=YES, maybe=MAYBE, waiting=WAITING, group=CALENDAR)
    )
    if dates:
        lines.append(_("Tap a date to get it as a calendar file (.ics)."))
    if can_subscribe:
        lines.append(
            _(
                "Subscribe to your dates and your phone's calendar stays up to date by itself, "
                "cancellations included."
            )
        )
    else:
        lines.append(no_link())
    if dates:
        buttons.append(_button(_("📥 All my dates as a file"), CalendarAction.FILE))
    if can_subscribe:
        buttons.append(_button(_("🔗 Subscribe in my calendar"), CalendarAction.LINK))
        if has_link:
            buttons.append(
                _button(_("🔄 New link (the old one stops working)"), CalendarAction.RENEW)
            )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


def link_text(url: str, *, public_url: str | None, renewed: bool) -> str:
    """The new personal feed link, how to use it, and the public KV calendar."""
    lines = []
    if renewed:
        lines += [_("Here is your new link; the old one no longer works."), ""]
    lines += [
        _("<b>Your calendar link</b>"),
        f"<code>{esc(url)}</code>",
        "",
        _(
            'In your calendar app, add a calendar by URL ("subscribe") and paste this link. '
            "Keep it to yourself: whoever has it sees your dates. /calendar makes a new one "
            "if it got out."
        ),
    ]
    if public_url:
        lines += [
            "",
            _("Everyone's KV calendar (open meetings): {url}").format(url=esc(public_url)),
        ]
    return "\n".join(lines)


def link_exists_text(created_at: datetime, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    """Why the existing link can't be shown again, with the button for a new one."""
    text = _(
        "You made your calendar link on {day}. I keep only a fingerprint of it, so I can't "
        "show it again. If you need it again, make a new one: the old one then stops working."
    ).format(day=format_day(created_at, zone))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            _button(_("🔄 New link (the old one stops working)"), CalendarAction.RENEW)
        ]
    )
    return text, keyboard


def no_consent() -> str:
    """Why /kalender has nothing before consent."""
    return _("To see your dates, agree in /start first.")


def no_link() -> str:
    """Subscribing is not set up on this bot."""
    return _(
        "Subscribing to a calendar isn't set up for this bot yet (its operator needs to set "
        "PUBLIC_URL); the calendar file works all the same."
    )


def file_caption(count: int) -> str:
    """The caption under the file of all dates."""
    return ngettext(
        "{n} date. Open the file to add it to your calendar.",
        "{n} dates. Open the file to add them to your calendar.",
        count,
    ).format(n=count)


def meeting_caption(meeting: Meeting, zone: ZoneInfo) -> str:
    """The caption under one meeting's file."""
    when = format_meeting(meeting.starts_at, zone)
    return _("{group}, {when}. Open the file to add it to your calendar.").format(
        group=esc(meeting.group.name), when=when
    )


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.decode().lower()).strip("-")
    return slug[:40].strip("-") or "meeting"


def meeting_filename(meeting: Meeting, zone: ZoneInfo) -> str:
    """ "stammtisch-mitte-2026-03-26.ics" (ASCII, for every phone)."""
    day = meeting.starts_at.astimezone(zone).date().isoformat()
    return f"{_slug(meeting.group.name)}-{day}.ics"


def all_dates_filename() -> str:
    """The file name of all dates."""
    return _("my-dates") + ".ics"
