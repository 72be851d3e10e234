"""The pacer: keeps meeting posts in group chats current, within Telegram's group limits.

Every run (every 2 s) claims, per chat, the post that has waited longest for an edit, if the
chat's last edit is EDIT_GAP ago, and edits it to what is true now. Answers given meanwhile are
all in that one edit. A post that is gone (deleted, or the bot left the chat) is forgotten; a
429 holds the chat back as long as Telegram asks; anything else is tried again next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import JobContext
from bot.services import meeting_posts
from bot.services.locales import resolve_locale
from bot.telegram.retries import Retries, retries, unchanged
from bot.telegram.views.meeting_posts import post_view
from models.base import utcnow

logger = logging.getLogger(__name__)

# Telegram's answers that mean the post can't be edited any more: forget it.
GONE = (
    "message to edit not found",
    "message can't be edited",
    "chat not found",
    "message_id_invalid",
)


@dataclass
class PacerRun:
    """What one run did, for tests and the log."""

    edited: int = 0
    unchanged: int = 0
    dropped: int = 0
    held_back: int = 0
    failed: int = 0


async def refresh_posts(ctx: JobContext, now: datetime | None = None) -> PacerRun:
    """Edit the out-of-date posts that may be edited now (one per chat)."""
    now = now or utcnow()
    run = PacerRun()
    async with ctx.session_pool() as session:
        chats = await meeting_posts.dirty_chats(session, now=now)
    for chat_id in chats:
        async with ctx.session_pool() as session:
            claim = await meeting_posts.claim_edit(session, chat_id, now=now)
            await session.commit()
        if claim is not None:
            await _edit(ctx, claim, now, run)
    if run.dropped or run.held_back or run.failed:
        logger.info("meeting posts: %s", run)
    return run


async def _edit(ctx: JobContext, claim: meeting_posts.Claim, now: datetime, run: PacerRun) -> None:
    async with ctx.session_pool() as session:
        shot = await meeting_posts.snapshot(session, claim.meeting_id, claim.chat_id)
        if shot is None:
            await session.commit()
            return
        locale = resolve_locale(
            claim.language,
            None,
            available=ctx.i18n.available_locales,
            default=ctx.settings.default_locale,
        )
        with ctx.i18n.context(), ctx.i18n.use_locale(locale):
            text, keyboard = post_view(shot.meeting, shot.counts, ctx.settings.zone)
        # Nothing held open while Telegram answers.
        await session.commit()
        try:
            # A 429 holds this chat back (below) rather than the whole run; passing server
            # and network errors are retried by the request middleware.
            with retries(Retries.TRANSIENT):
                result = await ctx.bot.edit_message_text(
                    text, chat_id=claim.chat_id, message_id=claim.message_id, reply_markup=keyboard
                )
        except TelegramRetryAfter as exc:
            run.held_back += 1
            until = now + timedelta(seconds=exc.retry_after)
            await meeting_posts.hold_back(session, claim.chat_id, until)
            await session.commit()
            return
        except TelegramBadRequest as exc:
            if any(reason in exc.message.lower() for reason in GONE):
                await _drop(session, claim, exc, run)
                return
            run.failed += 1
            logger.warning("post of meeting=%s not edited: %s", claim.meeting_id, exc.message)
            return
        except TelegramForbiddenError as exc:
            await _drop(session, claim, exc, run)
            return
        except TelegramAPIError as exc:
            # Network trouble or a server error: still out of date, tried again next run.
            run.failed += 1
            logger.warning("post of meeting=%s not edited: %s", claim.meeting_id, exc)
            return
        else:
            if unchanged(result):
                run.unchanged += 1
            else:
                run.edited += 1
        await meeting_posts.mark_shown(session, claim.meeting_id, claim.chat_id, shot.revision)
        await session.commit()


async def _drop(
    session: AsyncSession, claim: meeting_posts.Claim, exc: Exception, run: PacerRun
) -> None:
    run.dropped += 1
    logger.info(
        "post of meeting=%s in chat=%s is gone, forgotten: %s",
        claim.meeting_id,
        claim.chat_id,
        exc,
    )
    await meeting_posts.drop_post(session, claim.meeting_id, claim.chat_id)
    await session.commit()
