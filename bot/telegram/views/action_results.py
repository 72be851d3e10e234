"""The result log after a shift: the prompt with quick choices, the log screen with steppers and
topic toggles, the confirmation, and the organisers' summary of a date.

Everything shown is counts and the KV's own topic names; the action's title and place come from
the organisers' setup and are escaped like anything typed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_time

from bot.services.action_results import (
    FIELDS,
    LOG_WINDOW,
    MAX_COUNT,
    Counts,
    DateSummary,
    Logged,
    ResultError,
    clamp,
)
from bot.telegram.callbacks import ResultAct, ResultCallback
from bot.telegram.format import esc, format_day, formatting_locale, number
from bot.telegram.labels import action_kind_label
from models import Shift, Topic

# The prompt's quick choices of conversations: one tap, then "Save".
QUICK_CONVERSATIONS = (0, 5, 10, 20, 30, 50)
# Quick values per count (FIELDS' order) on the log screen, and the steppers.
QUICK_VALUES = ((0, 5, 10, 20, 30, 50), (0, 10, 25, 50, 100, 200), (0, 1, 2, 3, 5, 10))
STEPS = (-10, -1, 1, 10)
ICONS = ("💬", "📄", "🤝")
TOPICS_PER_PAGE = 8


@dataclass(frozen=True, slots=True)
class LogScreen:
    """What the log screen shows: the draft's counts and topics, which count is open for
    editing, the topics' page, and the draft's rev (carried by every button)."""

    counts: Counts
    topic_ids: frozenset[int]
    rev: int
    focus: int = 0
    page: int = 0


def _button(text: str, data: ResultCallback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _time(shift: Shift, zone: ZoneInfo) -> str:
    locale = formatting_locale(zone)
    start = format_time(shift.starts_at.astimezone(zone), format="short", locale=locale)
    end = format_time(shift.ends_at.astimezone(zone), format="short", locale=locale)
    return f"{start}–{end}"


def shift_heading(shift: Shift, zone: ZoneInfo) -> str:
    """ "<b>Infostand Marktplatz</b> (Info stand)\n01.12.2026, 10:00–12:00 · Marktplatz"."""
    action = shift.action_date.action
    when = f"{format_day(shift.action_date.day, zone)}, {_time(shift, zone)}"
    if shift.label:
        when = f"{when} ({esc(shift.label)})"
    title, place = esc(action.title), esc(action.place)
    return f"<b>{title}</b> · {action_kind_label(action.kind, capitalised=False)}\n{when} · {place}"


def field_name(index: int, value: int) -> str:
    """The count's name, in the plural form `value` asks for."""
    name = FIELDS[index]
    if name == "conversations":
        return ngettext("conversation", "conversations", value)
    if name == "leaflets":
        return ngettext("leaflet", "leaflets", value)
    return ngettext("new contact", "new contacts", value)


def count_line(index: int, value: int) -> str:
    """ "💬 12 conversations"."""
    return f"{ICONS[index]} {number(value)} {field_name(index, value)}"


def _counts_lines(counts: Counts) -> list[str]:
    return [count_line(index, counts.get(index)) for index in range(len(FIELDS))]


def _topic_names(topic_ids: Collection[int], topics: Sequence[Topic]) -> str:
    names = [esc(topic.name) for topic in topics if topic.id in topic_ids]
    return ", ".join(names) if names else _("none")


def _existing(logged: Logged | None, topics: Sequence[Topic], zone: ZoneInfo) -> list[str]:
    if logged is None:
        return []
    return [
        _("ℹ️ A result for this shift was already logged on {day}:").format(
            day=format_day(logged.logged_at, zone)
        ),
        " · ".join(_counts_lines(logged.counts)),
        _("Topics: {topics}").format(topics=_topic_names(logged.topic_ids, topics)),
        _("Saving again replaces it."),
        "",
    ]


# --- the prompt --------------------------------------------------------------------------------


