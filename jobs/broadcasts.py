"""Broadcast jobs: start due broadcasts, keep their progress messages current, send the report.

The delivery worker sends the copies; this job only reads the outbox's statuses. Every step is
claimed in the database first (start, progress edit, finish), so with two instances each
happens once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import JobContext
from bot.services import broadcasts
from bot.services.locales import member_locale
from bot.services.members import get_member
from bot.telegram.retries import Retries, retries
from bot.telegram.views import broadcast as views
from jobs import member_batches
from models import Broadcast
from models.base import utcnow

logger = logging.getLogger(__name__)

Keyboard = InlineKeyboardMarkup | None

# Telegram allows about one edit per second per chat; every few seconds is plenty for a human.
PROGRESS_EVERY = timedelta(seconds=4)
# Seconds one run spends enqueueing large broadcasts' recipients before it turns to progress
# messages; what remains continues in the next run (every 2 s).
ENQUEUE_BUDGET = 3.0


async def run_broadcasts(ctx: JobContext, now: datetime | None = None) -> None:
    """Start what is due, then update or finish every running broadcast."""
    now = now or utcnow()
    async with ctx.scope() as session:
        started = await broadcasts.start_due(session, now)
        await session.commit()
    if started:
        ctx.wake()
    await enqueue_started(ctx)
    for broadcast in started:
        await post_progress(ctx, broadcast.id, now=now, announce=True)
    async with ctx.scope() as session:
        running = [broadcast.id for broadcast in await broadcasts.running(session)]
    for broadcast_id in running:
        await post_progress(ctx, broadcast_id, now=now)


async def enqueue_started(ctx: JobContext, *, budget: float = ENQUEUE_BUDGET) -> int:
    """Put started broadcasts' remaining recipients into the outbox, one batch per transaction,
    for at most `budget` seconds (then the progress messages get their turn). Returns how many
    batches ran."""

    async def step(session: AsyncSession, broadcast_id: int) -> bool:
        return await broadcasts.enqueue_batch(session, broadcast_id, utcnow())

    return await member_batches.run_within(ctx, broadcasts.enqueuing, step, budget=budget)


async def post_progress(
    ctx: JobContext, broadcast_id: int, *, now: datetime | None = None, announce: bool = False
) -> None:
    """Edit (or, with `announce`, send) the progress message; send the report once it is done."""
    now = now or utcnow()
    async with ctx.session_pool() as session:
        broadcast = await broadcasts.get(session, broadcast_id)
        if broadcast is None:
            return
        author = await get_member(session, broadcast.author_id)
        finished = await broadcasts.finish(session, broadcast_id, now)
        may_edit = finished or await broadcasts.claim_progress_edit(
            session, broadcast_id, now, PROGRESS_EVERY
        )
        await session.commit()
        if not (may_edit or announce):
            return
        # Read again: finishing (here or by another instance) changed its status.
        broadcast = await broadcasts.find(session, broadcast_id)
        progress = await broadcasts.progress(session, broadcast, now)
        reasons = await broadcasts.failure_reasons(session, broadcast_id) if finished else []
        locale = member_locale(
            author, available=ctx.i18n.available_locales, default=ctx.settings.default_locale
        )
        with ctx.i18n.context(), ctx.i18n.use_locale(locale):
            text = views.progress_text(broadcast, progress)
            # Once it has ended (here, or stopped meanwhile) there is nothing left to stop.
            running = broadcast.status in broadcasts.OPEN
            keyboard = views.progress_keyboard(broadcast_id) if running else None
            report = (
                views.report_text(broadcast, progress, reasons, cancelled=False)
                if finished
                else None
            )
            report_keyboard = views.report_keyboard(broadcast_id)
        if announce:
            # Sent once, when a scheduled broadcast starts; if the organiser can't be reached,
            # the broadcast goes on without a progress message rather than retrying it.
            message_id = await _send(ctx.bot, broadcast.author_id, text, keyboard)
            if message_id is not None:
                broadcasts.note_progress_message(
                    broadcast, chat_id=broadcast.author_id, message_id=message_id
                )
                await session.commit()
        elif broadcast.progress_message_id is not None:
            await _edit(ctx.bot, broadcast, text, keyboard, final=finished)
    if report is not None:
        await _send(ctx.bot, broadcast.author_id, report, report_keyboard)


async def _send(bot: Bot, chat_id: int, text: str, keyboard: Keyboard) -> int | None:
    # Sent once (its claim is already committed): Telegram's 429s and passing server errors
    # are waited out by the request middleware (bot.middlewares.request), within its bound.
    try:
        message = await bot.send_message(chat_id, text, reply_markup=keyboard)
    except TelegramAPIError as exc:
        # The organiser blocked the bot or left, or Telegram stayed away too long; the
        # broadcast itself goes on regardless.
        logger.info("could not tell the author about a broadcast: %s", exc)
        return None
    return message.message_id


async def _edit(
    bot: Bot, broadcast: Broadcast, text: str, keyboard: Keyboard, *, final: bool = False
) -> None:
    assert broadcast.progress_chat_id is not None
    assert broadcast.progress_message_id is not None
    # A progress edit skipped on a 429 is made good by the next one; the final one ("finished")
    # must arrive, so the request middleware waits the 429 out. ("Message is not modified" is
    # done, in the middleware too.)
    mode = Retries.ALL if final else Retries.TRANSIENT
    try:
        with retries(mode):
            await bot.edit_message_text(
                text=text,
                chat_id=broadcast.progress_chat_id,
                message_id=broadcast.progress_message_id,
                reply_markup=keyboard,
            )
    except TelegramAPIError as exc:
        logger.info("could not edit broadcast %s's progress: %s", broadcast.id, exc)
