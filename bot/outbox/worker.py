"""The delivery worker: sends what the outbox holds, paced to Telegram's limits.

One worker per process. It claims a batch of due rows (about half a second's worth at the
configured rate), looks up the recipients and their opt-outs for the whole batch at once, skips
who can't or doesn't want to get the message, renders the rest in each recipient's language, and
sends them with a bounded number of requests in flight, each one admitted by the pacer. Outcomes
(bot.services.pacing decides: sent, retry later, Telegram's retry_after, blocked, failed) are
written in small bulk updates at least every half second, so a crash repeats at most the messages
that were in flight or not yet recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import JobContext
from bot.db.availability import describe_unavailable, is_database_unavailable
from bot.outbox.rendering import Rendered, Renderer, set_zone
from bot.outbox.run import Job, Run, instance_name
from bot.outbox.sending import attempt
from bot.services import delivery, pauses
from bot.services.locales import member_locale
from bot.services.members import members_by_id, set_reachable
from bot.services.pacing import Decision, Outcome, Pacer, RetryPolicy, classify
from bot.services.preferences import opted_out_by_category
from bot.services.send_bucket import STALE_SECONDS, SendBucket
from models import Delivery, DeliveryStatus, Member
from models.base import utcnow

if TYPE_CHECKING:
    from bot.metrics import Metrics

logger = logging.getLogger(__name__)


IDLE_POLL = timedelta(seconds=5)
ERROR_PAUSE = 2.0
RECLAIM_EVERY = timedelta(seconds=30)
# A batch holds about this long's worth of messages at the configured rate: big enough that the
# database work per message is small, small enough that few rows sit claimed but unsent.
BATCH_SECONDS = 0.5
MIN_BATCH = 50
# Outcomes are written when this many have gathered or this many seconds passed, whichever is
# first: a crash repeats at most those (and the requests in flight).
FLUSH_EVERY = 50
FLUSH_SECONDS = 0.5
# Requests in flight: enough to keep the rate up when Telegram takes ~100 ms to answer.
MIN_IN_FLIGHT = 4
IN_FLIGHT_PER_RATE = 0.1
# Waits shorter than this are plain sleeps; longer ones end early when the worker stops.
_SHORT_WAIT = 0.05
# A row whose renderer hits a database error (not an outage) is tried this often in all, with
# the retry policy's backoff between, then failed with the reason: it must not hold up the rest.
MAX_RENDER_ATTEMPTS = 3

WITHDRAWN = "withdrawn"
UNREACHABLE = "unreachable"
OPTED_OUT = "opted out"

# How a finished message is counted in the metrics (bot.metrics), by Outcome or, for what was
# never tried, DeliveryStatus: both are str enums with these values.
_METRIC_OUTCOMES: dict[str, str] = {
    "sent": "sent",
    "retry": "retry",
    "blocked": "unreachable",
    "failed": "failed",
    "cancelled": "cancelled",
}


class _RenderDatabaseError(Exception):
    """A renderer's database error: the batch's transaction is gone, this row is set aside."""

    def __init__(self, row: Delivery, error: SQLAlchemyError) -> None:
        super().__init__(f"rendering delivery {row.id} failed")
        self.row = row
        self.error = error


class DeliveryWorker:
    """Claims and sends outbox rows until stopped."""

    def __init__(
        self,
        ctx: JobContext,
        pacer: Pacer,
        renderers: Mapping[str, Renderer],
        *,
        instance: str | None = None,
        batch_size: int | None = None,
        in_flight: int | None = None,
        lease: timedelta | None = None,
        policy: RetryPolicy | None = None,
        metrics: Metrics | None = None,
        bucket: SendBucket | None = None,
    ) -> None:
        """Without batch_size and in_flight, both follow the pacer's global rate; `metrics`
        counts the finished messages by outcome; `bucket` is the send rate shared with the
        other instances (Redis), on top of the pacer's own limits."""
        self._ctx = ctx
        self._metrics = metrics
        self._pacer = pacer
        self._renderers = renderers
        self.instance = instance or instance_name()
        rate = pacer.limits.global_per_second
        self._batch_size = batch_size or max(MIN_BATCH, round(rate * BATCH_SECONDS))
        self._in_flight = in_flight or max(MIN_IN_FLIGHT, round(rate * IN_FLIGHT_PER_RATE))
        self._lease = lease or timedelta(seconds=ctx.settings.delivery_lease_seconds)
        # Take back rows of vanished senders soon after their lease ran out.
        self._reclaim_every = min(RECLAIM_EVERY, self._lease / 2)
        self._policy = policy or RetryPolicy()
        self._bucket = bucket
        # The shared bucket's slot this worker holds and has not used yet (local clock).
        self._slot: float | None = None
        self._wake = asyncio.Event()
        # Set when a batch's sender loop should look again (a send ended, stop was asked).
        self._changed = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._last_reclaim: float | None = None

    def start(self) -> None:
        """Run the loop in the background."""
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="delivery-worker")

    def wake(self) -> None:
        """New rows were enqueued: look now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Finish the sends in flight, then stop; claimed rows not sent go back to PENDING."""
        self._stopping = True
        self._wake.set()
        self._changed.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._bucket is not None:
            await self._bucket.close()

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim, prepare and send one batch due at `now`; returns how many rows were handled.

        Tests call it with a fixed clock; the loop sends batch after batch without a gap.
        """
        return await self._send_due(now or utcnow(), more=False)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._reclaim_if_due()
                if await self._send_due(utcnow(), more=True):
                    continue
                await self._idle()
            except Exception as exc:
                # The loop must survive a database hiccup; the rows stay in the outbox. The
                # pause keeps a lasting fault from spinning (the rows are due at once again).
                if is_database_unavailable(exc):
                    # An outage repeats every pause: one line each, not a traceback.
                    logger.warning(
                        "delivery loop waits for the database: %s", describe_unavailable(exc)
                    )
                else:
                    logger.exception("delivery loop failed; retrying shortly")
                if not self._stopping:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=ERROR_PAUSE)

    async def _reclaim_if_due(self) -> None:
        if self._last_reclaim is not None and time.monotonic() - self._last_reclaim < (
            self._reclaim_every.total_seconds()
        ):
            return
        self._last_reclaim = time.monotonic()
        async with self._ctx.session_pool() as session:
            if await delivery.reclaim_expired(session, now=utcnow(), lease=self._lease):
                logger.warning("took back deliveries whose sender stopped")
            await session.commit()

    async def _idle(self) -> None:
        # Cleared before looking, so a wake() or stop() meanwhile is not lost.
        self._wake.clear()
        async with self._ctx.session_pool() as session:
            due = await delivery.next_due(session)
        wait = min(IDLE_POLL, self._reclaim_every).total_seconds()
        if due is not None:
            wait = min(wait, max(0.0, (due - utcnow()).total_seconds()))
        if not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _release(self, delivery_ids: Collection[int]) -> None:
        """Put claimed rows back to PENDING as they were, for this or another instance."""
        if not delivery_ids:
            return
        async with self._ctx.session_pool() as session:
            await delivery.release(session, list(delivery_ids), instance=self.instance)
            await session.commit()

    # --- claiming and preparing ---------------------------------------------------------------

    async def _send_due(self, now: datetime, *, more: bool) -> int:
        """Send a batch due at `now`; with `more`, claim the next ones as each runs low.

        Returns how many rows were claimed (0: nothing was due).
        """
        run = Run(claimed_at=now, started=time.monotonic())
        if not await self._claim_into(run, now):
            return 0
        await self._send(run, more=more)
        return run.claimed

    async def _claim_into(self, run: Run, now: datetime) -> int:
        """Claim a batch, record what is not to be sent, queue the rest; returns rows claimed."""
        async with self._ctx.session_pool() as session:
            rows = await delivery.claim_due(
                session, now=now, limit=self._batch_size, instance=self.instance
            )
        if not rows:
            return 0
        try:
            jobs = await self._prepare_setting_aside(rows, first_seq=run.next_seq)
        except BaseException:
            # Nothing of the preparation was committed: the whole batch is still to be sent.
            with contextlib.suppress(Exception):
                await self._release([row.id for row in rows])
            raise
        run.claimed += len(rows)
        run.next_seq += len(rows)
        for job in jobs:
            heapq.heappush(run.ready, job)
        return len(rows)

    async def _prepare_setting_aside(self, rows: list[Delivery], *, first_seq: int) -> list[Job]:
        """`_prepare`; a row whose renderer hit a database error is set aside (retried later,
        in the end failed) and the rest of the batch prepared again without it."""
        remaining = rows
        while True:
            try:
                return await self._prepare(remaining, first_seq=first_seq)
            except _RenderDatabaseError as failure:
                await self._set_aside(failure)
                remaining = [row for row in remaining if row.id != failure.row.id]

    async def _set_aside(self, failure: _RenderDatabaseError) -> None:
        """Give the row back with backoff, or fail it after MAX_RENDER_ATTEMPTS, with its reason."""
        row = failure.row
        attempts = row.attempts + 1
        reason = f"rendering failed: {type(failure.error).__name__}"
        final = attempts >= MAX_RENDER_ATTEMPTS
        # The exception's text holds SQL and maybe a member's data: the log gets the class only.
        logger.warning(
            "delivery %s (%s) %s (attempt %d of %d)%s",
            row.id,
            row.kind,
            reason,
            attempts,
            MAX_RENDER_ATTEMPTS,
            "; failed" if final else "; tried again later",
        )
        async with self._ctx.session_pool() as session:
            if final:
                await delivery.mark_result(
                    session, row.id, status=DeliveryStatus.FAILED, reason=reason
                )
            else:
                retry_at = utcnow() + timedelta(seconds=self._policy.backoff(attempts))
                await delivery.mark_result(
                    session,
                    row.id,
                    status=DeliveryStatus.PENDING,
                    reason=reason,
                    retry_at=retry_at,
                )
            await session.commit()
        if final and self._metrics is not None:
            self._metrics.deliveries_done(_METRIC_OUTCOMES[DeliveryStatus.FAILED])

    async def _prepare(self, rows: list[Delivery], *, first_seq: int) -> list[Job]:
        """Skip, withdraw or render every row of the batch, in one transaction.

        Returns what is to be sent; everything else is recorded (and committed) here, without
        using a pacing token.
        """
        skipped: dict[tuple[DeliveryStatus, str], list[int]] = defaultdict(list)
        jobs: list[Job] = []
        now = utcnow()
        i18n = self._ctx.i18n
        async with self._ctx.session_pool() as session:
            set_zone(session, self._ctx.settings.zone)
            members = await members_by_id(session, {row.recipient_id for row in rows})
            opted_out = await opted_out_by_category(
                session, [(row.category, row.recipient_id) for row in rows if row.category]
            )
            with i18n.context():
                for seq, row in enumerate(rows, start=first_seq):
                    chat = row.recipient_id
                    member = members.get(chat)
                    if member is not None and not member.reachable:
                        skipped[DeliveryStatus.BLOCKED, UNREACHABLE].append(row.id)
                        continue
                    if row.category and chat in opted_out.get(row.category, ()):
                        skipped[DeliveryStatus.CANCELLED, OPTED_OUT].append(row.id)
                        continue
                    # "Pause bis ...": recorded as cancelled for that reason, not sent later. As of
                    # sending, never before the row's own time (the tests' clock runs ahead).
                    if pauses.holds_back(member, row.kind, max(now, row.due_at)):
                        skipped[DeliveryStatus.CANCELLED, pauses.PAUSED].append(row.id)
                        continue
                    renderer = self._renderers.get(row.kind)
                    if renderer is None:
                        reason = f"no renderer for {row.kind!r}"
                        logger.info("delivery %s failed: %s", row.id, reason)
                        skipped[DeliveryStatus.FAILED, reason].append(row.id)
                        continue
                    locale = member_locale(
                        member,
                        available=i18n.available_locales,
                        default=self._ctx.settings.default_locale,
                    )
                    with i18n.use_locale(locale):
                        rendered = await self._render(renderer, session, row, member)
                    if isinstance(rendered, Decision):
                        skipped[DeliveryStatus.FAILED, rendered.reason].append(row.id)
                    elif rendered is None:
                        skipped[DeliveryStatus.CANCELLED, WITHDRAWN].append(row.id)
                    else:
                        jobs.append(Job(seq, chat, row, rendered, row.attempts))
            for (status, reason), ids in skipped.items():
                await delivery.mark_many(session, ids, status=status, reason=reason)
            await session.commit()
        if self._metrics is not None:
            for (status, _reason), ids in skipped.items():
                self._metrics.deliveries_done(_METRIC_OUTCOMES[status], len(ids))
        return jobs

    @staticmethod
    async def _render(
        renderer: Renderer, session: AsyncSession, row: Delivery, member: Member | None
    ) -> Rendered | Decision:
        try:
            return await renderer(session, row, member)
        except SQLAlchemyError as exc:
            if is_database_unavailable(exc):
                raise  # an outage: the batch is retried as a whole once the database is back
            # The batch's transaction is gone: this row is set aside, the rest prepared again.
            raise _RenderDatabaseError(row, exc) from exc
        except Exception as exc:
            # A renderer's bug must not hold up the rest of the batch, nor come back forever.
            logger.exception("rendering delivery %s (%s) failed", row.id, row.kind)
            return Decision(Outcome.FAILED, reason=f"rendering failed: {type(exc).__name__}")

    async def _refill(self, run: Run) -> None:
        """Claim the next batch while the current one is still being sent."""
        try:
            await self._reclaim_if_due()
            if not await self._claim_into(run, utcnow()):
                run.exhausted = True
        except Exception:
            # This run finishes what it holds; the loop tries again after it.
            logger.exception("claiming the next deliveries failed")
            run.exhausted = True
        finally:
            run.refill = None
            self._changed.set()

    # --- sending -------------------------------------------------------------------------------

    async def _send(self, run: Run, *, more: bool) -> None:
        """Send every job when the pacer allows, a bounded number at once; record outcomes."""
        flusher = asyncio.create_task(self._flush_loop(run), name="delivery-flush")
        run.exhausted = not more
        try:
            await self._dispatch(run)
        finally:
            # Sends in flight finish (a 429 puts its job back among the unsent), as does a
            # claim under way, so that whatever it claimed is released below.
            pending = [*run.in_flight, *([run.refill] if run.refill else [])]
            if pending:
                await asyncio.wait(pending)
            run.done = True
            self._flush_now.set()
            await flusher
            await self._flush(run)  # whatever the flusher could not write, or raise
            # After a stop (or an error): whatever was not sent goes back to PENDING.
            unsent = [job.row.id for job in run.unsent()]
            run.ready.clear()
            run.waiting.clear()
            await self._release(unsent)

    async def _dispatch(self, run: Run) -> None:
        pacer = self._pacer
        # Claim the next batch while this much is left: the claim overlaps with sending.
        low_water = self._batch_size // 2
        while not self._stopping and (
            run.ready or run.waiting or run.in_flight or run.refill is not None
        ):
            self._changed.clear()
            now = time.monotonic()
            while run.waiting and run.waiting[0][0] <= now:
                heapq.heappush(run.ready, heapq.heappop(run.waiting)[1])
            if (
                not run.exhausted
                and run.refill is None
                and len(run.ready) < low_water
                and len(run.ready) + len(run.waiting) < self._batch_size
            ):
                run.refill = asyncio.create_task(self._refill(run), name="delivery-claim")
            if not run.ready:
                # Nothing allowed now: wait for the first waiting chat, a send or a claim.
                until = run.waiting[0][0] - now if run.waiting else IDLE_POLL.total_seconds()
                await self._wait_changed(until)
                continue
            if len(run.in_flight) >= self._in_flight:
                await asyncio.wait(list(run.in_flight), return_when=asyncio.FIRST_COMPLETED)
                continue
            job = run.ready[0]
            if job.chat in run.blocked:
                heapq.heappop(run.ready)
                self._add_outcome(run, job, Decision(Outcome.BLOCKED, reason=UNREACHABLE))
                continue
            if (chat_wait := pacer.chat_delay(job.chat)) > 0:
                # This chat must wait (1/s private, 20/min group); others may go meanwhile.
                heapq.heappop(run.ready)
                heapq.heappush(run.waiting, (now + chat_wait, job))
                continue
            if (wait := pacer.global_delay()) > 0:
                await self._wait_changed(wait)
                continue
            if self._bucket is not None and (wait := await self._slot_wait(now)) is not None:
                if wait > 0:
                    await self._wait_changed(wait)
                continue
            # This loop sleeps for every token, and a busy event loop wakes it late: catch up.
            # _deliver tells the pacer when Telegram answered. (Both delays were just 0, so
            # this is granted; asking again is only the pacer's own bookkeeping.)
            if pacer.acquire(job.chat, catch_up=True, until_answered=True) > 0:
                continue
            self._slot = None
            heapq.heappop(run.ready)
            task = asyncio.create_task(self._deliver(run, job))
            run.in_flight[task] = job

    async def _slot_wait(self, now: float) -> float | None:
        """The rate all instances share: None when this worker's slot of it is due, else how
        long to wait for it (0.0: look again, the world moved on while Redis answered)."""
        assert self._bucket is not None
        if self._slot is not None and self._slot < now - STALE_SECONDS:
            self._slot = None  # held over from an earlier run: using it late would burst
        if self._slot is None:
            self._slot = await self._bucket.next_slot()
            return 0.0
        wait = self._slot - time.monotonic()
        return wait if wait > 0 else None

    async def _wait_changed(self, seconds: float) -> None:
        if seconds < _SHORT_WAIT:
            # The pacer's spacing (1 ms at 1000/s): a plain sleep is cheapest and precise enough.
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=seconds)

    async def _deliver(self, run: Run, job: Job) -> None:
        try:
            job.attempts += 1
            try:
                decision = await attempt(
                    self._ctx.bot,
                    job.row.recipient_id,
                    job.rendered,
                    attempts=job.attempts,
                    paid=self._ctx.settings.paid_broadcast,
                    policy=self._policy,
                )
            except Exception as exc:
                logger.exception("sending delivery %s failed unexpectedly", job.row.id)
                decision = classify(
                    status=None,
                    description=type(exc).__name__,
                    attempts=job.attempts,
                    policy=self._policy,
                )
            finally:
                self._pacer.answered()
            if decision.outcome is Outcome.RETRY_AFTER:
                # Telegram says exactly when: everybody waits, then the same message again.
                self._pacer.pause(decision.delay)
                job.attempts -= 1
                heapq.heappush(run.ready, job)
                return
            if decision.outcome is Outcome.BLOCKED:
                run.blocked.add(job.chat)
            self._add_outcome(run, job, decision)
        finally:
            run.in_flight.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            self._changed.set()

    # --- recording outcomes --------------------------------------------------------------------

    def _add_outcome(self, run: Run, job: Job, decision: Decision) -> None:
        run.outcomes.append((job.row, decision))
        if len(run.outcomes) >= FLUSH_EVERY:
            self._flush_now.set()

    async def _flush_loop(self, run: Run) -> None:
        """Write outcomes every FLUSH_SECONDS or FLUSH_EVERY results; renew long-held claims."""
        renew_every = self._lease.total_seconds() / 3
        while not run.done:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), timeout=FLUSH_SECONDS)
            self._flush_now.clear()
            try:
                await self._flush(run)
                elapsed = time.monotonic() - run.started
                if not run.done and elapsed - run.renewed >= renew_every:
                    await self._renew(run, elapsed)
            except Exception:
                # The outcomes stay in the run; the next flush (or the last) writes them.
                logger.exception("recording delivery outcomes failed; trying again")

    async def _renew(self, run: Run, elapsed: float) -> None:
        # The claim's clock is the run's (tests run batches at a fixed `now`).
        now = run.claimed_at + timedelta(seconds=elapsed)
        async with self._ctx.session_pool() as session:
            await delivery.renew_claims(session, run.held_ids(), instance=self.instance, now=now)
            await session.commit()
        run.renewed = elapsed

    async def _flush(self, run: Run) -> None:
        outcomes, run.outcomes = run.outcomes, []
        if not outcomes:
            return
        try:
            await self._record(outcomes)
        except BaseException:
            run.outcomes[:0] = outcomes
            raise

    async def _record(self, outcomes: list[tuple[Delivery, Decision]]) -> None:
        now = utcnow()
        sent = [row.id for row, decision in outcomes if decision.outcome is Outcome.SENT]
        async with self._ctx.session_pool() as session:
            # sent_at is when the outcome was written, at most FLUSH_SECONDS after the send.
            await delivery.mark_sent(session, sent, now=now)
            for row, decision in outcomes:
                if decision.outcome is Outcome.SENT:
                    continue
                if decision.outcome is Outcome.RETRY:
                    await delivery.mark_result(
                        session,
                        row.id,
                        status=DeliveryStatus.PENDING,
                        reason=decision.reason,
                        retry_at=now + timedelta(seconds=decision.delay),
                    )
                elif decision.outcome is Outcome.BLOCKED:
                    # UNREACHABLE: a later row of a chat that answered 403 in this run, not tried.
                    tried = decision.reason != UNREACHABLE
                    await delivery.mark_result(
                        session,
                        row.id,
                        status=DeliveryStatus.BLOCKED,
                        reason=decision.reason,
                        count_attempt=tried,
                    )
                    if tried:
                        await set_reachable(session, row.recipient_id, reachable=False)
                else:
                    await delivery.mark_result(
                        session, row.id, status=DeliveryStatus.FAILED, reason=decision.reason
                    )
                    logger.info(
                        "delivery %s to chat %s failed: %s",
                        row.id,
                        row.recipient_id,
                        decision.reason,
                    )
            await session.commit()
        if self._metrics is not None:
            for _row, decision in outcomes:
                self._metrics.deliveries_done(_METRIC_OUTCOMES[decision.outcome])
