"""/datenschutz: what is stored and why, everything stored about a member, and erasing it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel import Locale, UnknownLocaleError
from babel.dates import format_time

from bot.services.data_export import CheckInSent, MeetingAnswer, MemberData
from bot.services.erasure import HeldRoles
from bot.telegram.callbacks import PrivacyAction, PrivacyCallback
from bot.telegram.format import (
    TEXT_LIMIT,
    esc,
    format_day,
    formatting_locale,
    join_names,
    part_label,
    split_message,
)
from bot.telegram.labels import category_label, frequency_label, role_label, slot_label
from bot.telegram.views.audit import action_label
from bot.telegram.views.hosts import notice_label
from bot.telegram.views.message_settings import offset_label
from models import Category, ContactFrequency, Group, HostNotice, Role

FREQUENCIES = {frequency.value: frequency for frequency in ContactFrequency}


def _button(text: str, action: PrivacyAction) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PrivacyCallback(action=action).pack())


def _or_keep(yes: str, action: PrivacyAction) -> InlineKeyboardMarkup:
    """A question's two buttons: `yes` doing `action`, and "Keep it"."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(yes, action), _button(_("Keep it"), PrivacyAction.KEEP)]]
    )


def overview(
    kv: str,
    contact: str | None,
    *,
    has_data: bool,
    consented: bool,
    delivery_days: int,
    member_months: int,
) -> tuple[list[str], InlineKeyboardMarkup | None]:
    """What is stored, why, how long, who sees it, on what legal basis, whom to ask; buttons to
    see, download and erase it, if there is any. Several messages if it doesn't fit in one."""
    paragraphs = [
        _(
            "<b>Always:</b> your Telegram id and language, so I can answer you, which kinds of "
            "messages you switched off, and when you agreed to or withdrew your consent."
        ),
        _(
            "<b>Only if you agreed:</b> your first name and username, your topics, Stadtteil, "
            "ways to take part, free time, how often you want to hear from us, the groups you "
            "joined, your answers to meetings (with guests) and to the KV's events on "
            "Gedenktage, the shifts you took at info stands and door-to-door rounds and the "
            "calls for help you were sent, your reminder times and, if you made them, your "
            "calendar link (only its fingerprint) and your invitation link. Results of a shift "
            "are stored as counts and topics, never who logged them."
        ),
        _(
            "<b>Why:</b> to suggest groups, dates and shifts, to remind you of them, and to "
            "tell hosts and whoever plans an action that you're coming. Nothing is used for "
            "anything else or handed on."
        ),
        _(
            "<b>Who sees it:</b> the organisers of {kv}; hosts see the names of their group's "
            "members, whoever plans an action who is on its shifts, and the people on a shift "
            "each other's first names. Nobody else; Telegram carries our messages, as it "
            "does all your chats."
        ).format(kv=esc(kv)),
        _(
            "<b>Legal basis:</b> as a member of a political party, Art. 9(2)(d) GDPR; beyond "
            "that your consent, Art. 6(1)(a) and Art. 9(2)(a) GDPR. You can withdraw it here at "
            "any time."
        ),
        _("<b>How long:</b> until you delete it here.")
        + " "
        + ngettext(
            "Which messages I sent you is kept for {days} day.",
            "Which messages I sent you is kept for {days} days.",
            delivery_days,
        ).format(days=delivery_days)
        + " "
        + ngettext(
            "If you block me or leave every group of the KV, everything is deleted after "
            "{months} month.",
            "If you block me or leave every group of the KV, everything is deleted after "
            "{months} months.",
            member_months,
        ).format(months=member_months),
        _(
            "<b>Your rights:</b> see your data, download it as a file, withdraw your consent "
            "(only your id, language and when you agreed and withdrew stay) or delete "
            "everything. You may also complain to a data protection authority."
        ),
    ]
    if contact:
        paragraphs.append(
            _("<b>Questions about privacy:</b> {contact}").format(contact=esc(contact))
        )
    head = _("<b>Privacy</b>") + "\n"  # split_message adds the second line break
    parts = split_message(head, paragraphs, separator="\n\n")
    texts = [text for text, _run in parts]
    if not has_data:
        return texts, None
    rows = [
        [_button(_("Show my data"), PrivacyAction.SHOW)],
        [_button(_("Download my data"), PrivacyAction.DOWNLOAD)],
    ]
    if consented:
        rows.append([_button(_("Withdraw consent"), PrivacyAction.WITHDRAW_ASK)])
    rows.append([_button(_("Delete everything"), PrivacyAction.ASK)])
    return texts, InlineKeyboardMarkup(inline_keyboard=rows)


