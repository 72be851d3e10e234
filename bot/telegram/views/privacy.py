"""/datenschutz: what is stored and why, everything stored about a member, and erasing it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel import Locale, UnknownLocaleError

from bot.services.erasure import HeldRoles
from bot.telegram.callbacks import PrivacyAction, PrivacyCallback
from bot.telegram.format import (
    esc,
    format_day,
    formatting_locale,
    join_names,
    meeting_dates,
    part_label,
    split_message,
    value_lines,
)
from bot.telegram.labels import category_label, frequency_label, slot_label
from bot.telegram.views import actions as action_views
from bot.telegram.views import memorials as memorial_views
from bot.telegram.views.message_settings import offset_label
from models import (
    Attendance,
    Category,
    ContactFrequency,
    Group,
    Meeting,
    Member,
    MemorialDate,
    Role,
    RsvpAnswer,
    Shift,
)

FREQUENCIES = {frequency.value: frequency for frequency in ContactFrequency}


def _button(text: str, action: PrivacyAction) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PrivacyCallback(action=action).pack())


def overview(
    kv: str, contact: str | None, *, has_data: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What is stored, why, how long, who sees it; buttons to see and erase it, if there is any."""
    text = _(
        "<b>Privacy</b>\n\n"
        "<b>Always:</b> your Telegram id and language, so I can answer you, and which kinds of "
        "messages you switched off.\n"
        "<b>Only if you agreed:</b> your first name and username, your topics, Stadtteil, "
        "ways to take part, free time, how often you want to hear from us, the groups you "
        "joined, your answers to meetings (with guests) and to the KV's events on Gedenktage, "
        "the shifts you took at info stands and door-to-door rounds and the calls for help you "
        "were sent, your reminder times and, if you made them, your calendar link (only its "
        "fingerprint) and your invitation link. Results of a shift are stored as counts and "
        "topics, never who logged them.\n\n"
        "<b>Why:</b> to suggest groups, dates and shifts, and to tell hosts and whoever plans "
        "an action that you're coming.\n"
        "<b>Who sees it:</b> the organisers of {kv}; hosts see the names of their group's "
        "members, whoever plans an action who is on its shifts, and the people on a shift each "
        "other's first names. Nobody else.\n"
        "<b>How long:</b> until you delete it here."
    ).format(kv=esc(kv))
    if contact:
        text += "\n\n" + _("Questions about privacy: {contact}").format(contact=esc(contact))
    if not has_data:
        return text, None
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Show my data"), PrivacyAction.SHOW)],
            [_button(_("Delete everything"), PrivacyAction.ASK)],
        ]
    )
    return text, keyboard


def _language_name(code: str) -> str:
    """A language code ("de", "en-GB") in words of the current language ("Englisch")."""
    try:
        name = Locale.parse(code, sep="-").get_display_name(formatting_locale())
    except (UnknownLocaleError, ValueError):
        name = None
    return esc(name or code)


def _coming(meetings: Sequence[Meeting], zone: ZoneInfo) -> list[str]:
    """ "Stammtisch Mitte (Do., 4. Dez., 19:00 · Do., 11. Dez., 19:00)", "AG Frieden (…)"."""
    by_group: dict[int, tuple[Group, list[Meeting]]] = {}
    for meeting in meetings:
        by_group.setdefault(meeting.group_id, (meeting.group, []))[1].append(meeting)
    return [
        f"{esc(group.name)} ({meeting_dates((m.starts_at for m in those), zone)})"
        for group, those in by_group.values()
    ]


MAX_SHIFTS_SHOWN = 20