def result_prompt(shift: Shift, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    """ "How did the shift go? Log the result": quick choices of conversations (then Save),
    and a button opening the full log."""
    text = "\n".join(
        [
            _("📝 <b>How did the shift go?</b> Log the result."),
            "",
            shift_heading(shift, zone),
            "",
            _(
                "Tap about how many conversations you had, then “Save”. Leaflets, new contacts "
                "and topics go in the full log. Counts only: no names, no addresses."
            ),
        ]
    )
    quick = [
        _button(number(value), ResultCallback(act=ResultAct.QUICK, shift_id=shift.id, value=value))
        for value in QUICK_CONVERSATIONS
    ]
    full = _button(_("✏️ Log the result"), ResultCallback(act=ResultAct.OPEN, shift_id=shift.id))
    return text, InlineKeyboardMarkup(inline_keyboard=[quick, [full]])


def quick_confirm(
    shift: Shift, zone: ZoneInfo, value: int, logged: Logged | None, topics: Sequence[Topic]
) -> tuple[str, InlineKeyboardMarkup]:
    """The quick choice, asking to save it (or to add more in the full log)."""
    lines = [shift_heading(shift, zone), "", *_existing(logged, topics, zone)]
    lines.append(count_line(0, value))
    lines.append(_("Save this as the shift's result?"))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(
                    _("💾 Save"),
                    ResultCallback(act=ResultAct.QUICK_SAVE, shift_id=shift.id, value=value),
                )
            ],
            [
                _button(
                    _("✏️ Add leaflets, contacts, topics"),
                    ResultCallback(act=ResultAct.OPEN, shift_id=shift.id, field=1, value=value),
                )
            ],
        ]
    )
    return "\n".join(lines), keyboard


def open_button(shift_id: int) -> InlineKeyboardButton:
    """A button opening the result log of a shift (for other screens, e.g. "my shifts")."""
    return _button(_("✏️ Log the result"), ResultCallback(act=ResultAct.OPEN, shift_id=shift_id))


# --- the log screen ------------------------------------------------------------------------------


def _step_label(step: int) -> str:
    """ "+10", "−1" (a real minus sign)."""
    return f"+{number(step)}" if step > 0 else f"−{number(-step)}"


