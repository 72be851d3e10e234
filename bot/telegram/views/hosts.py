"""The host's panel (/meine_gruppen): groups, their next meetings, who comes, and managing them.

Every screen renders in the current i18n locale; names and anything a host typed are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_skeleton

from bot.services.hosting import GroupMeeting, HostError
from bot.services.recurrence import format_moment_example, format_period_example
from bot.services.rsvp import Attendee, Counts
from bot.telegram.callbacks import HostAction, HostCallback
from bot.telegram.format import (
    TEXT_LIMIT,
    esc,
    format_day,
    format_meeting,
    formatting_locale,
    number,
    pack,
    visible_length,
)
from bot.telegram.views.meeting_card import MAYBE, NO, WAITING, YES, cancelled_line, counts_line
from models import Group, GroupPause, HostNotice, Meeting, Member, RsvpAnswer
from models.meeting import NOTE_LENGTH

# The days offered as buttons for a new meeting, and the times offered for a day.
PICK_DAYS = 14
COMMON_TIMES = (time(18, 0), time(18, 30), time(19, 0), time(19, 30), time(20, 0))
GROUPS_PER_PAGE = 20
# Room for the answer labels and the first-time note beside the names on a page.
ATTENDEE_LABELS = 150
NOTICES = tuple(HostNotice)
FIRST_TIME = "🆕"


def host_button(
    text: str, action: HostAction, *, group_id: int = 0, meeting_id: int = 0, value: int = 0
) -> InlineKeyboardButton:
    """A button of the host's panel."""
    data = HostCallback(action=action, group_id=group_id, meeting_id=meeting_id, value=value)
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(row) for row in rows if row])


# --- refusals and errors --------------------------------------------------------------------


def not_host() -> str:
    """Someone pressed or typed what only a group's hosts and the organisers may do."""
    return _("Sorry, only this group's hosts and the organisers can do that.")


def no_groups() -> str:
    """/meine_gruppen from someone who hosts no group."""
    return _(
        "You don't host any group yet. If you'd like to host one, ask the organisers "
        "(or propose a Stammtisch in /groups)."
    )


def error_text(error: HostError) -> str:
    """Why a host action was refused."""
    texts = {
        "not_host": not_host,
        "not_organiser": lambda: _("Only organisers can confirm a handover."),
        "unknown_member": lambda: _(
            "I don't know anyone by that name who has signed up with me. "
            "They need to open the chat with me and agree in /start first."
        ),
        "not_own_host": lambda: _("Only the group's own host can hand it over."),
        "self": lambda: _("You are already this group's host."),
        "already_host": lambda: _("They already host this group."),
        "handover_done": lambda: _("This handover has already been decided."),
        "past": lambda: _("That time has already passed. Send a time in the future."),
        "started": lambda: _("This meeting has already started."),
        "cancelled": lambda: _("This meeting was cancelled."),
        "exists": lambda: _("The group already meets at that time."),
        "too_far": lambda: _("That is too far ahead."),
        "capacity": lambda: _("Send a number from 1 to 1000, or “none” for no limit."),
        "too_long": lambda: _("That is too long."),
        "period": lambda: _("That period is already over."),
        "no_series": lambda: _("This group has no series of meetings (any more)."),
    }
    text = texts.get(error.reason)
    if text is not None:
        return text()
    return _("This group or meeting is no longer there. /my_groups shows the current ones.")


# --- the panel ------------------------------------------------------------------------------


def notice_label(notice: HostNotice) -> str:
    """How a host hears of answers, in words."""
    return {
        HostNotice.EACH: _("each answer as it comes"),
        HostNotice.DAILY: _("a daily summary"),
        HostNotice.DAY_BEFORE: _("only the list the day before"),
    }[notice]


