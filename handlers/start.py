"""Onboarding: /start with consent, the intake conversation, /profil, suggestions and joining."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory
from bot.services.matching import Suggestion, top
from bot.services.members import get_member, set_reachable
from bot.services.profile import (
    JoinResult,
    ProfileError,
    complete_intake,
    give_consent,
    join_group,
    set_activity_types,
    set_contact_frequency,
    set_district,
    set_free_time,
    set_topics,
    start_intake,
)
from bot.settings import Settings
from bot.telegram.callbacks import ConsentCallback, GroupCallback, IntakeCallback
from bot.telegram.commands import GROUPS, PROFILE
from bot.telegram.deeplinks import parse_payload
from bot.telegram.format import (
    describe_rule,
    esc,
    first_name_or_you,
    format_meeting,
    meeting_slot,
    member_label,
)
from bot.telegram.labels import slot_label
from bot.telegram.notify import open_chat_keyboard, tell
from models import ContactFrequency, FreeTime, Group, Member, ServedChat
from models.base import utcnow

logger = logging.getLogger(__name__)

PAGE_SIZE = 3
STEPS = ("topics", "district", "activities", "free_time", "frequency")
FREE_TIME_ORDER = tuple(FreeTime)
FREQUENCY_ORDER = tuple(ContactFrequency)


class Intake(StatesGroup):
    """The intake conversation: one state per step, then the summary."""

    topics = State()
    district = State()
    activities = State()
    free_time = State()
    frequency = State()
    summary = State()


STATE_OF = {
    "topics": Intake.topics,
    "district": Intake.district,
    "activities": Intake.activities,
    "free_time": Intake.free_time,
    "frequency": Intake.frequency,
    "summary": Intake.summary,
}
STEP_OF = {state.state: step for step, state in STATE_OF.items()}


# --- texts -------------------------------------------------------------------------------------


def _consent_text(kv: str) -> str:
    return _(
        "Before we start: to suggest groups that fit you, I'd like to remember your first name, "
        "the topics you care about, your Stadtteil, when you have time, what you'd like to do "
        "and how often you want to hear from us.\n\n"
        "<b>Why:</b> only to suggest groups and dates, and to tell the hosts of a group you "
        "join that you're coming.\n"
        "<b>Who sees it:</b> the organisers of {kv}; the hosts of a group you join see your "
        "name.\n"
        "<b>How long:</b> until you delete it. /privacy shows everything and deletes it "
        "with one tap.\n\n"
        "Political interests are sensitive data, so I only store them if you agree."
    ).format(kv=esc(kv))


def _consent_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Agree"), callback_data=ConsentCallback(agree=True).pack()
                ),
                InlineKeyboardButton(
                    text=_("Not now"), callback_data=ConsentCallback(agree=False).pack()
                ),
            ]
        ]
    )


def _nav_row(step: str, *, can_go_on: bool) -> list[InlineKeyboardButton]:
    row = []
    if step != STEPS[0]:
        row.append(
            InlineKeyboardButton(
                text=_("« Back"), callback_data=IntakeCallback(step=step, action="back").pack()
            )
        )
    row.append(
        InlineKeyboardButton(
            text=_("Skip"), callback_data=IntakeCallback(step=step, action="skip").pack()
        )
    )
    if can_go_on:
        row.append(
            InlineKeyboardButton(
                text=_("Next »"), callback_data=IntakeCallback(step=step, action="next").pack()
            )
        )
    return row


def _toggle_rows(
    step: str, options: Sequence[tuple[int, str]], chosen: set[int]
) -> list[list[InlineKeyboardButton]]:
    buttons = [
        InlineKeyboardButton(
            text=("✅ " if value in chosen else "▫️ ") + label,
            callback_data=IntakeCallback(step=step, action="toggle", value=value).pack(),
        )
        for value, label in options
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


async def _render_step(
    step: str, member: Member, session: AsyncSession
) -> tuple[str, InlineKeyboardMarkup]:
    profile = member.profile
    assert profile is not None
    rows: list[list[InlineKeyboardButton]] = []
    if step == "topics":
        options = [(topic.id, topic.name) for topic in await directory.topics(session)]
        text = _("Which topics do you care about? Choose as many as you like.")
        rows = _toggle_rows(step, options, {topic.id for topic in profile.topics})
        rows.append(_nav_row(step, can_go_on=True))
    elif step == "district":
        text = _("Where do you live? Choose your Stadtteil.")
        buttons = [
            InlineKeyboardButton(
                text=("✅ " if profile.district_id == district.id else "") + district.name,
                callback_data=IntakeCallback(step=step, action="choose", value=district.id).pack(),
            )
            for district in await directory.districts(session)
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        outside = ("✅ " if profile.outside_districts else "") + _("Not sure / outside")
        rows.append(
            [
                InlineKeyboardButton(
                    text=outside,
                    callback_data=IntakeCallback(step=step, action="choose", value=0).pack(),
                )
            ]
        )
        rows.append(_nav_row(step, can_go_on=False))
    elif step == "activities":
        options = [(kind.id, kind.name) for kind in await directory.activity_types(session)]
        text = _("What would you like to do? Choose as many as you like.")
        rows = _toggle_rows(step, options, {kind.id for kind in profile.activity_types})
        rows.append(_nav_row(step, can_go_on=True))
    elif step == "free_time":
        text = _("When do you usually have time?")
        options = [(index, slot_label(slot.value)) for index, slot in enumerate(FREE_TIME_ORDER)]
        chosen = {FREE_TIME_ORDER.index(FreeTime(slot)) for slot in profile.free_time}
        rows = _toggle_rows(step, options, chosen)
        rows.append(_nav_row(step, can_go_on=True))
    else:
        text = _("How often would you like to hear from us?")
        labels = _frequency_labels()
        rows = [
            [
                InlineKeyboardButton(
                    text=("✅ " if profile.contact_frequency == frequency.value else "")
                    + labels[frequency],
                    callback_data=IntakeCallback(step=step, action="choose", value=index).pack(),
                )
            ]
            for index, frequency in enumerate(FREQUENCY_ORDER)
        ]
        rows.append(_nav_row(step, can_go_on=False))
    position = _("Step {number} of {total}").format(number=STEPS.index(step) + 1, total=len(STEPS))
    return f"<i>{position}</i>\n{text}", InlineKeyboardMarkup(inline_keyboard=rows)


def _frequency_labels() -> dict[ContactFrequency, str]:
    return {
        ContactFrequency.WEEKLY: _("Weekly"),
        ContactFrequency.MONTHLY: _("About once a month"),
        ContactFrequency.IMPORTANT_ONLY: _("Only when it's important"),
    }


def _summary_text(member: Member) -> str:
    profile = member.profile
    assert profile is not None
    nothing = _("not given")
    topics = ", ".join(esc(topic.name) for topic in profile.topics) or nothing
    if profile.district is not None:
        district = esc(profile.district.name)
    elif profile.outside_districts:
        district = _("not sure / outside")
    else:
        district = nothing
    activities = ", ".join(esc(kind.name) for kind in profile.activity_types) or nothing
    free_time = ", ".join(slot_label(slot) for slot in profile.free_time) or nothing
    frequency = (
        _frequency_labels()[ContactFrequency(profile.contact_frequency)]
        if profile.contact_frequency
        else nothing
    )
    return "\n".join(
        [
            _("<b>Your answers</b>"),
            _("Topics: {value}").format(value=topics),
            _("Stadtteil: {value}").format(value=district),
            _("Activities: {value}").format(value=activities),
            _("Time: {value}").format(value=free_time),
            _("Hearing from us: {value}").format(value=frequency),
        ]
    )


def _summary_keyboard(*, finished: bool) -> InlineKeyboardMarkup:
    labels = {
        "topics": _("Edit topics"),
        "district": _("Edit Stadtteil"),
        "activities": _("Edit activities"),
        "free_time": _("Edit time"),
        "frequency": _("Edit frequency"),
    }
    rows = [
        [
            InlineKeyboardButton(
                text=labels[step],
                callback_data=IntakeCallback(
                    step="summary", action="edit", value=STEPS.index(step)
                ).pack(),
            )
        ]
        for step in STEPS
    ]
    done = _("Show groups that fit me") if finished else _("Done – show groups that fit me")
    rows.append(
        [
            InlineKeyboardButton(
                text=done, callback_data=IntakeCallback(step="summary", action="done").pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _type_label(group: Group) -> str:
    labels = {"stammtisch": _("Stammtisch"), "basisgruppe": _("Basisgruppe"), "ag": _("AG")}
    return labels[group.type.value]


def _next_line(group: Group, settings: Settings) -> str:
    upcoming = directory.next_meetings(group, now=utcnow(), zone=settings.zone)
    if not upcoming:
        return _("No fixed date yet.")
    line = _("Next meeting: {when}").format(when=format_meeting(upcoming[0], settings.zone))
    if group.place:
        line += " · " + esc(group.place)
    return line


def _reasons_line(group: Group, suggestion: Suggestion, zone: ZoneInfo) -> str:
    reasons = suggestion.reasons
    parts: list[str] = []
    if reasons.same_district and group.district is not None:
        parts.append(esc(group.district.name))
    elif reasons.kv_wide:
        parts.append(_("whole KV"))
    names = {topic.id: topic.name for topic in group.topics}
    shared = [esc(names[topic_id]) for topic_id in reasons.shared_topic_ids if topic_id in names]
    if shared:
        parts.append(", ".join(shared))
    if reasons.slot is not None and reasons.next_meeting is not None:
        slot = meeting_slot(reasons.next_meeting, reasons.slot, zone)
        if reasons.fits_free_time:
            slot = _("{slot}, fits your free time").format(slot=slot)
        parts.append(slot)
    if reasons.newcomer_friendly:
        parts.append(_("newcomer-friendly"))
    return " · ".join(parts)


# --- /start and consent --------------------------------------------------------------------


async def start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    state: FSMContext,
) -> None:
    """Greet in the member's language; without consent ask for it, otherwise carry on."""
    await state.clear()
    if await set_reachable(session, member.id, reachable=True):
        await session.commit()
    kv = await directory.kv_name(session, settings.kv_name)
    user = message.from_user
    name = esc(user.first_name) if user else first_name_or_you(member)
    lines = [
        _(
            "Hello {name}! 👋\n\n"
            "I am the bot of <b>{kv}</b>. I help you find your way in: regulars' tables "
            "(Stammtische), base groups, dates and ways to get involved."
        ).format(name=name, kv=esc(kv))
    ]
    origin = await _origin_line(session, command.args)
    if origin:
        lines.append(origin)
    if not member.consented:
        await message.answer("\n\n".join(lines))
        await message.answer(_consent_text(kv), reply_markup=_consent_keyboard())
        return
    profile = member.profile
    assert profile is not None
    if profile.intake_completed_at is None:
        lines.append(_("Let's carry on where we left off."))
        await message.answer("\n\n".join(lines))
        await _send_step(message, "topics", member, session, state)
        return
    lines.append(
        _(
            "Good to see you again. /groups shows groups that fit you, /profile your answers, "
            "/kv how our KV works, /help everything else."
        )
    )
    await message.answer("\n\n".join(lines))


