"""/datenschutz: what is stored and why, show or download everything stored about me, withdraw
consent, erase it."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import data_export, directory, erasure
from bot.services.profile import withdraw_consent
from bot.settings import Settings
from bot.telegram.callbacks import PrivacyAction, PrivacyCallback
from bot.telegram.commands import PRIVACY
from bot.telegram.guards import private_router
from bot.telegram.screens import Shown, drop_buttons, edit
from bot.telegram.views import privacy as views
from models import ConsentRecord, Member
from models.base import utcnow

logger = logging.getLogger(__name__)


async def show_privacy(
    message: Message, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """What is stored, why, how long, who sees it, the legal basis, whom to ask; and the
    buttons to see, download, withdraw and delete it."""
    kv = await directory.kv_name(session, settings.kv_name)
    # The KV setup names its data-protection contact; PRIVACY_CONTACT is the fallback.
    contact = await directory.privacy_contact(session) or settings.privacy_contact
    # Without consent only the id and the language are kept (and, after a withdrawal, the
    # consent history): with none of that there is nothing to show or delete.
    has_history = await session.scalar(
        select(ConsentRecord.id).where(ConsentRecord.member_id == member.id).limit(1)
    )
    has_data = member.consented or member.first_name is not None or has_history is not None
    texts, keyboard = views.overview(
        kv,
        contact,
        has_data=has_data,
        consented=member.consented,
        delivery_days=settings.delivery_retention_days,
        member_months=settings.member_retention_months,
    )
    for number, text in enumerate(texts, start=1):
        await message.answer(text, reply_markup=keyboard if number == len(texts) else None)


async def show_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Everything stored about the member, as new messages: the same as the downloaded file."""
    data = await data_export.collect(session, member, now=utcnow())
    await query.answer()
    for text in views.my_data(data, settings.zone):
        await message.answer(text)


async def download_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Everything stored about the member as two files: JSON and readable text in their
    language. A double tap sends them once (a toast says they are on their way)."""
    now = utcnow()
    if not await data_export.claim_download(session, member.id, now=now):
        await query.answer(views.download_again_soon())
        return
    await session.commit()
    data = await data_export.collect(session, member, now=now)
    kv = await directory.kv_name(session, settings.kv_name)
    await query.answer()
    await message.answer_document(
        BufferedInputFile(
            data_export.to_json(data).encode("utf-8"), data_export.file_name(data, "json")
        ),
        caption=views.download_caption(json_file=True),
    )
    await message.answer_document(
        BufferedInputFile(
            views.data_file_text(data, settings.zone, kv).encode("utf-8"),
            data_export.file_name(data, "txt"),
        ),
        caption=views.download_caption(json_file=False),
    )


async def withdraw_ask_pressed(query: CallbackQuery, message: Message) -> None:
    """Ask before withdrawing consent."""
    text, keyboard = views.withdraw_question()
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def withdraw_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
) -> None:
    """Withdraw consent: profile, groups, answers, shifts and name go; the id, the language and
    the consent history (with this withdrawal) stay. A second press finds nothing to do."""
    withdrawn = await withdraw_consent(session, member, now=utcnow())
    await session.commit()
    await state.clear()
    if not withdrawn:
        await query.answer(views.withdrawn(withdrawn))
        await drop_buttons(message)
        return
    await query.answer()
    await edit(message, views.withdrawn(withdrawn), None)


async def ask_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
) -> None:
    """Ask before erasing; a host or organiser is asked to hand over first."""
    held = await erasure.roles_held(session, member.id, settings)
    text, keyboard = views.confirm_erase(held)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def keep_pressed(query: CallbackQuery, message: Message) -> None:
    """The member changed their mind."""
    await query.answer()
    await edit(message, views.kept(), None)


async def erase_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    callback_data: PrivacyCallback,
) -> None:
    """Erase everything stored about the member, the member row included; a later /start
    begins as new. "Yes" from a member who holds roles meanwhile asks to hand over first;
    "delete anyway" drops the roles too (organisers hear of groups left without a host).

    Pressed again (a double tap, an old question) there is nothing left: a toast says so, and
    the message keeps what the first press wrote, only its buttons go.
    """
    # The update's bookkeeping re-created a bare row for a member erased before: that is no
    # data of theirs, so a second press says "nothing to delete" (and the row goes again).
    had_data = not _bare(member)
    if callback_data.action == PrivacyAction.ERASE and had_data:
        held = await erasure.roles_held(session, member.id, settings)
        if held.any:
            await query.answer()
            await edit(message, *views.confirm_erase(held))
            return
    erased = await erasure.erase_member(
        session, member.id, now=utcnow(), admin_ids=settings.admin_ids
    )
    await session.commit()
    await state.clear()
    erased = erased and had_data
    logger.info("member erased their data" if erased else "erase pressed: nothing to delete")
    if not erased:
        await query.answer(views.erased(erased))
        await drop_buttons(message)
        return
    await query.answer()
    await edit(message, views.erased(erased), None)


def _bare(member: Member) -> bool:
    """A member row holding nothing but the id and languages (as the bookkeeping makes it)."""
    return (
        member.profile is None
        and not member.roles
        and member.first_name is None
        and member.username is None
        and member.language is None
    )


def create_router() -> Router:
    """Privacy in the private chat; open to everyone, consent or not."""
    router = private_router(__name__)
    router.message.register(show_privacy, Command(*PRIVACY.aliases))
    pressed = router.callback_query.register
    pressed(show_pressed, PrivacyCallback.filter(F.action == PrivacyAction.SHOW), Shown())
    pressed(download_pressed, PrivacyCallback.filter(F.action == PrivacyAction.DOWNLOAD), Shown())
    pressed(
        withdraw_ask_pressed,
        PrivacyCallback.filter(F.action == PrivacyAction.WITHDRAW_ASK),
        Shown(),
    )
    pressed(withdraw_pressed, PrivacyCallback.filter(F.action == PrivacyAction.WITHDRAW), Shown())
    pressed(ask_pressed, PrivacyCallback.filter(F.action == PrivacyAction.ASK), Shown())
    pressed(keep_pressed, PrivacyCallback.filter(F.action == PrivacyAction.KEEP), Shown())
    pressed(erase_pressed, PrivacyCallback.filter(F.action == PrivacyAction.ERASE), Shown())
    pressed(erase_pressed, PrivacyCallback.filter(F.action == PrivacyAction.ERASE_ALL), Shown())
    return router
