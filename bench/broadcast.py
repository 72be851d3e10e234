"""Delivery engine throughput against the fake Bot API with Telegram's limits switched on.

    .venv/bin/python -m bench.broadcast                      # SQLite, 10,000 recipients
    .venv/bin/python -m bench.broadcast --database postgresql+asyncpg://postgres@127.0.0.1/test

Figures: sustained rate as a ratio of the configured limit (25/s), limit breaches seen by the
server's timeline, 429s received; then the paid mode (1000/s): achieved rate and CPU time per
message; peak RSS of the process (bot and fake server share it).

The worker runs its own loop as in the bot (batches and requests in flight sized from the rate),
from start() until stop() has recorded the last outcome. Both the bot and the fake server run in
this one process and share its CPU: at 1000/s the fake server takes about a third of it, and its
ever-growing record of requests makes Python's full garbage collections pause the process
(~0.3 s each, a few per 10,000 messages), which a running bot does not see.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import time

from sqlalchemy import func, select

from bench.updates import _database
from bot.app import build_application
from bot.outbox.worker import DeliveryWorker
from bot.services.delivery import enqueue
from bot.services.pacing import Pacer, PacingLimits
from bot.settings import Settings
from models import Delivery, DeliveryStatus
from models.base import utcnow
from tests.fakebotapi import FakeBotAPI


async def _run(url: str, *, recipients: int, rate: float, paid: bool) -> dict[str, float]:
    async with FakeBotAPI() as server:
        server.enforce_limits()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=server.token,
            telegram_api_url=server.api_url,
            database_url=url,
            log_level="WARNING",
            paid_broadcast=paid,
            send_rate=rate,
        )
        app = await build_application(settings, migrate=False)
        try:
            people = [server.add_user(first_name=f"M{i}") for i in range(recipients)]

            async def render(_s: object, row: Delivery, _m: object) -> tuple[str, None]:
                return f"Rundschreiben {row.id}", None

            # Sized as in production: batches and requests in flight follow the rate.
            worker = DeliveryWorker(
                app.job_context(),
                Pacer(PacingLimits(global_per_second=rate, paid=paid)),
                renderers={"bench": render},
            )
            async with app.session_pool() as session:
                enqueue(session, [p.id for p in people], kind="bench", payload={}, due_at=utcnow())
                await session.commit()
            cpu = time.process_time()
            started = time.perf_counter()
            # The worker's own loop, as the running bot has it; stop() records the last ones.
            worker.start()
            deadline = started + recipients / rate * 3 + 30
            # Polled, not awaited with server.wait_until: that would wake on every request.
            while len(server.send_timeline) < recipients:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"only {len(server.send_timeline)} of {recipients} sent")
                await asyncio.sleep(0.01)
            await worker.stop()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            async with app.session_pool() as session:
                sent = await session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.status == DeliveryStatus.SENT)
                )
                await session.execute(Delivery.__table__.delete())
                await session.commit()
            rejected = sum(1 for r in server.requests if r.status == 429)
            return {
                "sent": float(sent or 0),
                "rate": (sent or 0) / elapsed,
                "cpu_ms": cpu / max(1, sent or 0) * 1000,
                "breaches": float(len(server.limit_breaches())),
                "429s": float(rejected),
            }
        finally:
            await app.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--paid-recipients", type=int, default=10_000)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    backend = "PostgreSQL" if args.database else "SQLite"
    async with _database(args.database) as url:
        limited = await _run(url, recipients=args.recipients, rate=25.0, paid=False)
        paid = await _run(url, recipients=args.paid_recipients, rate=1000.0, paid=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"broadcast on {backend}")
    print(
        f"  25/s limit   {limited['sent']:7.0f} sent  {limited['rate']:7.2f}/s  "
        f"ratio {limited['rate'] / 25:.3f} (target >= 0.95)  "
        f"breaches {limited['breaches']:.0f}  429s {limited['429s']:.0f}"
    )
    print(
        f"  paid 1000/s  {paid['sent']:7.0f} sent  {paid['rate']:7.1f}/s  (target >= 900)  "
        f"CPU {paid['cpu_ms']:.2f} ms/message  breaches {paid['breaches']:.0f}  "
        f"429s {paid['429s']:.0f}"
    )
    print(f"  peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