# --- everything stored about a member, in words ----------------------------------------------


def _language_name(code: str) -> str:
    """A language code ("de", "en-GB") in words of the current language ("Englisch")."""
    try:
        name = Locale.parse(code, sep="-").get_display_name(formatting_locale())
    except (UnknownLocaleError, ValueError):
        name = None
    return name or code


def _when(moment: datetime, zone: ZoneInfo) -> str:
    """ "01.12.2026, 19:00" / "1 Dec 2026, 19:00": day and time in the KV's zone."""
    local = moment.astimezone(zone)
    return _("{date}, {time}").format(
        date=format_day(local, zone),
        time=format_time(local, format="short", locale=formatting_locale(zone)),
    )


def _day(moment: datetime | date, zone: ZoneInfo) -> str:
    return format_day(moment, zone)


def _answer(answer: str) -> str:
    return {"yes": _("yes"), "maybe": _("maybe"), "no": _("no")}.get(answer, answer)


def _status(status: str) -> str:
    """Where a swap, proposal, handover, broadcast or message stands, in words."""
    return {
        "open": _("open"),
        "taken": _("taken over"),
        "withdrawn": _("withdrawn"),
        "pending": _("waiting"),
        "approved": _("approved"),
        "declined": _("declined"),
        "done": _("done"),
        "scheduled": _("planned"),
        "sending": _("being sent"),
        "sent": _("sent"),
        "blocked": _("not delivered (bot blocked)"),
        "failed": _("not delivered"),
        "cancelled": _("cancelled"),
        "closed": _("ended"),
    }.get(status, status)


def _role(role: str) -> str:
    if role == "action_planner":
        return _("plans field actions")
    try:
        return role_label(Role(role))
    except ValueError:
        return role


def _category(category: str | None) -> str | None:
    try:
        return category_label(Category(category)) if category else None
    except ValueError:
        return category


def message_kind_label(kind: str) -> str:
    """What kind of message the outbox sent (models.Delivery.kind), in words."""
    return {
        "intake_reminder": _("reminder to finish the questions"),
        "newcomer_digest": _("newcomer digest"),
        "broadcast": _("circular"),
        "meeting_reminder": _("meeting reminder"),
        "host_answer": _("answer to your meeting"),
        "host_summary": _("summary of answers"),
        "host_list": _("list of who comes"),
        "meeting_changed": _("meeting moved or cancelled"),
        "rsvp_promoted": _("place from the waiting list"),
        "shift_reminder": _("shift reminder"),
        "help_call": _("call for help"),
        "result_prompt": _("question about a shift's results"),
        "action_cancelled": _("action called off"),
        "shift_swapped": _("shift taken over"),
        "shift_emptied": _("shift emptied"),
        "swap_taken": _("your shift was taken over"),
        "memorial_reminder": _("Gedenktag reminder"),
        "memorial_planning": _("Gedenktag planning note"),
    }.get(kind, kind)


def _notice_kind(kind: str) -> str:
    return {
        "office": _("asked to talk to someone"),
        "joined": _("told hosts you joined"),
        "proposal": _("proposed a Stammtisch"),
        "answer": _("told a host of a changed answer"),
        "export": _("downloaded your data"),
    }.get(kind, kind)


def _labelled(template: str, values: Sequence[str], nothing: str) -> str:
    return template.format(value=", ".join(values) or nothing)


def _account_lines(data: MemberData, zone: ZoneInfo) -> list[str]:
    account = data.account
    nothing = _("not given")
    lines = [_("Telegram ID: {value}").format(value=account.id)]
    language = account.language or account.telegram_language
    lines.append(
        _("Language: {value}").format(value=_language_name(language) if language else nothing)
    )
    if account.language and account.telegram_language:
        lines.append(
            _("Language of your Telegram app: {value}").format(
                value=_language_name(account.telegram_language)
            )
        )
    if account.first_name:
        lines.append(_("First name: {value}").format(value=account.first_name))
    if account.username:
        lines.append(_("Username: @{value}").format(value=account.username))
    lines.append(
        _("Messages reach you: yes")
        if account.reachable
        else _("Messages reach you: no (you blocked me)")
    )
    lines.append(_("First talked to me: {value}").format(value=_day(account.created_at, zone)))
    lines.append(_("Last seen: {value}").format(value=_day(account.last_seen_at, zone)))
    if account.departed_at is not None:
        lines.append(
            _("Gone since (blocked me or left every KV group): {value}").format(
                value=_day(account.departed_at, zone)
            )
        )
    if account.paused_until is not None:
        lines.append(
            _("Messages paused until: {value}").format(value=_when(account.paused_until, zone))
        )
    return lines