def _field_action_lines(shifts: Sequence[Shift], help_calls: int, zone: ZoneInfo) -> list[str]:
    """The member's shifts (the latest MAX_SHIFTS_SHOWN) and how many calls for help they got."""
    lines: list[str] = []
    # The latest ones; a long history would not fit into one message.
    earlier = max(0, len(shifts) - MAX_SHIFTS_SHOWN)
    shifts = shifts[earlier:]
    if shifts:
        held = "; ".join(
            _("{shift} ({title})").format(
                shift=action_views.format_shift_day(shift, zone),
                title=esc(shift.action_date.action.title),
            )
            for shift in shifts
        )
        if earlier:
            held += " " + ngettext(
                "(and {n} earlier shift)", "(and {n} earlier shifts)", earlier
            ).format(n=earlier)
        lines.append(_("Shifts at info stands and door-to-door rounds: {value}").format(value=held))
    if help_calls:
        lines.append(
            ngettext(
                "You were sent {n} call for help with a shift.",
                "You were sent {n} calls for help with shifts.",
                help_calls,
            ).format(n=help_calls)
        )
    return lines


def _answer_lines(
    answers: Sequence[tuple[Meeting, Attendance]],
    memorial_answers: Sequence[tuple[MemorialDate, RsvpAnswer]],
    zone: ZoneInfo,
) -> list[str]:
    """The member's answers to meetings, by kind, and to the Gedenktage's events."""
    lines: list[str] = []
    coming = [m for m, a in answers if a.answer == RsvpAnswer.YES and not a.waitlisted]
    waiting = [m for m, a in answers if a.answer == RsvpAnswer.YES and a.waitlisted]
    maybe = [m for m, a in answers if a.answer == RsvpAnswer.MAYBE]
    declined = [m for m, a in answers if a.answer == RsvpAnswer.NO]
    if coming:
        lines += value_lines(
            _("Meetings you come to: {value}"), _coming(coming, zone), separator="; "
        )
    if waiting:
        lines += value_lines(
            _("On the waiting list for: {value}"), _coming(waiting, zone), separator="; "
        )
    if maybe:
        lines += value_lines(
            _("Meetings you might come to: {value}"), _coming(maybe, zone), separator="; "
        )
    if declined:
        lines += value_lines(
            _("Meetings you said no to: {value}"), _coming(declined, zone), separator="; "
        )
    lines += memorial_views.answers_lines(memorial_answers, zone)
    return lines


def my_data(
    member: Member,
    *,
    groups: Sequence[Group],
    answers: Sequence[tuple[Meeting, Attendance]],
    switched_off: Collection[Category],
    zone: ZoneInfo,
    calendar_link_since: datetime | None = None,
    invitation_since: datetime | None = None,
    shifts: Sequence[Shift] = (),
    help_calls: int = 0,
    memorial_answers: Sequence[tuple[MemorialDate, RsvpAnswer]] = (),
) -> list[str]:
    """Everything stored about `member`, one line per kind, dates in the member's locale;
    the field action shifts they signed up for (past ones too) and how many calls for help
    they were sent."""
    nothing = _("not given")
    lines = [_("<b>What I store about you</b>")]
    lines.append(_("Telegram ID: {value}").format(value=member.id))
    language = member.language or member.telegram_language
    lines.append(
        _("Language: {value}").format(value=_language_name(language) if language else nothing)
    )
    if member.first_name:
        lines.append(_("First name: {value}").format(value=esc(member.first_name)))
    if member.username:
        lines.append(_("Username: @{value}").format(value=esc(member.username)))
    profile = member.profile
    if profile is not None:
        topics = ", ".join(esc(topic.name) for topic in profile.topics) or nothing
        lines.append(_("Topics: {value}").format(value=topics))
        district = esc(profile.district.name) if profile.district else nothing
        lines.append(_("Stadtteil: {value}").format(value=district))
        kinds = ", ".join(esc(kind.name) for kind in profile.activity_types) or nothing
        lines.append(_("Ways to take part: {value}").format(value=kinds))
        slots = ", ".join(slot_label(slot) for slot in profile.free_time) or nothing
        lines.append(_("When you have time: {value}").format(value=slots))
        frequency = FREQUENCIES.get(profile.contact_frequency or "")
        lines.append(
            _("How often you want to hear from us: {value}").format(
                value=frequency_label(frequency) if frequency else nothing
            )
        )
        lines.append(_("Agreed on: {value}").format(value=format_day(profile.consent_at, zone)))
    if groups:
        lines += value_lines(_("Groups: {value}"), [esc(group.name) for group in groups])
    lines += _answer_lines(answers, memorial_answers, zone)
    lines += _field_action_lines(shifts, help_calls, zone)
    if profile is not None and profile.reminder_offsets:
        offsets = join_names(
            offset_label(minutes) for minutes in sorted(profile.reminder_offsets, reverse=True)
        )
        lines.append(_("Meeting reminders: {value} before").format(value=offsets))
    elif profile is not None:
        lines.append(_("Meeting reminders: off"))
    if calendar_link_since is not None:
        lines.append(
            _("Calendar link: made on {value}").format(value=format_day(calendar_link_since, zone))
        )
    if invitation_since is not None:
        lines.append(
            _("Invitation link: made on {value}").format(value=format_day(invitation_since, zone))
        )
    if switched_off:
        names = ", ".join(category_label(category) for category in sorted(switched_off))
        lines.append(_("Messages you switched off: {value}").format(value=names))
    # Everything is shown: a long history goes on in further messages.
    title = lines.pop(0)
    parts = split_message(lambda part, parts: title + part_label(part, parts), lines)
    return [text for text, _run in parts]