async def _origin_line(session: AsyncSession, args: str | None) -> str | None:
    payload = parse_payload(args)
    if payload is None:
        return None
    if payload.kind == "group_chat":
        chat = await session.get(ServedChat, payload.id)
        if chat is not None:
            return _("Nice that you found us through {group}.").format(group=esc(chat.title))
    if payload.kind == "invite":
        inviter = await get_member(session, payload.id)
        if inviter is not None and inviter.first_name:
            return _("{name} invited you – welcome!").format(name=esc(inviter.first_name))
    return None


async def consent_chosen(
    query: CallbackQuery,
    callback_data: ConsentCallback,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
) -> None:
    """Agree: store consent and begin the intake. Not now: store nothing, show what's open."""
    message = query.message if isinstance(query.message, Message) else None
    if not callback_data.agree:
        await query.answer()
        text = _(
            "All right, I won't store anything about you beyond your Telegram id and language. "
            "You can still look around: /groups lists all groups, /dates the next meetings, "
            "/kv explains how our KV works. If you change your mind: /profile."
        )
        if message is not None:
            await message.edit_text(text)
        return
    now = utcnow()
    await give_consent(
        session,
        member,
        first_name=query.from_user.first_name,
        username=query.from_user.username,
        now=now,
    )
    start_intake(member, now)
    await session.commit()
    await query.answer(_("Thank you!"))
    if message is not None:
        await message.edit_text(_("Thank you! A few quick questions – every one can be skipped."))
        await _send_step(message, "topics", member, session, state)