def groups_screen(
    groups: Sequence[Group], notice: HostNotice, *, page: int = 0, all_groups: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    """/meine_gruppen: the groups to manage, and how the host hears of answers."""
    start = max(page, 0) * GROUPS_PER_PAGE
    shown = groups[start : start + GROUPS_PER_PAGE]
    title = _("<b>All groups</b>") if all_groups else _("<b>Your groups</b>")
    lines = [title, _("Tap a group to see its next meetings and who is coming.")]
    lines += ["", _("You hear of answers: {how}.").format(how=notice_label(notice))]
    rows = [
        [host_button(group.name, HostAction.GROUP, group_id=group.id, value=page)]
        for group in shown
    ]
    paging = []
    if start > 0:
        paging.append(host_button("«", HostAction.GROUPS, value=page - 1))
    if start + GROUPS_PER_PAGE < len(groups):
        paging.append(host_button("»", HostAction.GROUPS, value=page + 1))
    rows.append(paging)
    rows.append([host_button(_("🔔 How I tell you about answers"), HostAction.NOTICE)])
    return "\n".join(lines), _keyboard(rows)


def _short_counts(counts: Counts) -> str:
    text = f"{YES} {counts.yes + counts.guests} {MAYBE} {counts.maybe}"
    if counts.waiting:
        text += f" {WAITING} {counts.waiting}"
    return text


def _period(pause: GroupPause, zone: ZoneInfo) -> str:
    span = f"{format_day(pause.starts_on, zone)} – {format_day(pause.ends_on, zone)}"
    return f"{esc(pause.label)}: {span}" if pause.label else span


def group_screen(
    group: Group,
    meetings: Sequence[GroupMeeting],
    pauses: Sequence[GroupPause],
    zone: ZoneInfo,
    *,
    can_hand_over: bool,
) -> tuple[str, InlineKeyboardMarkup]:
    """One group: its rule, pauses and next meetings (each opening who comes), and actions."""
    lines = [f"<b>{esc(group.name)}</b>"]
    if group.rule and group.series_ends_on is None:
        lines.append(_("Meets: {rule}").format(rule=esc(group.rule)))
    elif group.series_ends_on is not None:
        lines.append(
            _("The series ended on {day}.").format(day=format_day(group.series_ends_on, zone))
        )
    if group.place:
        lines.append(f"📍 {esc(group.place)}")
    lines += [_("⏸ Break: {period}").format(period=_period(pause, zone)) for pause in pauses]
    lines.append("")
    rows: list[list[InlineKeyboardButton]] = []
    if meetings:
        lines.append(_("Tap a date to see who is coming and to change it."))
    else:
        lines.append(_("No meetings planned. Add one below."))
    for item in meetings:
        meeting = item.meeting
        when = format_meeting(meeting.starts_at, zone)
        label = f"{NO} {when}" if meeting.cancelled else f"{when} · {_short_counts(item.counts)}"
        rows.append([host_button(label, HostAction.MEETING, meeting_id=meeting.id)])
    rows.append([host_button(_("➕ Add a date"), HostAction.ADD, group_id=group.id)])
    if group.rrule and group.series_ends_on is None:
        rows.append(
            [
                host_button(_("⏸ Pause the series"), HostAction.PAUSE, group_id=group.id),
                host_button(_("⏹ End the series"), HostAction.END, group_id=group.id),
            ]
        )
    if can_hand_over:
        rows.append(
            [host_button(_("🤝 Hand over the group"), HostAction.HANDOVER, group_id=group.id)]
        )
    rows.append([host_button(_("« Your groups"), HostAction.GROUPS)])
    return "\n".join(lines), _keyboard(rows)


def _attendee_name(attendee: Attendee) -> str:
    name = esc(attendee.first_name)
    if attendee.guests:
        name += f" (+{attendee.guests})"
    # New faces matter to whoever welcomes them; not among those who aren't coming.
    if attendee.first_time and attendee.answer != RsvpAnswer.NO:
        name += f" {FIRST_TIME}"
    return name


_ANSWER_ORDER = ("yes", "waiting", "maybe", "no")


def _answer_key(attendee: Attendee) -> str:
    if attendee.answer == RsvpAnswer.YES:
        return "waiting" if attendee.waitlisted else "yes"
    return attendee.answer.value


def attendee_lines(attendees: Sequence[Attendee]) -> list[str]:
    """Who comes, waits, maybe comes and doesn't, one line each that has anyone."""
    groups: dict[str, list[str]] = {}
    for attendee in attendees:
        groups.setdefault(_answer_key(attendee), []).append(_attendee_name(attendee))
    labels = {
        "yes": f"{YES} " + _("Coming:"),
        "waiting": f"{WAITING} " + _("Waiting list:"),
        "maybe": f"{MAYBE} " + _("Maybe:"),
        "no": f"{NO} " + _("Not coming:"),
    }
    lines = [f"{labels[key]} {', '.join(groups[key])}" for key in labels if key in groups]
    if any(attendee.first_time for attendee in attendees if attendee.answer != RsvpAnswer.NO):
        lines.append(_("{icon} = first time at this group").format(icon=FIRST_TIME))
    return lines


def _attendee_pages(attendees: Sequence[Attendee], budget: int) -> list[list[Attendee]]:
    """The attendees in the order the lines show them, in pages whose lines fit `budget`."""
    ordered = sorted(attendees, key=lambda attendee: _ANSWER_ORDER.index(_answer_key(attendee)))
    # Each name costs its length and ", "; the labels and the first-time note are set aside.
    lengths = [visible_length(_attendee_name(attendee)) + 2 for attendee in ordered]
    runs = pack(lengths, budget=budget - ATTENDEE_LABELS, separator=0)
    return [[ordered[index] for index in run] for run in runs] or [[]]


def _meeting_head(meeting: Meeting, counts: Counts, zone: ZoneInfo) -> list[str]:
    lines = [f"🗓 {format_meeting(meeting.starts_at, zone)}"]
    if meeting.where:
        lines.append(f"📍 {esc(meeting.where)}")
    if meeting.note:
        lines.append(f"📝 {esc(meeting.note)}")
    if meeting.capacity is not None:
        lines.append(_("👥 Places: {n}").format(n=number(meeting.capacity)))
    return [*lines, counts_line(counts), ""]


def _pages_under(
    meeting: Meeting, head: list[str], attendees: Sequence[Attendee]
) -> list[list[Attendee]]:
    # The group's name and the pager's "page 2/3" come on top of the head.
    used = visible_length("\n".join(head)) + visible_length(meeting.group.name) + 20
    return _attendee_pages(attendees, TEXT_LIMIT - used)


def meeting_pages(
    meeting: Meeting,
    counts: Counts,
    attendees: Sequence[Attendee],
    zone: ZoneInfo,
    *,
    can_post: bool,
    now: datetime,
) -> list[tuple[str, InlineKeyboardMarkup]]:
    """Every page of the meeting screen, as « and » go through them."""
    pages = len(_pages_under(meeting, _meeting_head(meeting, counts, zone), attendees))
    return [
        meeting_screen(meeting, counts, attendees, zone, can_post=can_post, now=now, page=page)
        for page in range(pages)
    ]


def meeting_screen(
    meeting: Meeting,
    counts: Counts,
    attendees: Sequence[Attendee],
    zone: ZoneInfo,
    *,
    can_post: bool,
    now: datetime,
    page: int = 0,
) -> tuple[str, InlineKeyboardMarkup]:
    """One meeting as its host sees it: when, where, who comes, and what can be changed.

    A long list of answers goes over pages (`page`, « and »), each within Telegram's limit.
    """
    lines = [f"<b>{esc(meeting.group.name)}</b>"]
    back = [host_button(_("« Back to the group"), HostAction.GROUP, group_id=meeting.group_id)]
    if meeting.cancelled:
        lines.append(cancelled_line(meeting, zone))
        return "\n".join(lines), _keyboard([back])
    head = _meeting_head(meeting, counts, zone)
    lines += head
    pages = _pages_under(meeting, head, attendees)
    page = min(max(page, 0), len(pages) - 1)
    lines += attendee_lines(pages[page]) or [_("Nobody has answered yet.")]
    mid = meeting.id
    pager = []
    if page > 0:
        pager.append(host_button("«", HostAction.MEETING, meeting_id=mid, value=page - 1))
    if len(pages) > 1:
        pager.append(
            host_button(f"{page + 1}/{len(pages)}", HostAction.MEETING, meeting_id=mid, value=page)
        )
    if page + 1 < len(pages):
        pager.append(host_button("»", HostAction.MEETING, meeting_id=mid, value=page + 1))
    if meeting.starts_at <= now:
        return "\n".join(lines), _keyboard([pager, back])
    rows = [
        pager,
        [
            host_button(_("👥 Places"), HostAction.CAPACITY, meeting_id=mid),
            host_button(_("📝 Note"), HostAction.NOTE, meeting_id=mid),
        ],
        [
            host_button(_("🕒 Move"), HostAction.MOVE, meeting_id=mid),
            host_button(_("❌ Cancel this date"), HostAction.CANCEL, meeting_id=mid),
        ],
        [host_button(_("✉️ Write to everyone coming"), HostAction.MESSAGE, meeting_id=mid)],
    ]
    if can_post:
        rows.append(
            [host_button(_("📣 Post in the group chat"), HostAction.POST, meeting_id=mid, value=0)]
        )
    rows.append(back)
    return "\n".join(lines), _keyboard(rows)


# --- a new meeting --------------------------------------------------------------------------


def _day_label(day: date, zone: ZoneInfo) -> str:
    return format_skeleton("MMMEd", datetime.combine(day, time(12)), locale=formatting_locale(zone))


def day_picker(group: Group, today: date, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    """The next two weeks as buttons, and typing a date instead."""
    text = _("<b>{group}</b>: on which day? Or type the date and time.").format(
        group=esc(group.name)
    )
    days = [today + timedelta(days=offset) for offset in range(PICK_DAYS)]
    buttons = [
        host_button(
            _day_label(day, zone), HostAction.ADD_DAY, group_id=group.id, value=day.toordinal()
        )
        for day in days
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([host_button(_("⌨️ Type date and time"), HostAction.ADD_TYPED, group_id=group.id)])
    rows.append([host_button(_("« Back to the group"), HostAction.GROUP, group_id=group.id)])
    return text, _keyboard(rows)


def time_value(day: date, clock: time) -> int:
    """What a time button carries: the day's ordinal and the minutes after midnight."""
    return day.toordinal() * 1440 + clock.hour * 60 + clock.minute


def from_time_value(value: int) -> tuple[date, time]:
    """The day and time a time button carries; ValueError for a forged one."""
    ordinal, minutes = divmod(value, 1440)
    return date.fromordinal(ordinal), time(minutes // 60, minutes % 60)


def time_picker(group: Group, day: date, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    """The common evening times for `day`, and typing another."""
    text = _("<b>{group}</b> on {day}: at what time? Or type it, e.g. 18:45.").format(
        group=esc(group.name), day=_day_label(day, zone)
    )
    buttons = [
        host_button(
            f"{clock:%H:%M}", HostAction.ADD_TIME, group_id=group.id, value=time_value(day, clock)
        )
        for clock in COMMON_TIMES
    ]
    rows = [
        buttons,
        [
            host_button(
                _("⌨️ Type the time"), HostAction.ADD_TYPED, group_id=group.id, value=day.toordinal()
            )
        ],
        [host_button(_("« Other day"), HostAction.ADD, group_id=group.id)],
    ]
    return text, _keyboard(rows)


def cancel_hint() -> str:
    """How to stop typing."""
    return _("/cancel stops.")


def ask_moment(group: Group) -> str:
    """Type the date and time of a new meeting."""
    return _(
        "When shall <b>{group}</b> meet? Send the date and time, e.g. {examples}. {cancel}"
    ).format(group=esc(group.name), examples=esc(format_moment_example()), cancel=cancel_hint())


def ask_time(day: date, zone: ZoneInfo) -> str:
    """Type the time on a picked day."""
    return _("At what time on {day}? Send e.g. 18:45. {cancel}").format(
        day=_day_label(day, zone), cancel=cancel_hint()
    )


def moment_error(message: str) -> str:
    """A typed date or time that can't be meant (the parser's words), and to try again."""
    return _("{problem}. Try again, or /cancel.").format(problem=esc(message.rstrip(".")))


def added(meeting: Meeting, zone: ZoneInfo) -> str:
    """A new meeting is in."""
    return _("Added: {group} on {when}.").format(
        group=esc(meeting.group.name), when=format_meeting(meeting.starts_at, zone)
    )


# --- changing one meeting -------------------------------------------------------------------


def ask_capacity(meeting: Meeting, zone: ZoneInfo) -> str:
    """Type the number of places."""
    return _(
        "How many places for {when}? Guests count too. Send a number, or “none” for no "
        "limit. {cancel}"
    ).format(when=format_meeting(meeting.starts_at, zone), cancel=cancel_hint())


def capacity_set(capacity: int | None, promoted: int) -> str:
    """The places are set; maybe people moved up from the waiting list."""
    text = (
        _("No limit on places any more.")
        if capacity is None
        else ngettext("Set: {n} place.", "Set: {n} places.", capacity).format(n=number(capacity))
    )
    if promoted:
        text += " " + ngettext(
            "{n} person moved up from the waiting list and is told.",
            "{n} people moved up from the waiting list and are told.",
            promoted,
        ).format(n=number(promoted))
    return text


def ask_note(meeting: Meeting, zone: ZoneInfo) -> str:
    """Type the note."""
    return _(
        "Send the note for {when} (at most 500 characters), e.g. the agenda. Send “-” to "
        "remove it. {cancel}"
    ).format(when=format_meeting(meeting.starts_at, zone), cancel=cancel_hint())


def note_set(note: str | None) -> str:
    """The note is stored (or removed)."""
    return _("Note saved.") if note else _("Note removed.")


def ask_move(meeting: Meeting, zone: ZoneInfo) -> str:
    """Type the new time."""
    return _(
        "When does {when} take place instead? Send the new date and time, e.g. {examples}. "
        "Everyone who said yes or maybe is told. {cancel}"
    ).format(
        when=format_meeting(meeting.starts_at, zone),
        examples=esc(format_moment_example()),
        cancel=cancel_hint(),
    )


def _told(told: int) -> str:
    return ngettext(
        "{n} person who said yes or maybe is told.",
        "{n} people who said yes or maybe are told.",
        told,
    ).format(n=number(told))


def moved(meeting: Meeting, zone: ZoneInfo, told: int) -> str:
    """The meeting moved."""
    return (
        _("Moved to {when}.").format(when=format_meeting(meeting.starts_at, zone))
        + " "
        + _told(told)
    )


def cancel_question(
    meeting: Meeting, zone: ZoneInfo, told: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Cancel this date? Yes or no."""
    text = _("Cancel {group} on {when}?").format(
        group=esc(meeting.group.name), when=format_meeting(meeting.starts_at, zone)
    )
    text += " " + _told(told)
    keyboard = _keyboard(
        [
            [
                host_button(_("Yes, cancel it"), HostAction.CANCEL_OK, meeting_id=meeting.id),
                host_button(_("No, keep it"), HostAction.MEETING, meeting_id=meeting.id),
            ]
        ]
    )
    return text, keyboard


def cancelled_date(meeting: Meeting, zone: ZoneInfo, told: int) -> str:
    """The date is cancelled."""
    return (
        _("Cancelled: {when}.").format(when=format_meeting(meeting.starts_at, zone))
        + " "
        + _told(told)
    )


# --- the series -----------------------------------------------------------------------------


def ask_period(group: Group) -> str:
    """Type the period of a pause."""
    return _(
        "From when to when does <b>{group}</b> pause? Send the period, e.g. {examples}. "
        "Its meetings then are cancelled and everyone who said yes or maybe is told. {cancel}"
    ).format(group=esc(group.name), examples=esc(format_period_example()), cancel=cancel_hint())


def ask_label(
    group: Group, start: date, end: date, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """Name the pause (e.g. “Sommerpause”) or not."""
    text = _("A break from {start} to {end}. What shall I call it, e.g. “Summer break”?").format(
        start=format_day(start, zone), end=format_day(end, zone)
    )
    keyboard = _keyboard(
        [[host_button(_("No name"), HostAction.PAUSE_NO_LABEL, group_id=group.id)]]
    )
    return text, keyboard


def label_too_long() -> str:
    """The pause's name is too long."""
    return _("At most 100 characters, please. Try again, or /cancel.")


def paused(start: date, end: date, zone: ZoneInfo, cancelled: int) -> str:
    """The series pauses."""
    text = _("The series pauses from {start} to {end}.").format(
        start=format_day(start, zone), end=format_day(end, zone)
    )
    if cancelled:
        text += " " + ngettext(
            "{n} meeting is cancelled; whoever said yes or maybe is told.",
            "{n} meetings are cancelled; whoever said yes or maybe is told.",
            cancelled,
        ).format(n=number(cancelled))
    return text


def end_question(group: Group) -> tuple[str, InlineKeyboardMarkup]:
    """End the series? Yes or no."""
    text = _(
        "End the series of <b>{group}</b>? All its future dates are cancelled and everyone "
        "who said yes or maybe is told. Dates you added yourself stay."
    ).format(group=esc(group.name))
    keyboard = _keyboard(
        [
            [
                host_button(_("Yes, end it"), HostAction.END_OK, group_id=group.id),
                host_button(_("No, keep it"), HostAction.GROUP, group_id=group.id),
            ]
        ]
    )
    return text, keyboard


def ended(cancelled: int) -> str:
    """The series ended."""
    return _("The series has ended.") + (
        " "
        + ngettext(
            "{n} meeting is cancelled; whoever said yes or maybe is told.",
            "{n} meetings are cancelled; whoever said yes or maybe is told.",
            cancelled,
        ).format(n=number(cancelled))
        if cancelled
        else ""
    )


# --- how the host hears of answers ----------------------------------------------------------


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def notice_screen(current: HostNotice) -> tuple[str, InlineKeyboardMarkup]:
    """The three ways to hear of answers, the current one marked."""
    text = _("<b>How shall I tell you about answers to your meetings?</b>\nNow: {how}.").format(
        how=notice_label(current)
    )
    rows = [
        [
            host_button(
                ("✓ " if notice == current else "") + _sentence(notice_label(notice)),
                HostAction.NOTICE_SET,
                value=index,
            )
        ]
        for index, notice in enumerate(NOTICES)
    ]
    rows.append([host_button(_("« Your groups"), HostAction.GROUPS)])
    return text, _keyboard(rows)


def notice_saved() -> str:
    """The choice is stored."""
    return _("Saved.")


# --- writing to everyone coming -------------------------------------------------------------


def ask_message(meeting: Meeting, zone: ZoneInfo, recipients: int) -> str:
    """Send the message for everyone who said yes or maybe."""
    return ngettext(
        "Send me the message for the {n} person who said yes or maybe to {when} (text, photo "
        "or document). I'll ask before sending. {cancel}",
        "Send me the message for the {n} people who said yes or maybe to {when} (text, photo "
        "or document). I'll ask before sending. {cancel}",
        recipients,
    ).format(
        n=number(recipients), when=format_meeting(meeting.starts_at, zone), cancel=cancel_hint()
    )


def nobody_to_write() -> str:
    """Nobody said yes or maybe (or nobody can be reached)."""
    return _("Nobody has said yes or maybe yet, so there is no one to write to.")


def message_confirm(
    meeting: Meeting, zone: ZoneInfo, recipients: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Send it now? With the number of recipients."""
    text = ngettext(
        "Send your message to {n} person coming to {when}?",
        "Send your message to {n} people coming to {when}?",
        recipients,
    ).format(n=number(recipients), when=format_meeting(meeting.starts_at, zone))
    keyboard = _keyboard(
        [
            [
                host_button(_("Send"), HostAction.MESSAGE_SEND, meeting_id=meeting.id),
                host_button(_("Don't send"), HostAction.MEETING, meeting_id=meeting.id),
            ]
        ]
    )
    return text, keyboard


def unsupported_message() -> str:
    """A sticker or a poll instead of the message."""
    return _(
        "I can pass on text, photos, documents, videos and voice messages. Try again, or /cancel."
    )


def message_closed() -> str:
    """A send button of a message that was sent or dropped meanwhile."""
    return _("This message was sent or dropped already.")


# --- handing over ---------------------------------------------------------------------------


# Members offered as buttons (a keyboard holds 100); anyone else is named by @username.
MAX_CANDIDATES = 40


def ask_new_host(group: Group, candidates: Sequence[Member]) -> tuple[str, InlineKeyboardMarkup]:
    """Who takes over: type an @username, or pick one of the group's members."""
    text = _(
        "Who shall host <b>{group}</b> from now on? Send their @username, or pick one of the "
        "group's members. An organiser confirms the handover. {cancel}"
    ).format(group=esc(group.name), cancel=cancel_hint())
    buttons = [
        host_button(
            member.first_name or str(member.id),
            HostAction.HANDOVER_PICK,
            group_id=group.id,
            value=member.id,
        )
        for member in candidates[:MAX_CANDIDATES]
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([host_button(_("« Back to the group"), HostAction.GROUP, group_id=group.id)])
    return text, _keyboard(rows)


def _name(member: Member | None) -> str:
    if member is None:
        return "?"
    name = esc(member.first_name or str(member.id))
    return f"{name} (@{esc(member.username)})" if member.username else name


def handover_requested(group: Group, new: Member) -> str:
    """The host's request went to the organisers."""
    return _(
        "I asked the organisers to make {name} host of <b>{group}</b>. I'll tell you when "
        "they have decided."
    ).format(name=_name(new), group=esc(group.name))


def handover_question(
    handover_id: int, group: Group, old: Member, new: Member
) -> tuple[str, InlineKeyboardMarkup]:
    """To the organisers: confirm the handover?"""
    text = _(
        "<b>Handover:</b> {old} would like to hand <b>{group}</b> over to {new}. Confirm?"
    ).format(old=_name(old), group=esc(group.name), new=_name(new))
    keyboard = _keyboard(
        [
            [
                host_button(_("Confirm"), HostAction.HANDOVER_YES, value=handover_id),
                host_button(_("Decline"), HostAction.HANDOVER_NO, value=handover_id),
            ]
        ]
    )
    return text, keyboard


def no_organisers() -> str:
    """Nobody to confirm a handover."""
    return _("There is no organiser I could ask to confirm. Please contact the office.")


def handover_decided(group: Group, new: Member, *, approved: bool) -> str:
    """The organiser's screen after deciding."""
    if approved:
        return _("Done: {name} now hosts <b>{group}</b>.").format(
            name=_name(new), group=esc(group.name)
        )
    return _("Declined: {name} does not take over <b>{group}</b>.").format(
        name=_name(new), group=esc(group.name)
    )


def handover_news_new(group: Group) -> tuple[str, None]:
    """To the new host."""
    return (
        _(
            "You are now host of <b>{group}</b>. /my_groups shows its meetings and who is coming."
        ).format(group=esc(group.name)),
        None,
    )


def handover_news_old(group: Group, new: Member, *, approved: bool) -> tuple[str, None]:
    """To the host who asked."""
    if approved:
        text = _("Handed over: {name} now hosts <b>{group}</b>. Thank you!").format(
            name=_name(new), group=esc(group.name)
        )
    else:
        text = _("The organisers declined handing <b>{group}</b> over to {name}.").format(
            name=_name(new), group=esc(group.name)
        )
    return text, None


def note_too_long(length: int) -> str:
    """The note typed is longer than a note may be."""
    return ngettext(
        "That is {n} character too many; a note has at most 500. Try a shorter one, or /cancel.",
        "That is {n} characters too many; a note has at most 500. Try a shorter one, or /cancel.",
        length - NOTE_LENGTH,
    ).format(n=number(length - NOTE_LENGTH))


def step_closed() -> str:
    """A button of a step that ended meanwhile."""
    return _("This step is over. /my_groups starts again.")