def _profile_lines(data: MemberData, zone: ZoneInfo) -> list[str]:
    profile = data.profile
    if profile is None:
        return [_("Consent: not given, so I store no answers.")]
    nothing = _("not given")
    lines = [
        _("Agreed on: {value}").format(value=_day(profile.consent_at, zone)),
        _("Version of the consent text: {value}").format(value=profile.consent_version),
        _labelled(_("Topics: {value}"), profile.topics, nothing),
    ]
    if profile.district:
        district = profile.district
    elif profile.outside_districts:
        district = _("not sure / outside")
    else:
        district = nothing
    lines.append(_("Stadtteil: {value}").format(value=district))
    lines.append(_labelled(_("Ways to take part: {value}"), profile.activity_types, nothing))
    slots = [slot_label(slot) for slot in profile.free_time]
    lines.append(_labelled(_("When you have time: {value}"), slots, nothing))
    frequency = FREQUENCIES.get(profile.contact_frequency or "")
    lines.append(
        _("How often you want to hear from us: {value}").format(
            value=frequency_label(frequency) if frequency else nothing
        )
    )
    if profile.reminder_offsets:
        offsets = join_names(offset_label(minutes) for minutes in profile.reminder_offsets)
        lines.append(_("Meeting reminders: {value} before").format(value=offsets))
    else:
        lines.append(_("Meeting reminders: off"))
    for template, moment in (
        (_("Questions started: {value}"), profile.intake_started_at),
        (_("Questions finished: {value}"), profile.intake_completed_at),
        (_("Reminded of the questions: {value}"), profile.intake_reminded_at),
    ):
        if moment is not None:
            lines.append(template.format(value=_day(moment, zone)))
    return lines


def _meeting_line(row: MeetingAnswer, zone: ZoneInfo) -> str:
    details = [_answer(row.answer)]
    if row.guests:
        details.append(ngettext("{n} guest", "{n} guests", row.guests).format(n=row.guests))
    if row.waitlisted:
        details.append(_("on the waiting list"))
    if row.cancelled:
        details.append(_("the meeting was cancelled"))
    details.append(_("answered {value}").format(value=_day(row.answered_at, zone)))
    return _("{what}, {when}: {details}").format(
        what=row.group, when=_when(row.starts_at, zone), details=", ".join(details)
    )


def _activity_sections(data: MemberData, zone: ZoneInfo) -> list[tuple[str, list[str]]]:
    """(heading, lines) of groups, answers and field actions; empty ones left out."""
    answered = _("answered {value}")
    sections: list[tuple[str, list[str]]] = [
        (
            _("Groups you joined"),
            [
                _("{what} (joined {value})").format(what=row.group, value=_day(row.joined_at, zone))
                for row in data.groups
            ],
        ),
        (_("Your answers to meetings"), [_meeting_line(row, zone) for row in data.meeting_answers]),
        (
            _("Your answers to the KV's events on Gedenktage"),
            [
                _("{what}, {when}: {details}").format(
                    what=row.memorial,
                    when=_day(row.day, zone),
                    details=_answer(row.answer)
                    + ", "
                    + answered.format(value=_day(row.answered_at, zone)),
                )
                for row in data.memorial_answers
            ],
        ),
        (
            _("Shifts at info stands and door-to-door rounds"),
            [
                _("{what}, {when}–{end}: signed up {value}").format(
                    what=f"{row.action} ({row.label})" if row.label else row.action,
                    when=_when(row.starts_at, zone),
                    end=format_time(
                        row.ends_at.astimezone(zone), format="short", locale=formatting_locale(zone)
                    ),
                    value=_day(row.signed_at, zone),
                )
                + (" " + _("(after a call for help)") if row.via_call else "")
                for row in data.shifts
            ],
        ),
        (
            _("Calls for help you were sent"),
            [
                _("{what}, shift {when}: sent {value}").format(
                    what=row.action,
                    when=_when(row.shift_starts_at, zone),
                    value=_day(row.called_at, zone),
                )
                for row in data.help_calls
            ],
        ),
        (
            _("Shift swaps"),
            [
                (
                    _("{what}, shift {when}: you offered it, {status} ({value})")
                    if row.offered_by_you
                    else _("{what}, shift {when}: you took it over, {status} ({value})")
                ).format(
                    what=row.action,
                    when=_when(row.shift_starts_at, zone),
                    status=_status(row.status),
                    value=_day(row.decided_at or row.created_at, zone),
                )
                for row in data.shift_swaps
            ],
        ),
        (
            _("Actions naming you as their contact"),
            list(data.contact_for_actions),
        ),
        (
            _(
                "Surveys you took part in (your answers are stored without your name, "
                "so they are not here)"
            ),
            [
                _("{what} ({status}, answered {value})").format(
                    what=row.survey, status=_status(row.status), value=_day(row.answered_at, zone)
                )
                for row in data.surveys_taken
            ],
        ),
    ]
    return sections