# --- the intake -----------------------------------------------------------------------------


async def _send_step(
    message: Message, step: str, member: Member, session: AsyncSession, state: FSMContext
) -> None:
    text, keyboard = await _render_step(step, member, session)
    await state.set_state(STATE_OF[step])
    await message.answer(text, reply_markup=keyboard)


async def _show_step(
    message: Message, step: str, member: Member, session: AsyncSession, state: FSMContext
) -> None:
    text, keyboard = await _render_step(step, member, session)
    await state.set_state(STATE_OF[step])
    await message.edit_text(text, reply_markup=keyboard)


async def _show_summary(message: Message, member: Member, state: FSMContext) -> None:
    await state.set_state(Intake.summary)
    await state.update_data(back_to_summary=False)
    finished = member.profile is not None and member.profile.intake_completed_at is not None
    await message.edit_text(
        _summary_text(member), reply_markup=_summary_keyboard(finished=finished)
    )


async def _advance(
    message: Message, step: str, member: Member, session: AsyncSession, state: FSMContext
) -> None:
    data = await state.get_data()
    index = STEPS.index(step)
    if data.get("back_to_summary") or index + 1 == len(STEPS):
        await _show_summary(message, member, state)
        return
    await _show_step(message, STEPS[index + 1], member, session, state)