def _pages(count: int) -> int:
    return max(1, -(-count // TOPICS_PER_PAGE))


def log_screen(
    shift: Shift,
    zone: ZoneInfo,
    screen: LogScreen,
    topics: Sequence[Topic],
    logged: Logged | None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The draft: each count with quick values and steppers (for the one open), the topics
    as toggles (paged), and "Save"."""
    lines = [_("📝 <b>Result of the shift</b>"), shift_heading(shift, zone), ""]
    lines.extend(_existing(logged, topics, zone))
    lines.extend(_counts_lines(screen.counts))
    if topics:
        lines.append(
            _("Topics people raised: {topics}").format(
                topics=_topic_names(screen.topic_ids, topics)
            )
        )
    lines.append("")
    lines.append(
        _("Tap a count to change it, tap the topics that came up, then “Save”.")
        if topics
        else _("Tap a count to change it, then “Save”.")
    )

    def data(act: ResultAct, **values: int) -> ResultCallback:
        fields = {"field": screen.focus, "page": screen.page, "rev": screen.rev, **values}
        return ResultCallback(act=act, shift_id=shift.id, **fields)

    rows: list[list[InlineKeyboardButton]] = []
    for index in range(len(FIELDS)):
        mark = "▾" if index == screen.focus else "▸"
        label = f"{mark} {count_line(index, screen.counts.get(index))}"
        rows.append([_button(label, data(ResultAct.FOCUS, field=index))])
        if index != screen.focus:
            continue
        current = screen.counts.get(index)
        rows.append(
            [
                _button(
                    f"• {number(value)} •" if value == current else number(value),
                    data(ResultAct.SET, field=index, value=value),
                )
                for value in QUICK_VALUES[index]
            ]
        )
        rows.append(
            [
                # The value the step leads to, so a repeated press sets the same.
                _button(
                    _step_label(step), data(ResultAct.SET, field=index, value=clamp(current + step))
                )
                for step in STEPS
            ]
        )
    pages = _pages(len(topics))
    page = min(max(screen.page, 0), pages - 1)
    shown = topics[page * TOPICS_PER_PAGE : (page + 1) * TOPICS_PER_PAGE]
    rows.extend(
        [
            _button(
                ("✅ " if topic.id in screen.topic_ids else "▫️ ") + topic.name,
                data(
                    ResultAct.TOPIC_OFF if topic.id in screen.topic_ids else ResultAct.TOPIC_ON,
                    value=topic.id,
                ),
            )
            for topic in shown[start : start + 2]
        ]
        for start in range(0, len(shown), 2)
    )
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(_button(_("« Previous"), data(ResultAct.PAGE, page=page - 1)))
        nav.append(
            _button(
                _("Topics {page}/{pages}").format(page=page + 1, pages=pages),
                data(ResultAct.PAGE, page=page),
            )
        )
        if page < pages - 1:
            nav.append(_button(_("Next »"), data(ResultAct.PAGE, page=page + 1)))
        rows.append(nav)
    rows.append([_button(_("💾 Save"), data(ResultAct.SAVE))])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def saved(
    shift: Shift, zone: ZoneInfo, result: Logged, topics: Sequence[Topic]
) -> tuple[str, InlineKeyboardMarkup]:
    """The stored result, with a button to change it."""
    lines = [
        _("✅ <b>Result saved.</b> Thank you!"),
        shift_heading(shift, zone),
        "",
        *_counts_lines(result.counts),
        _("Topics: {topics}").format(topics=_topic_names(result.topic_ids, topics)),
    ]
    change = _button(_("✏️ Change"), ResultCallback(act=ResultAct.OPEN, shift_id=shift.id))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[[change]])


def saved_note() -> str:
    """The press's short answer after saving."""
    return _("Saved. Thank you!")


def refreshed_note() -> str:
    """The press's answer when it came from an older screen (which now shows the current one)."""
    return _("This screen was out of date; here is the current one.")


def error_text(error: ResultError) -> str:
    """A refusal in the member's words."""
    if error.reason == "cancelled":
        return _("This date was called off, so there is no result to log.")
    if error.reason == "not_ended":
        return _("You can log the result once the shift is over.")
    if error.reason == "too_late":
        days = LOG_WINDOW.days
        return ngettext(
            "A result can be logged up to {n} day after the shift; this one is too old.",
            "A result can be logged up to {n} days after the shift; this one is too old.",
            days,
        ).format(n=days)
    if error.reason == "not_yours":
        return _("Only the people on this shift and its planners can log its result.")
    if error.reason == "count":
        return _("Counts go from 0 to {max}.").format(max=number(MAX_COUNT))
    if error.reason == "topic":
        return _("This topic is no longer in the list.")
    return _("This shift no longer exists.")


# --- organisers' summary ------------------------------------------------------------------------


def date_summary(summary: DateSummary, zone: ZoneInfo) -> str:
    """One date's results for its planners: how many shifts logged one, the totals, the topics
    (most mentioned first). Counts only."""
    action_date = summary.action_date
    action = action_date.action
    area = esc(action.place)
    if action.district is not None:
        area = f"{area}, {esc(action.district.name)}"
    lines = [
        _("📊 <b>Results: {title}</b>").format(title=esc(action.title)),
        f"{format_day(action_date.day, zone)} · {area}",
        ngettext(
            "Results logged for {logged} of {n} shift.",
            "Results logged for {logged} of {n} shifts.",
            summary.shifts_total,
        ).format(logged=summary.totals.shifts, n=summary.shifts_total),
    ]
    if summary.totals.shifts:
        totals = Counts(
            summary.totals.conversations, summary.totals.leaflets, summary.totals.contacts
        )
        lines.extend(_counts_lines(totals))
        if summary.topics:
            lines.append(_("Topics raised:"))
            lines.extend(
                ngettext("• {topic}: {n} time", "• {topic}: {n} times", item.mentions).format(
                    topic=esc(item.name), n=item.mentions
                )
                for item in summary.topics
            )
    return "\n".join(lines)
