"""Re-engagement's texts and buttons: the check-in, the answers to its buttons, the pause and
the call consent in /settings, and the organisers' call list (a page at a time)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_skeleton

from bot.services.call_list import CallPage, ToCall
from bot.services.pauses import last_day
from bot.telegram.callbacks import (
    CallConsentAct,
    CallConsentCallback,
    CallListCallback,
    CheckInAct,
    CheckInCallback,
    PauseAct,
    PauseCallback,
)
from bot.telegram.format import esc, format_day, formatting_locale, number
from bot.telegram.labels import action_kind_label, group_type_label
from models import ActionDate, Group, Survey

Keyboard = list[list[InlineKeyboardButton]]


# The check-in and its buttons.


def group_line(group: Group) -> str:
    """A group near the member, for the check-in."""
    where = f" ({esc(group.district.name)})" if group.district is not None else ""
    return _("• {kind} near you: <b>{name}</b>{where}").format(
        kind=group_type_label(group.type), name=esc(group.name), where=where
    )


def action_line(row: ActionDate, zone: ZoneInfo) -> str:
    """The next field action date, for the check-in."""
    return _("• Next action: {kind} <b>{title}</b> on {day}, {place}").format(
        kind=action_kind_label(row.action.kind),
        title=esc(row.action.title),
        day=format_day(row.day, zone),
        place=esc(row.action.place),
    )


def survey_line(survey: Survey, zone: ZoneInfo) -> str:
    """An open survey the member may answer, for the check-in."""
    return _("• Open survey: <b>{title}</b>, until {end}").format(
        title=esc(survey.title), end=format_day(survey.ends_at, zone)
    )


def check_in(
    first_name: str | None,
    lines: Sequence[str],
    *,
    member_id: int,
    quarter: str,
    extra: Sequence[InlineKeyboardButton] = (),
) -> tuple[str, InlineKeyboardMarkup]:
    """The friendly note to a quiet member with what is near them, and three buttons (after
    the buttons `extra` of the lines, one row each)."""
    greeting = (
        _("Hi {name}, it's been a while! 👋").format(name=esc(first_name))
        if first_name
        else _("Hi, it's been a while! 👋")
    )
    parts = [greeting, ""]
    if lines:
        parts += [_("Here's what's going on near you:"), *lines, ""]
    parts.append(
        _("No pressure: if you feel like joining in again, there's a place for you. Tap what fits.")
    )

    def button(text: str, act: CheckInAct) -> InlineKeyboardButton:
        data = CheckInCallback(act=act, member_id=member_id, quarter=quarter)
        return InlineKeyboardButton(text=text, callback_data=data.pack())

    keyboard = [
        *([item] for item in extra),
        [button(_("👀 Show me something"), CheckInAct.SHOW)],
        [
            button(_("⏰ Later"), CheckInAct.LATER),
            button(_("🔕 Fewer messages"), CheckInAct.FEWER),
        ],
    ]
    return "\n".join(parts), InlineKeyboardMarkup(inline_keyboard=keyboard)


def showing() -> str:
    """The toast before the groups and dates near the member."""
    return _("Here you go!")


def later(until: datetime, zone: ZoneInfo) -> str:
    """After "Later": when the next check-in may come, at the earliest."""
    return _(
        "All right! I won't ask again before {day}. If you feel like it sooner, /groups and "
        "/actions show what's on."
    ).format(day=format_day(until, zone))


def fewer() -> str:
    """After "Fewer messages": check-ins are off, and the way back."""
    return _(
        "Done: no more check-ins like this one. Everything else stays as you set it. You can "
        "switch check-ins back on any time in /settings."
    )


def already() -> str:
    """A second tap on a check-in's button."""
    return _("Already noted, thank you!")


def not_yours() -> str:
    """A check-in's button pressed by someone else (forwarded, forged) or gone."""
    return _("This button is no longer valid.")


# /settings: the pause and the call consent.


def settings_section(
    paused_until: datetime | None,
    zone: ZoneInfo,
    *,
    call_consent: tuple[str, datetime] | None,
    consented: bool,
) -> tuple[list[str], Keyboard]:
    """The lines and buttons /settings adds for the pause and (after consent) calls."""
    lines = [""]
    rows: Keyboard = []
    if paused_until is not None:
        lines.append(
            _("⏸ Paused until {day}: no messages from me until then.").format(
                day=format_day(last_day(paused_until, zone), zone)
            )
        )
        rows.append([_pause_button(_("▶️ End the pause"), PauseAct.END)])
    else:
        lines.append(_("⏸ Pause: you can pause all messages from me for a while."))
        rows.append(
            [
                _pause_button(_("2 weeks"), PauseAct.TWO_WEEKS),
                _pause_button(_("1 month"), PauseAct.ONE_MONTH),
                _pause_button(_("3 months"), PauseAct.THREE_MONTHS),
            ]
        )
        rows.append([_pause_button(_("⏸ Pause until a date …"), PauseAct.DATE)])
    if consented:
        lines.append("")
        if call_consent is not None:
            phone, since = call_consent
            lines.append(
                _("📞 Someone from the KV may call you on {phone} (agreed on {day}).").format(
                    phone=esc(phone), day=format_day(since, zone)
                )
            )
            rows.append(
                [
                    _consent_button(
                        _("📵 Nobody should call me (delete my number)"), CallConsentAct.REVOKE
                    )
                ]
            )
        else:
            lines.append(_("📞 May someone from the KV call you? Not so far."))
            rows.append([_consent_button(_("📞 Yes, someone may call me"), CallConsentAct.GIVE)])
    return lines, rows