def confirm_erase(held: HeldRoles | None = None) -> tuple[str, InlineKeyboardMarkup]:
    """The question before erasing, with yes and no; a role holder is asked to hand over
    first, and "delete anyway" drops the roles too."""
    if held is not None and held.any:
        return _handover_first(held)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("Yes, delete everything"), PrivacyAction.ERASE),
                _button(_("Keep it"), PrivacyAction.KEEP),
            ]
        ]
    )
    text = _(
        "Really delete everything I know about you? Your groups are left as well, and if you "
        "write to me again, we start afresh."
    )
    return text, keyboard


def _handover_first(held: HeldRoles) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("<b>Before you delete everything:</b> others rely on you.")]
    if held.hosted_groups:
        lines.append(
            _(
                "• You host {groups}. Please hand it over first: /my_groups, the group, "
                '"Hand over the group".'
            ).format(groups=esc(join_names(held.hosted_groups)))
        )
    roles = sorted(role for role in held.roles if role in _ROLE_LABELS)
    if roles:
        text = _("• You are {roles} in the bot. An admin can give that to someone else (/role).")
        lines.append(text.format(roles=join_names([_ROLE_LABELS[role]() for role in roles])))
    if held.action_planner:
        lines.append(_("• You may plan field actions; an organiser can let someone else do that."))
    if held.action_contact:
        lines.append(
            _("• You are the contact for {actions}; an organiser can name someone else.").format(
                actions=esc(join_names(held.action_contact))
            )
        )
    if held.configured_admin:
        lines.append(
            _(
                "• You are an admin in the bot's configuration (ADMIN_IDS). The bot can't change "
                "that: ask whoever runs it. Until then I keep your name whenever you write to me."
            )
        )
    lines.append(
        _(
            "If you delete anyway, your roles go too, and the organisers are told which groups "
            "have no host any more."
        )
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("Delete anyway"), PrivacyAction.ERASE_ALL),
                _button(_("Keep it"), PrivacyAction.KEEP),
            ]
        ]
    )
    return "\n".join(lines), keyboard


_ROLE_LABELS = {
    Role.HOST: lambda: _("host"),
    Role.ORGANISER: lambda: _("organiser"),
    Role.ADMIN: lambda: _("admin"),
}


def kept() -> str:
    """The answer to "keep it"."""
    return _("Nothing was deleted.")


def erased(anything: bool) -> str:
    """The answer after erasing."""
    if anything:
        return _(
            "Done. I deleted everything I knew about you. If you write to me again, we start "
            "afresh."
        )
    return _("There was nothing to delete.")


def host_lost(group: Group) -> tuple[str, None]:
    """To organisers: a group's host erased their data, the group has no host now."""
    text = _(
        "<b>{group}</b> has no host any more: its host deleted their data in the bot. Please "
        "name a new host in the KV setup."
    ).format(group=esc(group.name))
    return text, None
