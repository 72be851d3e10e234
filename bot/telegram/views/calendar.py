"""/kalender: the member's dates (meetings, shifts, Gedenktage), .ics files, and the
subscription link."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_skeleton, format_time

from bot.services.calendar import (
    CalendarDate,
    CalendarItem,
    MemorialEntry,
    ShiftEntry,
    items_ics,
    uid_domain,
)
from bot.telegram.callbacks import CalendarAction, CalendarCallback
from bot.telegram.format import esc, format_day, format_meeting, formatting_locale, visible_length
from bot.telegram.labels import action_kind_label
from bot.telegram.views.meeting_card import MAYBE, NO, WAITING, YES, cancelled_line
from models import Attendance, Meeting, MemorialDate, RsvpAnswer, Shift

CALENDAR = "🗓"
SHIFT = "🧰"
MEMORIAL = "🕯"
# The list stays well under Telegram's 4096 characters: the dates get this much, the legend and
# hints the rest; what doesn't fit is counted ("… and 3 more dates in the file").
LIST_BUDGET = 3300
# What a member or organiser typed (a place, a title) is cut to this in the list and buttons.
PLACE_LIMIT = 60
NAME_LIMIT = 60
BUTTON_NAME_LIMIT = 32


def personal_calendar_name(kv_name: str) -> str:
    """The name a calendar app shows for a member's dates."""
    return _("{kv}: my dates").format(kv=kv_name)


def cancelled_label() -> str:
    """What goes before a cancelled meeting's or shift's title in a calendar app."""
    return _("Cancelled")


def personal_ics(
    items: Sequence[CalendarItem], *, kv_name: str, zone: ZoneInfo, bot_id: int, now: datetime
) -> bytes:
    """A member's own dates (meetings, shifts, Gedenktage) as one .ics (file or feed), named and
    labelled in their language."""
    return items_ics(
        items,
        name=personal_calendar_name(kv_name),
        zone=zone,
        domain=uid_domain(bot_id),
        now=now,
        cancelled_label=cancelled_label(),
    )


def item_ics(
    item: CalendarItem, *, kv_name: str, zone: ZoneInfo, bot_id: int, now: datetime
) -> bytes:
    """One shift's or Gedenktag's file, named after the KV."""
    return items_ics(
        [item],
        name=kv_name,
        zone=zone,
        domain=uid_domain(bot_id),
        now=now,
        cancelled_label=cancelled_label(),
    )


def _cut(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters, at a word where it can be."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,–-&") + "…"


def _mark(answer: Attendance | None) -> str:
    if answer is None:
        return CALENDAR
    if answer.answer == RsvpAnswer.MAYBE:
        return MAYBE
    return WAITING if answer.waitlisted else YES


def _button(text: str, action: CalendarAction, item_id: int = 0) -> list[InlineKeyboardButton]:
    data = CalendarCallback(action=action, item_id=item_id)
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


def shift_time(shift: Shift, zone: ZoneInfo) -> str:
    """ "Sa., 5. Dez., 10:00–12:00"."""
    end = format_time(
        shift.ends_at.astimezone(zone), format="short", locale=formatting_locale(zone)
    )
    return f"{format_meeting(shift.starts_at, zone)}–{end}"


def memorial_day(day: date, zone: ZoneInfo) -> str:
    """ "Mi., 27. Jan." (the day of a Gedenktag without the KV's event)."""
    return format_skeleton("MMMEd", day, locale=formatting_locale(zone))


def memorial_when(entry: MemorialEntry, zone: ZoneInfo) -> str:
    """The event's day and time, or the day alone."""
    starts = entry.date.event_starts_at
    if starts is not None:
        return format_meeting(starts, zone)
    return memorial_day(entry.date.day, zone)


def _answer_note(answer: RsvpAnswer | None) -> str:
    if answer == RsvpAnswer.YES:
        return f" · {YES} " + _("you're coming")
    if answer == RsvpAnswer.MAYBE:
        return f" · {MAYBE} " + _("maybe")
    if answer == RsvpAnswer.NO:
        return f" · {NO} " + _("you're not coming")
    return ""


def _meeting_line(
    item: CalendarDate, zone: ZoneInfo
) -> tuple[str, list[InlineKeyboardButton] | None]:
    meeting = item.meeting
    name = _cut(meeting.group.name, NAME_LIMIT)
    if meeting.cancelled:
        return f"{cancelled_line(meeting, zone)} · {esc(name)}", None
    when = format_meeting(meeting.starts_at, zone)
    place = f" ({esc(_cut(meeting.where, PLACE_LIMIT))})" if meeting.where else ""
    line = f"{_mark(item.answer)} {when} – {esc(name)}{place}"
    label = f"{CALENDAR} {when} · {_cut(meeting.group.name, BUTTON_NAME_LIMIT)}"
    return line, _button(label, CalendarAction.MEETING, meeting.id)


def _shift_line(item: ShiftEntry, zone: ZoneInfo) -> tuple[str, list[InlineKeyboardButton] | None]:
    shift = item.shift
    action = shift.action_date.action
    title = esc(_cut(action.title, NAME_LIMIT))
    when = shift_time(shift, zone)
    if shift.action_date.cancelled:
        cancelled = _("cancelled")
        return f"{NO} <s>{when}</s> – {cancelled} · {title}", None
    what = action_kind_label(action.kind)
    if shift.label:
        what = f"{what}, {esc(shift.label)}"
    place = esc(_cut(action.place, PLACE_LIMIT))
    line = f"{SHIFT} {when} – {title} · {what} ({place})"
    label = (
        f"{SHIFT} {format_meeting(shift.starts_at, zone)} · {_cut(action.title, BUTTON_NAME_LIMIT)}"
    )
    return line, _button(label, CalendarAction.SHIFT, shift.id)


