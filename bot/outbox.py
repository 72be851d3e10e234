"""The delivery worker: sends what the outbox holds, paced to Telegram's limits.

One worker per process. It claims due rows, waits for the pacer's permission per chat, renders
each message in the recipient's language at sending time, sends it and records the outcome
(bot.services.pacing decides: sent, retry later, Telegram's retry_after, blocked, failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import delivery
from bot.services.locales import member_locale
from bot.services.members import get_member, set_reachable
from bot.services.pacing import Decision, Outcome, Pacer, RetryPolicy, classify, success
from jobs.context import JobContext
from models import Delivery, DeliveryStatus, Member
from models.base import utcnow

logger = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class Copy:
    """Send a copy of an existing message (copyMessage keeps its formatting, photo or file)."""

    from_chat_id: int
    message_id: int
    reply_markup: InlineKeyboardMarkup | None = None


# What a renderer returns: the text and buttons, a message to copy, or None when the message is
# no longer wanted (the member finished the intake meanwhile, the batch was withdrawn...).
Rendered = tuple[str, InlineKeyboardMarkup | None] | Copy | None
Renderer = Callable[[AsyncSession, Delivery, Member | None], Awaitable[Rendered]]

IDLE_POLL = timedelta(seconds=5)
RECLAIM_EVERY = timedelta(seconds=30)


def instance_name() -> str:
    """A name for this process in claimed rows: host, pid and a random part."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class DeliveryWorker:
    """Claims and sends outbox rows until stopped."""

    def __init__(
        self,
        ctx: JobContext,
        pacer: Pacer,
        renderers: Mapping[str, Renderer],
        *,
        instance: str | None = None,
        batch_size: int = 50,
        lease: timedelta = delivery.DEFAULT_LEASE,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._ctx = ctx
        self._pacer = pacer
        self._renderers = renderers
        self.instance = instance or instance_name()
        self._batch_size = batch_size
        self._lease = lease
        self._policy = policy or RetryPolicy()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the loop in the background."""
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="delivery-worker")

    def wake(self) -> None:
        """New rows were enqueued: look now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Finish the message being sent, then stop; claimed rows not sent go back to PENDING."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim and send one batch due at `now`; returns how many rows were handled.

        The loop calls it with the real clock; tests pass a fixed one.
        """
        async with self._ctx.session_pool() as session:
            rows = await delivery.claim_due(
                session, now=now or utcnow(), limit=self._batch_size, instance=self.instance
            )
        for index, row in enumerate(rows):
            if self._stopping:
                await self._release(rows[index:])
                break
            await self._send(row)
        return len(rows)

    async def _run(self) -> None:
        last_reclaim = utcnow() - RECLAIM_EVERY
        while not self._stopping:
            try:
                if utcnow() - last_reclaim >= RECLAIM_EVERY:
                    async with self._ctx.session_pool() as session:
                        if await delivery.reclaim_expired(session, now=utcnow(), lease=self._lease):
                            logger.warning("took back deliveries whose sender stopped")
                        await session.commit()
                    last_reclaim = utcnow()
                if await self.run_once():
                    continue
                await self._idle()
            except Exception:
                # The loop must survive a database hiccup; the rows stay in the outbox.
                logger.exception("delivery loop failed; retrying shortly")
                await self._idle()

    async def _idle(self) -> None:
        async with self._ctx.session_pool() as session:
            due = await delivery.next_due(session)
        wait = IDLE_POLL.total_seconds()
        if due is not None:
            wait = min(wait, max(0.0, (due - utcnow()).total_seconds()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _release(self, rows: list[Delivery]) -> None:
        async with self._ctx.session_pool() as session:
            for row in rows:
                await delivery.mark_result(
                    session,
                    row.id,
                    status=DeliveryStatus.PENDING,
                    reason=row.last_error or "",
                    count_attempt=False,
                )
            await session.commit()

    async def _send(self, row: Delivery) -> None:
        attempts = row.attempts
        while True:
            # The pacer computes exactly how long to wait; no event would come sooner.
            while (delay := self._pacer.acquire(row.recipient_id)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(delay)
            attempts += 1
            decision = await self._attempt(row, attempts)
            if decision.outcome is Outcome.RETRY_AFTER:
                # Telegram says exactly when: everybody waits, then the same message again.
                self._pacer.pause(decision.delay)
                attempts -= 1
                continue
            await self._record(row, decision)
            return

    async def _attempt(self, row: Delivery, attempts: int) -> Decision:
        async with self._ctx.session_pool() as session:
            member = await get_member(session, row.recipient_id)
            renderer = self._renderers.get(row.kind)
            if renderer is None:
                return Decision(Outcome.FAILED, reason=f"no renderer for {row.kind!r}")
            locale = member_locale(
                member,
                available=self._ctx.i18n.available_locales,
                default=self._ctx.settings.default_locale,
            )
            with self._ctx.i18n.context(), self._ctx.i18n.use_locale(locale):
                rendered = await renderer(session, row, member)
            await session.commit()
        if rendered is None:
            return Decision(Outcome.FAILED, reason="withdrawn")
        # Telegram's paid broadcasts lift the global limit to 1000/s (PAID_BROADCAST).
        paid = self._ctx.settings.paid_broadcast or None
        try:
            if isinstance(rendered, Copy):
                await self._ctx.bot.copy_message(
                    row.recipient_id,
                    rendered.from_chat_id,
                    rendered.message_id,
                    reply_markup=rendered.reply_markup,
                    allow_paid_broadcast=paid,
                )
            else:
                text, keyboard = rendered
                await self._ctx.bot.send_message(
                    row.recipient_id, text, reply_markup=keyboard, allow_paid_broadcast=paid
                )
        except TelegramRetryAfter as exc:
            return classify(status=429, retry_after=exc.retry_after, attempts=attempts)
        except TelegramForbiddenError as exc:
            return classify(status=403, description=exc.message, attempts=attempts)
        except (TelegramBadRequest, TelegramNotFound, TelegramUnauthorizedError) as exc:
            status = {TelegramNotFound: 404, TelegramUnauthorizedError: 401}.get(type(exc), 400)
            return classify(status=status, description=exc.message, attempts=attempts)
        except TelegramServerError as exc:
            return classify(
                status=500, description=exc.message, attempts=attempts, policy=self._policy
            )
        except (TelegramNetworkError, TimeoutError, TelegramAPIError) as exc:
            return classify(
                status=None, description=str(exc), attempts=attempts, policy=self._policy
            )
        return success()

    async def _record(self, row: Delivery, decision: Decision) -> None:
        now = utcnow()
        async with self._ctx.session_pool() as session:
            if decision.outcome is Outcome.SENT:
                await delivery.mark_sent(session, [row.id], now=now)
            elif decision.outcome is Outcome.RETRY:
                await delivery.mark_result(
                    session,
                    row.id,
                    status=DeliveryStatus.PENDING,
                    reason=decision.reason,
                    retry_at=now + timedelta(seconds=decision.delay),
                )
            elif decision.outcome is Outcome.BLOCKED:
                await delivery.mark_result(
                    session, row.id, status=DeliveryStatus.BLOCKED, reason=decision.reason
                )
                await set_reachable(session, row.recipient_id, reachable=False)
            else:
                status = (
                    DeliveryStatus.CANCELLED
                    if decision.reason == "withdrawn"
                    else DeliveryStatus.FAILED
                )
                await delivery.mark_result(session, row.id, status=status, reason=decision.reason)
            await session.commit()
        if decision.outcome is Outcome.FAILED and decision.reason != "withdrawn":
            logger.info(
                "delivery %s to chat %s failed: %s", row.id, row.recipient_id, decision.reason
            )
