"""/protokoll (/auditlog): admins read the audit log, a page at a time.

Reading the log is not itself recorded: it lists actions and counts, no member's data. Only
admins get this far (the role filter built from AUDIT_LOG.roles); a forged or stale page
button is re-checked and clamped to the log as it is now.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.settings import Settings
from bot.telegram.callbacks import AuditCallback
from bot.telegram.commands import AUDIT_LOG
from bot.telegram.guards import guard, private_router
from bot.telegram.screens import show
from bot.telegram.views import admin as admin_views
from bot.telegram.views import audit as views


async def _page(
    session: AsyncSession, settings: Settings, page: int
) -> tuple[list[tuple[str, InlineKeyboardMarkup | None]], bool]:
    """The messages of page `page` (clamped to the last one), and whether it was clamped."""
    entries, total = await audit.page(session, number=page, size=views.PAGE_SIZE)
    last = views.pages(total) - 1
    clamped = page > last
    if clamped:
        page = last
        entries, total = await audit.page(session, number=page, size=views.PAGE_SIZE)
    return list(views.log_page(entries, page=page, total=total, zone=settings.zone)), clamped


async def log_command(message: Message, session: AsyncSession, settings: Settings) -> None:
    """The newest entries."""
    parts, _clamped = await _page(session, settings, 0)
    for text, keyboard in parts:
        await message.answer(text, reply_markup=keyboard)


async def page_pressed(
    query: CallbackQuery, callback_data: AuditCallback, session: AsyncSession, settings: Settings
) -> None:
    """Another page, in place of the pressed one."""
    parts, clamped = await _page(session, settings, callback_data.page)
    await query.answer(views.page_gone() if clamped else None)
    if not isinstance(query.message, Message):
        return
    if len(parts) == 1:
        text, keyboard = parts[0]
        await show(query.message, text, keyboard)
        return
    for text, keyboard in parts:
        await query.message.answer(text, reply_markup=keyboard)


def create_router() -> Router:
    """The audit log in the private chat, for admins only; everyone else gets one refusal."""
    router = private_router(__name__)
    router.message.register(log_command, Command(*AUDIT_LOG.aliases))
    router.callback_query.register(page_pressed, AuditCallback.filter())
    return guard(
        router,
        roles=AUDIT_LOG.roles,
        refusal=admin_views.refusal,
        commands=[AUDIT_LOG],
        callbacks=[AuditCallback],
    )