async def intake_pressed(
    query: CallbackQuery,
    callback_data: IntakeCallback,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    raw_state: str | None,
) -> None:
    """Every intake button. The press must belong to the step the member is on."""
    message = query.message if isinstance(query.message, Message) else None
    if member.profile is None or message is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    step, action = callback_data.step, callback_data.action
    if action == "resume":
        await query.answer()
        await _send_step(message, "topics", member, session, state)
        return
    if STEP_OF.get(raw_state or "") != step:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    try:
        if step == "summary":
            await _summary_pressed(query, message, callback_data, session, member, state, settings)
            return
        await _step_pressed(query, message, callback_data, session, member, state)
    except ProfileError:
        await session.rollback()
        await query.answer(_("This button is no longer valid."), show_alert=True)


async def _step_pressed(
    query: CallbackQuery,
    message: Message,
    callback_data: IntakeCallback,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
) -> None:
    step, action, value = callback_data.step, callback_data.action, callback_data.value
    profile = member.profile
    assert profile is not None
    if action == "back" and step != STEPS[0]:
        await query.answer()
        await _show_step(message, STEPS[STEPS.index(step) - 1], member, session, state)
        return
    if action in ("skip", "next"):
        await query.answer()
        await _advance(message, step, member, session, state)
        return
    if action == "toggle" and step in ("topics", "activities", "free_time"):
        await _toggle(step, value, session, member)
        await session.commit()
        await query.answer()
        await _show_step(message, step, member, session, state)
        return
    if action == "choose" and step in ("district", "frequency"):
        if step == "district":
            await set_district(session, member, value or None)
        else:
            if not 0 <= value < len(FREQUENCY_ORDER):
                raise ProfileError("unknown_id")
            set_contact_frequency(member, FREQUENCY_ORDER[value].value)
        await session.commit()
        await query.answer(_("Saved."))
        await _advance(message, step, member, session, state)
        return
    raise ProfileError("unknown_action")


async def _toggle(step: str, value: int, session: AsyncSession, member: Member) -> None:
    profile = member.profile
    assert profile is not None
    if step == "topics":
        chosen = {topic.id for topic in profile.topics} ^ {value}
        await set_topics(session, member, chosen)
    elif step == "activities":
        chosen = {kind.id for kind in profile.activity_types} ^ {value}
        await set_activity_types(session, member, chosen)
    else:
        if not 0 <= value < len(FREE_TIME_ORDER):
            raise ProfileError("unknown_id")
        slots = set(profile.free_time) ^ {FREE_TIME_ORDER[value].value}
        set_free_time(member, slots)


