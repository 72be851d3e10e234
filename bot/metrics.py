"""The bot's Prometheus metrics (/metrics, when METRICS_ENABLED), in a registry per Application.

The parts of the bot that count take an optional `Metrics` and call one method of it; without
one (metrics off, or a test building the part alone) they count nothing. Labels are kinds, never
people: update types, outcomes, Bot API method names, job ids (digits replaced, see
bot.scheduler.job_label), so no member's id, chat or name can end up in a series.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.db.availability import describe_unavailable, is_database_unavailable
from bot.services.flood import FloodGate

logger = logging.getLogger(__name__)

PREFIX = "mitmachbot"
# The outbox gauge costs one COUNT query; scrapes closer together than this share it.
PENDING_TTL = 5.0
# Handling an update takes milliseconds; one waiting for the database up to DB_RETRY_SECONDS.
UPDATE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# Jobs start within milliseconds of their time; a busy loop or downtime makes seconds to hours.
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)


class _GateCollector(Collector):
    """The FloodGate's count of 429 answers, read at scrape time."""

    def __init__(self, gate: FloodGate) -> None:
        self.gate = gate

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            f"{PREFIX}_telegram_rate_limited",
            "429 Too Many Requests answers from Telegram (each pauses all sending)",
            value=self.gate.pauses,
        )


class Metrics:
    """Counters, histograms and gauges of one running bot, and their text exposition."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """An empty registry of its own: tests build many applications in one process."""
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        self._pending_at: float | None = None
        registry = self.registry
        self.updates = Counter(
            f"{PREFIX}_updates",
            "Updates handled, by type and outcome (ok, error, duplicate, dropped, unhandled)",
            ["type", "outcome"],
            registry=registry,
        )
        self.update_seconds = Histogram(
            f"{PREFIX}_update_duration_seconds",
            "Time from an update's arrival in the dispatcher to its handler's end, by type",
            ["type"],
            buckets=UPDATE_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            f"{PREFIX}_outbox_deliveries",
            "Outbox messages finished, by outcome (sent, failed, unreachable, cancelled, retry)",
            ["outcome"],
            registry=registry,
        )
        self.outbox_pending = Gauge(
            f"{PREFIX}_outbox_pending",
            "Outbox messages still to be sent (counted at scrape time, a few seconds old at most)",
            registry=registry,
        )
        self.request_retries = Counter(
            f"{PREFIX}_telegram_request_retries",
            "Bot API requests made again, by method and reason (rate_limited, error)",
            ["method", "reason"],
            registry=registry,
        )
        self.database_retries = Counter(
            f"{PREFIX}_database_retries",
            "Attempts at an update repeated because the database was unavailable",
            registry=registry,
        )
        self.database_give_ups = Counter(
            f"{PREFIX}_database_give_ups",
            "Updates given up (the member got the apology) because the database stayed away",
            registry=registry,
        )
        self.job_runs = Counter(
            f"{PREFIX}_scheduler_job_runs",
            "Scheduled job runs, by job and outcome (ok, error, missed)",
            ["job", "outcome"],
            registry=registry,
        )
        self.job_lateness = Histogram(
            f"{PREFIX}_scheduler_job_lateness_seconds",
            "How long after its scheduled time the scheduler took up a job run (missed ones too)",
            ["job"],
            buckets=LATENESS_BUCKETS,
            registry=registry,
        )

    def watch_gate(self, gate: FloodGate) -> None:
        """Expose the 429 count of the FloodGate shared by all senders."""
        self.registry.register(_GateCollector(gate))

    # --- what the hooks call --------------------------------------------------------------------

    def update_done(self, event_type: str, outcome: str, seconds: float) -> None:
        """One update handled (bot.middlewares.logging)."""
        self.updates.labels(event_type, outcome).inc()
        self.update_seconds.labels(event_type).observe(seconds)

    def deliveries_done(self, outcome: str, count: int = 1) -> None:
        """`count` outbox messages finished with `outcome` (bot.outbox.worker)."""
        if count:
            self.deliveries.labels(outcome).inc(count)

    def request_retried(self, method: str, reason: str) -> None:
        """A Bot API request is made again (bot.middlewares.request)."""
        self.request_retries.labels(method, reason).inc()

    def job_ran(self, job: str, outcome: str) -> None:
        """A scheduled job ran (or missed its time) (bot.scheduler)."""
        self.job_runs.labels(job, outcome).inc()

    def job_started_late(self, job: str, seconds: float) -> None:
        """A scheduled job started `seconds` after its time (bot.scheduler)."""
        self.job_lateness.labels(job).observe(max(0.0, seconds))

    # --- scraping -------------------------------------------------------------------------------

    async def refresh_pending(self, count: Callable[[], Awaitable[int]]) -> None:
        """Set the outbox gauge from `count` (one query), unless it was set moments ago.

        With the database away the gauge keeps its last value; the other metrics still answer.
        """
        now = self._clock()
        if self._pending_at is not None and now - self._pending_at < PENDING_TTL:
            return
        try:
            self.outbox_pending.set(await count())
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            logger.warning("metrics: outbox not counted: %s", describe_unavailable(exc))
            return
        self._pending_at = now

    def exposition(self) -> bytes:
        """Everything in Prometheus' text format."""
        return generate_latest(self.registry)
