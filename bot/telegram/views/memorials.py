"""Gedenktage: a memorial date's card (why it matters, the KV's event, answers), the members'
reminder, the organisers' planning note, and /gedenktage's list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_date, format_time

from bot.services.memorials import Counts, MemorialError, Reminder, has_event, is_over
from bot.telegram.callbacks import MemorialAct, MemorialCallback
from bot.telegram.format import esc, formatting_locale
from models import MemorialDate, RsvpAnswer

CANDLE, YES, MAYBE, NO = "🕯", "✅", "🤔", "❌"
# Telegram allows 100 buttons per keyboard; the list shows far fewer dates.
MAX_LISTED = 12
# The note is free text from the setup file; a message holds 4096 characters in all.
MAX_NOTE = 1000


def day_label(day: date, zone: ZoneInfo) -> str:
    """ "Sonntag, 13. September 2026" / "Sunday, 13 September 2026"."""
    return format_date(day, format="full", locale=formatting_locale(zone))


def _time(moment: datetime, zone: ZoneInfo) -> str:
    return format_time(moment.astimezone(zone), format="short", locale=formatting_locale(zone))


def counts_line(counts: Counts) -> str:
    """ "✅ 5 · 🤔 2 · ❌ 1"."""
    return f"{YES} {counts.yes} · {MAYBE} {counts.maybe} · {NO} {counts.no}"


def your_answer(answer: RsvpAnswer | None) -> str | None:
    """The member's own answer in words, None before they answered."""
    if answer == RsvpAnswer.YES:
        return _("You are coming.")
    if answer == RsvpAnswer.MAYBE:
        return _("You said maybe.")
    if answer == RsvpAnswer.NO:
        return _("You said you can't come.")
    return None


def event_lines(row: MemorialDate, zone: ZoneInfo) -> list[str]:
    """The KV's event on the date: time, place, note; or that there is none."""
    if row.event_starts_at is None:
        return [_("The KV holds no event of its own on this day.")]
    lines = [
        _("🗓 <b>Our event:</b> {time}").format(time=_time(row.event_starts_at, zone)),
    ]
    if row.event_place:
        lines.append(f"📍 {esc(row.event_place)}")
    if row.memorial.event_note:
        note = row.memorial.event_note
        if len(note) > MAX_NOTE:
            note = note[: MAX_NOTE - 1] + "…"
        lines.append(f"📝 {esc(note)}")
    return lines


def card_text(
    row: MemorialDate,
    counts: Counts | None,
    zone: ZoneInfo,
    *,
    answer: RsvpAnswer | None = None,
    now: datetime,
) -> str:
    """The date's card (HTML): name, day, why it matters, the event, answers so far."""
    memorial = row.memorial
    lines = [f"{CANDLE} <b>{esc(memorial.name)}</b>", day_label(row.day, zone)]
    if memorial.about:
        lines += ["", f"<i>{esc(memorial.about)}</i>"]
    lines.append("")
    lines += event_lines(row, zone)
    if has_event(row) and counts is not None:
        lines.append(counts_line(counts))
        if is_over(row, now=now, zone=zone):
            lines.append(_("The event has started; answers are closed."))
        else:
            mine = your_answer(answer)
            if mine:
                lines += ["", mine]
    return "\n".join(lines)


def _button(label: str, act: MemorialAct, row: MemorialDate) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=label, callback_data=MemorialCallback(act=act, date_id=row.id).pack()
    )


def answer_keyboard(
    row: MemorialDate, *, answer: RsvpAnswer | None, now: datetime, zone: ZoneInfo
) -> InlineKeyboardMarkup | None:
    """Yes / maybe / no for the event (the member's answer marked); None without an open one."""
    if not has_event(row) or is_over(row, now=now, zone=zone):
        return None

    def mark(kind: RsvpAnswer, label: str) -> str:
        return f"• {label} •" if kind == answer else label

    # Outside the f-strings: gettext calls inside them are not extracted into the catalogs.
    yes, maybe, no = _("Yes"), _("Maybe"), _("No")
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(mark(RsvpAnswer.YES, f"{YES} {yes}"), MemorialAct.YES, row),
                _button(mark(RsvpAnswer.MAYBE, f"{MAYBE} {maybe}"), MemorialAct.MAYBE, row),
                _button(mark(RsvpAnswer.NO, f"{NO} {no}"), MemorialAct.NO, row),
            ]
        ]
    )


