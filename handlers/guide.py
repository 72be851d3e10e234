"""Open to all, consent or not: the guide (/kv), the dates (/termine), privacy (/datenschutz)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory, meetings
from bot.services.preferences import opted_out_categories
from bot.services.profile import withdraw_consent
from bot.settings import Settings
from bot.telegram.callbacks import GuideCallback, MeetingCallback, PrivacyCallback
from bot.telegram.commands import DATES, GUIDE, PRIVACY
from bot.telegram.format import esc, format_meeting
from bot.telegram.labels import category_label, slot_label
from models import Member
from models.base import utcnow

# How far ahead /termine looks, and how many dates it lists at most.
DATES_AHEAD = timedelta(days=28)
MAX_DATES = 15
# The callback value meaning "the table of contents" (section ids start at 1).
TOC_ID = 0


async def show_guide(message: Message, session: AsyncSession, settings: Settings) -> None:
    """The guide's table of contents, one button per section."""
    text, keyboard = await _toc(session, settings)
    await message.answer(text, reply_markup=keyboard)


async def _toc(
    session: AsyncSession, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    sections = await directory.guide_sections(session)
    kv = await directory.kv_name(session, settings.kv_name)
    if not sections:
        return _("There is no guide for {kv} yet.").format(kv=esc(kv)), None
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=section.title,
                    callback_data=GuideCallback(section_id=section.id).pack(),
                )
            ]
            for section in sections
        ]
    )
    return _("<b>How {kv} works</b>\nChoose a section:").format(kv=esc(kv)), keyboard


async def guide_pressed(
    query: CallbackQuery,
    callback_data: GuideCallback,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """Show a section, or the table of contents again."""
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    if callback_data.section_id == TOC_ID:
        text, keyboard = await _toc(session, settings)
        await query.answer()
        await message.edit_text(text, reply_markup=keyboard)
        return
    sections = {section.id: section for section in await directory.guide_sections(session)}
    section = sections.get(callback_data.section_id)
    if section is None:
        await query.answer(_("This section no longer exists."), show_alert=True)
        return
    back = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("« All sections"),
                    callback_data=GuideCallback(section_id=TOC_ID).pack(),
                )
            ]
        ]
    )
    await query.answer()
    await message.edit_text(
        f"<b>{esc(section.title)}</b>\n\n{esc(section.body)}", reply_markup=back
    )