async def _summary_pressed(
    query: CallbackQuery,
    message: Message,
    callback_data: IntakeCallback,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
) -> None:
    if callback_data.action == "edit" and 0 <= callback_data.value < len(STEPS):
        await query.answer()
        await state.update_data(back_to_summary=True)
        await _show_step(message, STEPS[callback_data.value], member, session, state)
        return
    if callback_data.action != "done":
        raise ProfileError("unknown_action")
    complete_intake(member, utcnow())
    await session.commit()
    await state.clear()
    await query.answer()
    await message.edit_text(_summary_text(member) + "\n\n" + _("Change it any time: /profile"))
    await _send_suggestions(message, session, member, settings, page=0)


# --- /profil --------------------------------------------------------------------------------


async def show_profile(
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    state: FSMContext,
) -> None:
    """The member's answers with edit buttons, or the consent question without consent."""
    if member.profile is None:
        kv = await directory.kv_name(session, settings.kv_name)
        await message.answer(_consent_text(kv), reply_markup=_consent_keyboard())
        return
    await state.set_state(Intake.summary)
    await state.update_data(back_to_summary=False)
    finished = member.profile.intake_completed_at is not None
    await message.answer(_summary_text(member), reply_markup=_summary_keyboard(finished=finished))


# --- suggestions, details, joining ------------------------------------------------------------


async def _send_suggestions(
    message: Message, session: AsyncSession, member: Member, settings: Settings, *, page: int
) -> None:
    text, keyboard = await _render_suggestions(session, member, settings, page=page)
    await message.answer(text, reply_markup=keyboard)


async def _render_suggestions(
    session: AsyncSession, member: Member, settings: Settings, *, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    ranked = await directory.suggest_groups(session, member, now=utcnow(), zone=settings.zone)
    if not ranked:
        text = _(
            "I haven't found a group that fits you yet. Would you like to start one, or talk "
            "to someone from the office?"
        )
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("Start a group"),
                        callback_data=GroupCallback(action="found").pack(),
                    )
                ],
                [
                    InlineKeyboardButton(
                        text=_("Talk to the office"),
                        callback_data=GroupCallback(action="office").pack(),
                    )
                ],
            ]
        )
        return text, keyboard
    shown, more = top(ranked[page * PAGE_SIZE :], PAGE_SIZE)
    groups = {group.id: group for group in await directory.active_groups(session)}
    blocks = [_("These groups could fit you:")]
    rows: list[list[InlineKeyboardButton]] = []
    for suggestion in shown:
        group = groups[suggestion.group_id]
        blocks.append(
            "\n".join(
                filter(
                    None,
                    [
                        f"<b>{esc(group.name)}</b> ({_type_label(group)})",
                        _reasons_line(group, suggestion, settings.zone),
                        _next_line(group, settings),
                    ],
                )
            )
        )
        rows.append(_group_buttons(group))
    if more:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("Show more"),
                    callback_data=GroupCallback(action="more", page=page + 1).pack(),
                )
            ]
        )
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows)


def _group_buttons(group: Group) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=_("Join"), callback_data=GroupCallback(action="join", group_id=group.id).pack()
        ),
        InlineKeyboardButton(
            text=_("Details"),
            callback_data=GroupCallback(action="details", group_id=group.id).pack(),
        ),
    ]