def card(
    row: MemorialDate,
    counts: Counts,
    zone: ZoneInfo,
    *,
    answer: RsvpAnswer | None,
    now: datetime,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card in the private chat: text and the answer buttons."""
    text = card_text(row, counts, zone, answer=answer, now=now)
    return text, answer_keyboard(row, answer=answer, now=now, zone=zone)


def days_left(day: date, now: datetime, zone: ZoneInfo) -> str:
    """ "today", "tomorrow", "in 7 days"."""
    left = (day - now.astimezone(zone).date()).days
    if left <= 0:
        return _("today")
    if left == 1:
        return _("tomorrow")
    return ngettext("in {n} day", "in {n} days", left).format(n=left)


def reminder(
    due: Reminder, zone: ZoneInfo, *, now: datetime
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A member's reminder: a heading with the days left, then the card and its buttons."""
    heading = _("{icon} <b>Gedenktag coming {when}</b>").format(
        icon=CANDLE, when=days_left(due.row.day, now, zone)
    )
    text, keyboard = card(due.row, due.counts, zone, answer=due.answer, now=now)
    footer = _("Don't want these reminders? Switch off “Memorial dates” in /settings.")
    return f"{heading}\n\n{text}\n\n{footer}", keyboard


def planning_note(due: Reminder, zone: ZoneInfo, *, now: datetime) -> tuple[str, None]:
    """The organisers' note ahead of a date: plan the event; last year's attendance."""
    row = due.row
    memorial = row.memorial
    lines = [
        _("{icon} <b>For organisers: Gedenktag {when}</b>").format(
            icon=CANDLE, when=days_left(row.day, now, zone)
        ),
        "",
        f"<b>{esc(memorial.name)}</b>",
        day_label(row.day, zone),
    ]
    if memorial.about:
        lines.append(f"<i>{esc(memorial.about)}</i>")
    lines.append("")
    if has_event(row):
        lines += event_lines(row, zone)
        lines.append(_("Answers so far: {counts}").format(counts=counts_line(due.counts)))
    else:
        lines.append(_("No KV event is planned yet. Add one in the KV's setup file."))
    if due.last_year is None:
        lines.append(_("Last year: no record."))
    else:
        lines.append(
            ngettext(
                "Last year: {n} person said they would come.",
                "Last year: {n} people said they would come.",
                due.last_year,
            ).format(n=due.last_year)
        )
    return "\n".join(lines), None


def short_day(day: date, zone: ZoneInfo) -> str:
    """ "13.09.26" / "13/09/2026"."""
    return format_date(day, format="short", locale=formatting_locale(zone))


def listing(
    rows: Sequence[MemorialDate], zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup | None]:
    """/gedenktage: the next memorial dates with the KV's events, each opening its card."""
    if not rows:
        return _("No Gedenktage are planned in the coming months."), None
    lines = [_("{icon} <b>The next Gedenktage</b>").format(icon=CANDLE)]
    buttons: list[list[InlineKeyboardButton]] = []
    for row in rows[:MAX_LISTED]:
        line = f"\n<b>{esc(row.memorial.name)}</b> – {day_label(row.day, zone)}"
        if row.event_starts_at is not None:
            event = _("our event at {time}").format(time=_time(row.event_starts_at, zone))
            if row.event_place:
                event += f", {esc(row.event_place)}"
            line += f"\n{event}"
        lines.append(line)
        label = f"{CANDLE} {short_day(row.day, zone)} · {row.memorial.name}"
        buttons.append([_button(label[:64], MemorialAct.SHOW, row)])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


def answer_noted(answer: RsvpAnswer) -> str:
    """The short confirmation after an answer."""
    return {
        RsvpAnswer.YES: _("Noted: you are coming."),
        RsvpAnswer.MAYBE: _("Noted: maybe."),
        RsvpAnswer.NO: _("Noted: you can't come."),
    }[answer]


def error_text(error: MemorialError) -> str:
    """A refused press in the member's words."""
    return {
        "no_consent": _(
            "To answer, I need to store your answer. Tap /start and agree first; "
            "then you can say whether you come."
        ),
        "no_event": _(
            "The KV holds no event of its own on this day, so there is nothing to answer."
        ),
        "past": _("This event has already started; answers are closed."),
    }.get(error.reason, _("This Gedenktag is no longer in the calendar."))