def _memorial_line(item: MemorialEntry, zone: ZoneInfo) -> tuple[str, list[InlineKeyboardButton]]:
    memorial = item.date.memorial
    when = memorial_when(item, zone)
    place = f" ({esc(_cut(item.place, PLACE_LIMIT))})" if item.place else ""
    line = f"{MEMORIAL} {when} – {esc(_cut(memorial.name, NAME_LIMIT))}{place}"
    line += _answer_note(item.answer)
    label = f"{MEMORIAL} {when} · {_cut(memorial.name, BUTTON_NAME_LIMIT)}"
    return line, _button(label, CalendarAction.MEMORIAL, item.date.id)


def _line(item: CalendarItem, zone: ZoneInfo) -> tuple[str, list[InlineKeyboardButton] | None]:
    if isinstance(item, CalendarDate):
        return _meeting_line(item, zone)
    if isinstance(item, ShiftEntry):
        return _shift_line(item, zone)
    return _memorial_line(item, zone)


def overview(
    items: Sequence[CalendarItem],
    *,
    shown: int,
    zone: ZoneInfo,
    can_subscribe: bool,
    link: int | None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The member's next dates in one list by time (the first `shown` of them, as many as fit;
    cancelled ones marked): meetings, shifts and Gedenktage, a button per date for its .ics
    file, one for all of them, and the subscription buttons."""
    lines = [_("<b>Your dates</b>")]
    buttons: list[list[InlineKeyboardButton]] = []
    if not items:
        lines.append(_("No dates in the next eight weeks: /groups shows groups to join."))
    used = 0
    listed = 0
    for item in items[:shown]:
        line, button = _line(item, zone)
        length = visible_length(line) + 1
        if used + length > LIST_BUDGET:
            break
        used += length
        listed += 1
        lines.append(line)
        if button is not None:
            buttons.append(button)
    if len(items) > listed:
        more = len(items) - listed
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
    if any(not isinstance(item, CalendarDate) for item in items):
        lines.append(
            _("{shift} your shift · {memorial} Gedenktag").format(shift=SHIFT, memorial=MEMORIAL)
        )
    if items:
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
    if items:
        buttons.append(_button(_("📥 All my dates as a file"), CalendarAction.FILE))
    if can_subscribe:
        buttons.append(_button(_("🔗 Subscribe in my calendar"), CalendarAction.LINK))
        if link is not None:
            buttons.append(_renew_button(link))
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
            _("Everyone's KV calendar (open meetings, field actions, Gedenktage): {url}").format(
                url=esc(public_url)
            ),
        ]
    return "\n".join(lines)


def link_exists_text(
    created_at: datetime, zone: ZoneInfo, link: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Why the existing link can't be shown again, with the button for a new one."""
    text = _(
        "You made your calendar link on {day}. I keep only a fingerprint of it, so I can't "
        "show it again. If you need it again, make a new one: the old one then stops working."
    ).format(day=format_day(created_at, zone))
    keyboard = InlineKeyboardMarkup(inline_keyboard=[_renew_button(link)])
    return text, keyboard


def _renew_button(link: int) -> list[InlineKeyboardButton]:
    """ "New link", naming the link it replaces (calendar.link_stamp)."""
    return _button(_("🔄 New link (the old one stops working)"), CalendarAction.RENEW, link)


def already_renewed() -> str:
    """A "new link" button of a link that was replaced since (a double tap)."""
    return _("That link was replaced already: your newest link is in the chat.")


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


def shift_caption(shift: Shift, zone: ZoneInfo) -> str:
    """The caption under one shift's file."""
    action = shift.action_date.action
    title = f"{action.title} – {shift.label}" if shift.label else action.title
    return _("{title}, {when}. Open the file to add it to your calendar.").format(
        title=esc(title), when=shift_time(shift, zone)
    )


def memorial_caption(entry: MemorialEntry, zone: ZoneInfo) -> str:
    """The caption under one Gedenktag's file."""
    return _("{title}, {when}. Open the file to add it to your calendar.").format(
        title=esc(entry.date.memorial.name), when=memorial_when(entry, zone)
    )


def shift_filename(shift: Shift, zone: ZoneInfo) -> str:
    """ "infostand-marktplatz-2026-12-05.ics"."""
    day = shift.starts_at.astimezone(zone).date().isoformat()
    return f"{_slug(shift.action_date.action.title)}-{day}.ics"


def memorial_filename(row: MemorialDate) -> str:
    """ "holocaust-gedenktag-2027-01-27.ics"."""
    return f"{_slug(row.memorial.name)}-{row.day.isoformat()}.ics"


def shift_gone() -> str:
    """A shift button for a shift that isn't the member's (any more), or that is gone."""
    return _("This shift is no longer in your calendar.")


def memorial_gone() -> str:
    """A Gedenktag button for a date that is gone."""
    return _("This Gedenktag is no longer in the calendar.")


def meeting_filename(meeting: Meeting, zone: ZoneInfo) -> str:
    """ "stammtisch-mitte-2026-03-26.ics" (ASCII, for every phone)."""
    day = meeting.starts_at.astimezone(zone).date().isoformat()
    return f"{_slug(meeting.group.name)}-{day}.ics"


def all_dates_filename() -> str:
    """The file name of all dates."""
    return _("my-dates") + ".ics"