def _organising_sections(data: MemberData, zone: ZoneInfo) -> list[tuple[str, list[str]]]:
    """(heading, lines) of roles, hosting, proposals and circulars; empty ones left out."""
    proposals = []
    for row in data.group_proposals:
        what = ", ".join(part for part in (row.name, row.district, row.place, row.rule) if part)
        proposals.append(
            _("{what}: {status} (proposed {value})").format(
                what=what, status=_status(row.status), value=_day(row.created_at, zone)
            )
        )
    return [
        (
            _("Your roles"),
            [
                _("{what} (since {value})").format(
                    what=_role(row.role), value=_day(row.granted_at, zone)
                )
                for row in data.roles
            ],
        ),
        (_("Groups you host"), list(data.hosted_groups)),
        (_("Groups you proposed"), proposals),
        (
            _("Host handovers"),
            [
                (
                    _("{what}: you handed it over, {status} ({value})")
                    if row.handed_by_you
                    else _("{what}: handed over to you, {status} ({value})")
                ).format(
                    what=row.group,
                    status=_status(row.status),
                    value=_day(row.decided_at or row.created_at, zone),
                )
                for row in data.host_handovers
            ],
        ),
        (
            _("Circulars you wrote"),
            [
                _("{what} ({category}, {status}, {value})").format(
                    what=row.summary,
                    category=_category(row.category),
                    status=_status(row.status),
                    value=_when(row.scheduled_at, zone),
                )
                for row in data.broadcasts
            ],
        ),
        (
            _("Surveys you created"),
            [
                _("{what} ({status}, until {value})").format(
                    what=row.title, status=_status(row.status), value=_when(row.ends_at, zone)
                )
                for row in data.surveys_created
            ],
        ),
        (
            _("Your entries in the audit log"),
            [
                ngettext(
                    "{what} ({subject}{n} member, {value})",
                    "{what} ({subject}{n} members, {value})",
                    row.count,
                ).format(
                    what=action_label(row.action),
                    subject=f"{row.subject}, " if row.subject else "",
                    n=row.count,
                    value=_when(row.at, zone),
                )
                for row in data.audit_entries
            ],
        ),
    ]


def _settings_lines(data: MemberData, zone: ZoneInfo) -> list[str]:
    lines = [
        _("Switched off: {what} (since {value})").format(
            what=_category(row.category), value=_day(row.created_at, zone)
        )
        for row in data.switched_off
    ]
    if data.host_notice is not None:
        try:
            notice = notice_label(HostNotice(data.host_notice))
        except ValueError:
            notice = data.host_notice
        lines.append(_("As a host you hear of answers: {value}").format(value=notice))
    if data.calendar_link is not None:
        lines.append(
            _("Calendar link: made on {value}").format(
                value=_day(data.calendar_link.created_at, zone)
            )
        )
    if data.invitation is not None:
        lines.append(
            _("Invitation link: made on {value} (code {token})").format(
                value=_day(data.invitation.created_at, zone), token=data.invitation.token
            )
        )
    if data.call_consent is not None:
        lines.append(
            _("Someone from the KV may call you on {phone} (agreed on {value})").format(
                phone=data.call_consent.phone, value=_day(data.call_consent.consented_at, zone)
            )
        )
    lines.extend(_check_in_line(row, zone) for row in data.check_ins)
    for row in data.notices:
        line = _("Last time you {what}: {value}").format(
            what=_notice_kind(row.kind), value=_when(row.sent_at, zone)
        )
        if row.subject_id:
            # The group or meeting it was about, by its number.
            line += " " + _("(about no. {subject})").format(subject=row.subject_id)
        lines.append(line)
    return lines


def _check_in_line(row: CheckInSent, zone: ZoneInfo) -> str:
    if row.sent_at is None:
        line = _("Check-in queued on {value}, not sent").format(value=_day(row.queued_at, zone))
    else:
        line = _("Check-in sent on {value}").format(value=_day(row.sent_at, zone))
    reactions = {
        "show": _("you asked to be shown something"),
        "later": _("you said: later"),
        "fewer": _("you asked for fewer messages"),
    }
    if row.reaction is not None and row.reacted_at is not None:
        line += "; " + _("{what} on {value}").format(
            what=reactions.get(row.reaction, row.reaction), value=_day(row.reacted_at, zone)
        )
    return line


