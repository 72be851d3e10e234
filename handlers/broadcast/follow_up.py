"""After sending: stop a broadcast (asked first), keep it going, its report, who it missed.

Every button names its broadcast by id; the services reload it and raise BroadcastError for an
unknown or already ended one, which handlers.broadcast explains.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, broadcasts
from bot.services.broadcasts import audit_subject
from bot.telegram.callbacks import BroadcastAction, BroadcastCallback
from bot.telegram.screens import show
from bot.telegram.views import broadcast as views
from models import AuditAction, Broadcast, BroadcastStatus
from models.base import utcnow

logger = logging.getLogger(__name__)


async def stop_pressed(
    query: CallbackQuery, callback_data: BroadcastCallback, message: Message, session: AsyncSession
) -> None:
    """Ask before stopping a scheduled or running broadcast."""
    broadcast = await broadcasts.find(session, callback_data.value, running=True)
    text, keyboard = views.stop_question(broadcast.id)
    await query.answer()
    await message.answer(text, reply_markup=keyboard)


async def stop_confirmed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    message: Message,
    session: AsyncSession,
    bot: Bot,
) -> None:
    """Stop it: what is not sent yet is cancelled; the question turns into the report."""
    now = utcnow()
    stopped = await broadcasts.stop(session, callback_data.value, by=query.from_user.id, now=now)
    await audit.record(
        session,
        query.from_user.id,
        AuditAction.BROADCAST_CANCELLED,
        count=stopped.total,
        subject=audit_subject(stopped),
        at=now,
    )
    await session.commit()
    logger.info("broadcast %s stopped by %s", stopped.id, query.from_user.id)
    await query.answer(views.stopped())
    if stopped.started_at is None:
        await show(message, views.stopped_before_start(stopped.id))
        return
    progress = await broadcasts.progress(session, stopped, now)
    reasons = await broadcasts.failure_reasons(session, stopped.id)
    await show(
        message,
        views.report_text(stopped, progress, reasons, cancelled=True),
        views.report_keyboard(stopped.id),
    )
    await _end_progress_message(bot, stopped, views.progress_text(stopped, progress))


async def _end_progress_message(bot: Bot, broadcast: Broadcast, text: str) -> None:
    """The progress message says it was stopped (the job edits only running broadcasts')."""
    if broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
        return
    # Too old to edit, or deleted: the report just shown says it all anyway.
    with contextlib.suppress(TelegramAPIError):
        await bot.edit_message_text(
            text=text,
            chat_id=broadcast.progress_chat_id,
            message_id=broadcast.progress_message_id,
            reply_markup=None,
        )


async def keep_pressed(query: CallbackQuery, message: Message) -> None:
    """Not stopping after all: the question loses its buttons."""
    await query.answer(views.goes_on())
    await message.delete_reply_markup()


async def who_pressed(
    query: CallbackQuery, callback_data: BroadcastCallback, message: Message, session: AsyncSession
) -> None:
    """The members a broadcast could not reach, for a phone call."""
    broadcast = await broadcasts.find(session, callback_data.value)
    members = await broadcasts.unreached(session, broadcast.id)
    await audit.record(
        session,
        query.from_user.id,
        AuditAction.UNREACHED_LIST,
        count=len(members),
        subject=audit_subject(broadcast),
    )
    await session.commit()
    await query.answer()
    pruned = broadcasts.pruned_unreached(broadcast)
    for text in views.unreached_text(broadcast.id, members, pruned=pruned):
        await message.answer(text)


async def report_pressed(
    query: CallbackQuery, callback_data: BroadcastCallback, message: Message, session: AsyncSession
) -> None:
    """A broadcast's report, again (from /rundschreiben's list)."""
    broadcast = await broadcasts.find(session, callback_data.value)
    progress = await broadcasts.progress(session, broadcast, utcnow())
    reasons = await broadcasts.failure_reasons(session, broadcast.id)
    cancelled = broadcast.status is BroadcastStatus.CANCELLED
    await query.answer()
    await message.answer(
        views.report_text(broadcast, progress, reasons, cancelled=cancelled),
        reply_markup=views.report_keyboard(broadcast.id) if broadcast.started_at else None,
    )


def create_router() -> Router:
    """Following broadcasts; the feature's router (handlers.broadcast) filters chat and role."""
    router = Router(name=__name__)
    handlers = {
        BroadcastAction.STOP: stop_pressed,
        BroadcastAction.STOP_CONFIRMED: stop_confirmed,
        BroadcastAction.KEEP: keep_pressed,
        BroadcastAction.WHO: who_pressed,
        BroadcastAction.REPORT: report_pressed,
    }
    for action, handler in handlers.items():
        router.callback_query.register(handler, BroadcastCallback.filter(F.action == action))
    return router