async def show_groups(
    message: Message, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """Suggestions for members with a profile; the whole directory for everyone else."""
    if member.profile is not None and member.profile.intake_completed_at is not None:
        await _send_suggestions(message, session, member, settings, page=0)
        return
    groups = await directory.active_groups(session)
    if not groups:
        await message.answer(_("There are no groups listed yet."))
        return
    blocks = [_("All groups of the KV:")]
    rows = []
    for group in groups:
        where = esc(group.district.name) if group.district else _("whole KV")
        blocks.append(
            f"<b>{esc(group.name)}</b> ({_type_label(group)}, {where})\n"
            + _next_line(group, settings)
        )
        rows.append(_group_buttons(group))
    await message.answer(
        "\n\n".join(blocks), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def group_pressed(
    query: CallbackQuery,
    callback_data: GroupCallback,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Join, details, more suggestions, or asking the office for help."""
    message = query.message if isinstance(query.message, Message) else None
    action = callback_data.action
    if message is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    if action == "more":
        if member.profile is None or callback_data.page < 1:
            await query.answer(_("This button is no longer valid."), show_alert=True)
            return
        await query.answer()
        await _send_suggestions(message, session, member, settings, page=callback_data.page)
        return
    if action in ("found", "office"):
        await _ask_office(query, session, member, settings, bot, i18n, founding=action == "found")
        return
    group = await directory.active_group(session, callback_data.group_id)
    if group is None:
        await query.answer(_("This group no longer exists."), show_alert=True)
        return
    if action == "details":
        await query.answer()
        await message.answer(
            await _details_text(session, group, settings),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[_group_buttons(group)[:1]]),
        )
        return
    if action != "join":
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    if member.profile is None:
        await query.answer()
        kv = await directory.kv_name(session, settings.kv_name)
        await message.answer(_consent_text(kv), reply_markup=_consent_keyboard())
        return
    result = await join_group(session, member, group.id, utcnow())
    await session.commit()
    if not result.newly_joined:
        await query.answer(_("You're already in this group."))
        return
    await query.answer(_("Welcome to the group!"))
    await message.answer(
        _("You're now in <b>{group}</b>. {next}\nThe hosts know you're coming.").format(
            group=esc(group.name), next=_next_line(group, settings)
        )
    )
    await _tell_hosts(session, bot, i18n, settings, member, result)


async def _details_text(session: AsyncSession, group: Group, settings: Settings) -> str:
    lines = [f"<b>{esc(group.name)}</b> ({_type_label(group)})"]
    if group.district is not None:
        lines.append(_("Stadtteil: {value}").format(value=esc(group.district.name)))
    if group.topics:
        topics = ", ".join(esc(topic.name) for topic in group.topics)
        lines.append(_("Topics: {value}").format(value=topics))
    rule = directory.meeting_rule(group)
    if rule is not None:
        lines.append(_("Meets: {value}").format(value=describe_rule(rule)))
    if group.place:
        lines.append(_("Place: {value}").format(value=esc(group.place)))
    upcoming = directory.next_meetings(group, now=utcnow(), zone=settings.zone, count=3)
    if upcoming:
        dates = ", ".join(format_meeting(moment, settings.zone) for moment in upcoming)
        lines.append(_("Next dates: {value}").format(value=dates))
    if group.newcomer_friendly:
        lines.append(_("Newcomers are especially welcome here."))
    if group.open_to_non_members:
        lines.append(_("Non-members are welcome too."))
    if group.description:
        lines.append("\n" + esc(group.description))
    return "\n".join(lines)


async def _tell_hosts(
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    member: Member,
    result: JoinResult,
) -> None:
    """The warm handoff: each host hears privately, in their language, who joined."""

    def render() -> tuple[str, InlineKeyboardMarkup | None]:
        text = (
            _("{who} joined <b>{group}</b> – their first group. Say hello!")
            if result.first_group
            else _("{who} joined <b>{group}</b>.")
        ).format(who=member_label(member), group=esc(result.group.name))
        return text, open_chat_keyboard(member.id)

    for host_id in await directory.host_ids(session, result.group):
        if host_id != member.id:
            host = await get_member(session, host_id)
            await tell(
                bot, i18n, host_id, host, default_locale=settings.default_locale, render=render
            )


async def _ask_office(
    query: CallbackQuery,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    *,
    founding: bool,
) -> None:
    if member.profile is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer(_("Thank you! Someone from the office will get in touch."), show_alert=True)

    def render() -> tuple[str, InlineKeyboardMarkup | None]:
        text = (
            _("{who} would like to start a group. Please get in touch.")
            if founding
            else _("{who} found no fitting group and would like to talk to someone.")
        ).format(who=member_label(member))
        return text, open_chat_keyboard(member.id)

    for organiser_id in await directory.organiser_ids(session, settings.admin_ids):
        organiser = await get_member(session, organiser_id)
        await tell(
            bot,
            i18n,
            organiser_id,
            organiser,
            default_locale=settings.default_locale,
            render=render,
        )


def create_router() -> Router:
    """The onboarding flow in the private chat."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(start, CommandStart())
    router.message.register(show_profile, Command(*PROFILE.aliases))
    router.message.register(show_groups, Command(*GROUPS.aliases))
    router.callback_query.register(consent_chosen, ConsentCallback.filter())
    router.callback_query.register(intake_pressed, IntakeCallback.filter())
    router.callback_query.register(group_pressed, GroupCallback.filter())
    return router