def _record_sections(data: MemberData, zone: ZoneInfo) -> list[tuple[str, list[str]]]:
    messages = []
    for row in data.deliveries:
        what = message_kind_label(row.kind)
        category = _category(row.category)
        if category:
            what = f"{what} ({category})"
        line = _("{value}: {what}, {status}").format(
            value=_when(row.created_at, zone), what=what, status=_status(row.status)
        )
        if row.sent_at is not None:
            line += " " + _("({value})").format(value=_when(row.sent_at, zone))
        messages.append(line)
    history = [
        (
            _("Consent given: {value} (version {version})")
            if row.event == "given"
            else _("Consent withdrawn: {value} (version {version})")
        ).format(value=_when(row.at, zone), version=row.consent_version)
        for row in data.consent_history
    ]
    conversations = [
        _("Unfinished step {state} since {value}, with {data}").format(
            state=row.state or "-",
            value=_when(row.updated_at, zone),
            data=json.dumps(row.data, ensure_ascii=False, sort_keys=True),
        )
        for row in data.conversations
    ]
    return [
        (_("Messages I sent or am about to send you"), messages),
        (_("Consent history"), history),
        (_("Conversation in progress"), conversations),
    ]


def data_sections(data: MemberData, zone: ZoneInfo) -> list[tuple[str, list[str]]]:
    """Everything in `data` as (heading, plain-text lines), dates in the member's locale and
    the KV's zone; sections with nothing to say are left out. The chat view and the text file
    are both made from this, so they hold the same as the JSON file."""
    sections = [
        (_("Your account"), _account_lines(data, zone)),
        (_("Your answers"), _profile_lines(data, zone)),
        *_activity_sections(data, zone),
        *_organising_sections(data, zone),
        (_("Settings and links"), _settings_lines(data, zone)),
        *_record_sections(data, zone),
    ]
    return [(heading, lines) for heading, lines in sections if lines]


def my_data(data: MemberData, zone: ZoneInfo) -> list[str]:
    """Everything stored about the member, as chat messages (several for a long history)."""
    items: list[str] = []
    sections = data_sections(data, zone)
    for heading, lines in sections:
        # A blank line before each heading (which visible_length, trimming, doesn't count).
        items.append(f"\n<b>{esc(heading)}</b>")
        items += [esc(line) for line in lines]
    title = _("<b>What I store about you</b>")
    parts = split_message(
        lambda part, parts: title + part_label(part, parts),
        items,
        limit=TEXT_LIMIT - len(sections),
    )
    return [text for text, _run in parts]


def data_file_text(data: MemberData, zone: ZoneInfo, kv: str) -> str:
    """The readable file: the same as the chat view, as plain text."""
    out = [
        _("What {kv}'s Mitmachbot stores about you").format(kv=kv),
        _("As of {value}").format(value=_when(data.exported_at, zone)),
    ]
    for heading, lines in data_sections(data, zone):
        out += ["", heading, "-" * len(heading)]
        out += [f"- {line}" for line in lines]
    return "\n".join(out) + "\n"


def download_caption(json_file: bool) -> str:
    """The caption of each downloaded file."""
    if json_file:
        return _("Everything I store about you, for computers (JSON).")
    return _("Everything I store about you, to read.")


def download_again_soon() -> str:
    """A second press right after the first: the files are on their way already."""
    return _("The files are on their way; you can ask again in a minute.")


def withdraw_question() -> tuple[str, InlineKeyboardMarkup]:
    """The question before withdrawing consent, with yes and no."""
    keyboard = _or_keep(_("Yes, withdraw"), PrivacyAction.WITHDRAW)
    text = _(
        "Withdraw your consent? I then delete your name, your answers, your groups and your "
        "shifts, and keep only your Telegram id, your language and when you agreed and "
        "withdrew. You can agree again any time with /start."
    )
    return text, keyboard


def withdrawn(anything: bool) -> str:
    """The answer after withdrawing consent."""
    if anything:
        return _(
            "Done. Your consent is withdrawn; I keep only your Telegram id, your language and "
            "when you agreed and withdrew."
        )
    return _("You had not agreed, so there was nothing to withdraw.")


def confirm_erase(held: HeldRoles | None = None) -> tuple[str, InlineKeyboardMarkup]:
    """The question before erasing, with yes and no; a role holder is asked to hand over
    first, and "delete anyway" drops the roles too."""
    if held is not None and held.any:
        return _handover_first(held)
    keyboard = _or_keep(_("Yes, delete everything"), PrivacyAction.ERASE)
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
    keyboard = _or_keep(_("Delete anyway"), PrivacyAction.ERASE_ALL)
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