def _pause_button(text: str, act: PauseAct) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PauseCallback(act=act).pack())


def _consent_button(text: str, act: CallConsentAct) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=CallConsentCallback(act=act).pack())


def paused(until: datetime, zone: ZoneInfo) -> str:
    """The pause is set."""
    return _(
        "⏸ Paused until {day}. Until then I send you nothing: no announcements, reminders or "
        "check-ins. Answers to what you tap yourself still come. You can end the pause in "
        "/settings."
    ).format(day=format_day(last_day(until, zone), zone))


def pause_ended() -> str:
    """The pause was ended (or there was none)."""
    return _("▶️ The pause is over: messages come again as you set them.")


def ask_pause_date() -> str:
    """Asking for the pause's last day."""
    return _(
        "Until when should I pause? Type the last day, like 24.12.2026 (at most a year ahead), "
        "or /cancel."
    )


def pause_date_error(reason: str) -> str:
    """A typed day the pause can't end on."""
    if reason == "past":
        return _("That day is already here or over. Please type a day after today.")
    if reason == "too_far":
        return _("At most a year ahead, please. Type another day, or /cancel.")
    return _("I didn't understand that date. Please type it like 24.12.2026, or /cancel.")


def ask_contact() -> tuple[str, ReplyKeyboardMarkup]:
    """Asking for the member's own number, with Telegram's share-contact button."""
    text = _(
        "If you agree, someone from the KV may call you now and then, for example when we "
        "haven't heard from you for a long time. Only organisers see your number.\n\n"
        "Tap the button below to share your own number. You can withdraw any time in "
        "/settings; the number is then deleted. /cancel stops here."
    )
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📞 Share my number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return text, keyboard


def foreign_contact() -> str:
    """A contact that isn't the member's own, or a message that is no contact."""
    return _(
        "Please share your own number with the button below (not someone else's contact), "
        "or /cancel."
    )


def consent_stored(phone: str) -> str:
    """The number is stored."""
    return _(
        "Thank you! Someone from the KV may call you on {phone}. You can withdraw any time in "
        "/settings."
    ).format(phone=esc(phone))


def consent_revoked() -> str:
    """The consent is withdrawn, the number deleted."""
    return _("Done: your number is deleted and nobody from the KV will call you.")


def needs_consent() -> str:
    """Calls are for members who agreed to the profile."""
    return _("Calls are for those who agreed in /start.")


# The organisers' call list.


def _month(moment: datetime, zone: ZoneInfo) -> str:
    return format_skeleton("yMMMM", moment.astimezone(zone), locale=formatting_locale(zone))


def _entry(position: int, entry: ToCall, zone: ZoneInfo) -> str:
    name = esc(entry.first_name) if entry.first_name else _("ID {id}").format(id=entry.id)
    why = _("no RSVP, shift or answer since {month}; check-in on {day}, no reaction").format(
        month=_month(entry.last_active, zone), day=format_day(entry.checked_in, zone)
    )
    return f"{position}. <b>{name}</b> · 📞 {esc(entry.phone)}\n    {why}"


def call_list(page: CallPage, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the call list: who, their number, and why each is on it."""
    if not page.total:
        return (
            _(
                "📞 Nobody to call right now: no quiet member who agreed to be called left a "
                "check-in unanswered."
            ),
            None,
        )
    lines = [
        ngettext(
            "📞 <b>{count} quiet member</b> agreed to be called and didn't react to a check-in:",
            "📞 <b>{count} quiet members</b> agreed to be called and didn't react to a check-in:",
            page.total,
        ).format(count=number(page.total)),
        "",
    ]
    lines += [
        _entry(position, entry, zone)
        for position, entry in enumerate(page.entries, start=page.first_position)
    ]
    if page.pages > 1:
        lines += ["", _("Page {page} of {pages}").format(page=page.page + 1, pages=page.pages)]
    lines += ["", _("Please handle the numbers with care: they are only for this call.")]
    paging = []
    if page.page > 0:
        data = CallListCallback(page=page.page - 1)
        paging.append(InlineKeyboardButton(text=_("« Back"), callback_data=data.pack()))
    if page.page + 1 < page.pages:
        data = CallListCallback(page=page.page + 1)
        paging.append(InlineKeyboardButton(text=_("More »"), callback_data=data.pack()))
    keyboard = InlineKeyboardMarkup(inline_keyboard=[paging]) if paging else None
    return "\n".join(lines), keyboard


def call_list_gone() -> str:
    """A page past the end: the list got shorter."""
    return _("The list got shorter: this is its last page.")


def refusal() -> str:
    """The call list is for organisers."""
    return _("The call list is for organisers.")