async def _dates(
    session: AsyncSession, settings: Settings, member: Member | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The next meetings of all groups in the coming four weeks, with a coming/not button each."""
    now = utcnow()
    dates = [
        (moment, group)
        for group in await directory.active_groups(session)
        for moment in directory.next_meetings(group, now=now, zone=settings.zone, count=5)
        if moment <= now + DATES_AHEAD
    ]
    if not dates:
        return _("No meetings in the next four weeks."), None
    dates.sort(key=lambda item: (item[0], item[1].position, item[1].id))
    dates = dates[:MAX_DATES]
    consented = member is not None and member.consented
    going = (
        await meetings.attending_keys(session, member.id, now) if consented and member else set()
    )
    lines = [_("<b>The next meetings</b>")]
    buttons = []
    for moment, group in dates:
        place = f" ({esc(group.place)})" if group.place else ""
        mark = "✅ " if (group.id, moment) in going else ""
        when = format_meeting(moment, settings.zone)
        lines.append(f"{mark}{when} – {esc(group.name)}{place}")
        if consented:
            attending = (group.id, moment) in going
            buttons.append(
                [
                    InlineKeyboardButton(
                        text=("✅ " if attending else "✋ ") + f"{when} · {group.name}",
                        callback_data=MeetingCallback(
                            group_id=group.id, at=int(moment.timestamp()), going=not attending
                        ).pack(),
                    )
                ]
            )
    lines.append("")
    if consented:
        lines.append(_("Tap a date to say you are coming; tap it again if you can't make it."))
    else:
        lines.append(
            _("Once you have agreed in /start, you can say here which meetings you come to.")
        )
    lines.append(_("/groups shows the groups and lets you join."))
    keyboard = InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None
    return "\n".join(lines), keyboard


async def show_dates(
    message: Message, session: AsyncSession, settings: Settings, member: Member
) -> None:
    """The next meetings, each with a button to say you come."""
    text, keyboard = await _dates(session, settings, member)
    await message.answer(text, reply_markup=keyboard)


async def meeting_pressed(
    query: CallbackQuery,
    callback_data: MeetingCallback,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """Say you come (or no longer come) to a meeting, then show the dates again."""
    message = query.message if isinstance(query.message, Message) else None
    try:
        starts_at = datetime.fromtimestamp(callback_data.at, tz=UTC)
        await meetings.set_attending(
            session,
            member_id=member.id,
            consented=member.consented,
            group_id=callback_data.group_id,
            starts_at=starts_at,
            attending=callback_data.going,
            zone=settings.zone,
            now=utcnow(),
        )
    except (meetings.MeetingError, ValueError, OverflowError, OSError) as exc:
        await session.rollback()
        reason = getattr(exc, "reason", "unknown")
        await query.answer(
            _("To say you come to meetings, agree in /start first.")
            if reason == "no_consent"
            else _("This meeting is no longer on the list. /dates shows the current ones."),
            show_alert=True,
        )
        return
    await session.commit()
    await query.answer(
        _("See you there! I noted that you are coming.")
        if callback_data.going
        else _("Noted: you are not coming.")
    )
    if message is not None:
        text, keyboard = await _dates(session, settings, member)
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_text(text, reply_markup=keyboard)


def _privacy_keyboard(member: Member) -> InlineKeyboardMarkup | None:
    if not member.consented and not member.first_name:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Show my data"), callback_data=PrivacyCallback(action="show").pack()
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("Delete everything"),
                    callback_data=PrivacyCallback(action="ask").pack(),
                )
            ],
        ]
    )


async def show_privacy(
    message: Message, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """What is stored, why, how long, who sees it; and the buttons to see and delete it."""
    kv = await directory.kv_name(session, settings.kv_name)
    contact = await directory.privacy_contact(session)
    text = _(
        "<b>Privacy</b>\n\n"
        "<b>Always:</b> your Telegram id and language, so I can answer you, and which kinds of "
        "messages you switched off.\n"
        "<b>Only if you agreed:</b> your first name and username, your topics, Stadtteil, "
        "activities, free time, how often you want to hear from us, the groups you joined and "
        "the meetings you said you come to.\n\n"
        "<b>Why:</b> to suggest groups and dates and to tell hosts you're coming.\n"
        "<b>Who sees it:</b> the organisers of {kv}; hosts see the names of their group's "
        "members. Nobody else.\n"
        "<b>How long:</b> until you delete it here."
    ).format(kv=esc(kv))
    if contact:
        text += "\n\n" + _("Questions about privacy: {contact}").format(contact=esc(contact))
    await message.answer(text, reply_markup=_privacy_keyboard(member))


async def privacy_pressed(
    query: CallbackQuery,
    callback_data: PrivacyCallback,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
) -> None:
    """Show everything stored, ask before deleting, delete."""
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    action = callback_data.action
    if action == "show":
        await query.answer()
        await message.answer(await _my_data(session, member, settings.zone))
        return
    if action == "ask":
        await query.answer()
        confirm = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("Yes, delete everything"),
                        callback_data=PrivacyCallback(action="erase").pack(),
                    ),
                    InlineKeyboardButton(
                        text=_("Keep it"), callback_data=PrivacyCallback(action="keep").pack()
                    ),
                ]
            ]
        )
        await message.answer(
            _("Really delete everything I know about you? Your groups are left as well."),
            reply_markup=confirm,
        )
        return
    if action == "keep":
        await query.answer()
        await message.edit_text(_("Nothing was deleted."))
        return
    if action != "erase":
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    erased = await withdraw_consent(session, member)
    await session.commit()
    await state.clear()
    await query.answer()
    await message.edit_text(
        _("Done. I deleted your name, your answers and your groups.")
        if erased
        else _("There was nothing to delete.")
    )


async def _my_data(session: AsyncSession, member: Member, zone: ZoneInfo) -> str:
    lines = [_("<b>What I store about you</b>")]
    lines.append(_("Telegram id: {value}").format(value=member.id))
    language = member.language or member.telegram_language or "–"
    lines.append(_("Language: {value}").format(value=esc(language)))
    if member.first_name:
        lines.append(_("First name: {value}").format(value=esc(member.first_name)))
    if member.username:
        lines.append(_("Username: @{value}").format(value=esc(member.username)))
    profile = member.profile
    if profile is not None:
        topics = ", ".join(esc(topic.name) for topic in profile.topics) or "–"
        lines.append(_("Topics: {value}").format(value=topics))
        district = esc(profile.district.name) if profile.district else "–"
        lines.append(_("Stadtteil: {value}").format(value=district))
        kinds = ", ".join(esc(kind.name) for kind in profile.activity_types) or "–"
        lines.append(_("Activities: {value}").format(value=kinds))
        slots = ", ".join(slot_label(slot) for slot in profile.free_time) or "–"
        lines.append(_("Time: {value}").format(value=slots))
        lines.append(_("Agreed on: {value}").format(value=profile.consent_at.date().isoformat()))
    groups = await directory.member_groups(session, member.id)
    if groups:
        names = ", ".join(esc(group.name) for group in groups)
        lines.append(_("Groups: {value}").format(value=names))
    coming = await meetings.my_meetings(session, member.id, utcnow())
    if coming:
        dates = ", ".join(
            f"{format_meeting(meeting.starts_at, zone)} {esc(meeting.group.name)}"
            for meeting in coming
        )
        lines.append(_("Meetings you come to: {value}").format(value=dates))
    switched_off = await opted_out_categories(session, member.id)
    if switched_off:
        names = ", ".join(category_label(category) for category in sorted(switched_off))
        lines.append(_("Messages you switched off: {value}").format(value=names))
    return "\n".join(lines)


def create_router() -> Router:
    """Guide, dates and privacy in the private chat."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(show_guide, Command(*GUIDE.aliases))
    router.message.register(show_dates, Command(*DATES.aliases))
    router.message.register(show_privacy, Command(*PRIVACY.aliases))
    router.callback_query.register(guide_pressed, GuideCallback.filter())
    router.callback_query.register(meeting_pressed, MeetingCallback.filter())
    router.callback_query.register(privacy_pressed, PrivacyCallback.filter())
    return router
