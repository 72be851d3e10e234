"""Open to all, consent or not: the guide (/kv), the dates (/termine), privacy (/datenschutz)."""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import GuideCallback, PrivacyCallback
from bot.commands import DATES, GUIDE, PRIVACY
from bot.services import directory
from bot.services.profile import withdraw_consent
from bot.settings import Settings
from bot.texts import esc, format_meeting, slot_label
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


async def show_dates(message: Message, session: AsyncSession, settings: Settings) -> None:
    """The next meetings of all groups in the coming four weeks."""
    now = utcnow()
    dates = [
        (moment, group)
        for group in await directory.active_groups(session)
        for moment in directory.next_meetings(group, now=now, zone=settings.zone, count=5)
        if moment <= now + DATES_AHEAD
    ]
    if not dates:
        await message.answer(_("No meetings in the next four weeks."))
        return
    dates.sort(key=lambda item: (item[0], item[1].position, item[1].id))
    lines = [_("<b>The next meetings</b>")]
    for moment, group in dates[:MAX_DATES]:
        place = f" ({esc(group.place)})" if group.place else ""
        lines.append(f"{format_meeting(moment, settings.zone)} – {esc(group.name)}{place}")
    lines.append("")
    lines.append(_("/groups shows the groups and lets you join."))
    await message.answer("\n".join(lines))


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
        "<b>Always:</b> your Telegram id and language, so I can answer you.\n"
        "<b>Only if you agreed:</b> your first name and username, your topics, Stadtteil, "
        "activities, free time, how often you want to hear from us, and the groups you joined.\n\n"
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
) -> None:
    """Show everything stored, ask before deleting, delete."""
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    action = callback_data.action
    if action == "show":
        await query.answer()
        await message.answer(await _my_data(session, member))
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


async def _my_data(session: AsyncSession, member: Member) -> str:
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
    router.callback_query.register(privacy_pressed, PrivacyCallback.filter())
    return router
