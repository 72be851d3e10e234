"""Full-stack update throughput and reply latency, against a bare aiogram echo bot.

Both bots poll the same local fake Bot API server (tests.fakebotapi) in this process; every
simulated member sends /start once. Mitmachbot's path is the real one: update claim, member
record (an INSERT for each new member), FSM state read, i18n, handler, reply.

    .venv/bin/python -m bench.updates                     # SQLite
    .venv/bin/python -m bench.updates --database postgresql+asyncpg://postgres@127.0.0.1/test

Figures: updates/s when N updates wait at once (throughput), the ratio to the echo bot, and
p50/p99 latency from "update queued" to "reply received" at a fixed offered rate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot import migrations
from bot.app import build_application, run_polling
from bot.db import create_engine
from bot.settings import Settings
from tests.fakebotapi import FakeBotAPI

Runner = Callable[[FakeBotAPI], AsyncIterator[None]]


@asynccontextmanager
async def echo_bot(server: FakeBotAPI) -> AsyncIterator[None]:
    """The baseline: aiogram with one handler and nothing else."""
    bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.api_url)))
    dispatcher = Dispatcher()

    async def echo(message: Message) -> None:
        await message.answer(message.text or "-")

    dispatcher.message.register(echo)
    task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    await server.wait_until(lambda: server.long_polls_waiting > 0, timeout=30)
    try:
        yield
    finally:
        await dispatcher.stop_polling()
        await task
        await bot.session.close()


def mitmachbot(database_url: str) -> Runner:
    """The real application on the given (already migrated) database."""

    @asynccontextmanager
    async def run(server: FakeBotAPI) -> AsyncIterator[None]:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=server.token,
            telegram_api_url=server.api_url,
            database_url=database_url,
            log_level="WARNING",
        )
        app = await build_application(settings, migrate=False)
        task = asyncio.create_task(run_polling(app, handle_signals=False))
        await server.wait_until(lambda: server.long_polls_waiting > 0, timeout=30)
        try:
            yield
        finally:
            await app.dispatcher.stop_polling()
            await task
            await app.close()

    return run


async def _measure(runner: Runner, *, burst: int, rate: float, seconds: float) -> dict[str, float]:
    async with FakeBotAPI() as server, runner(server):
        # Throughput: `burst` members write at once; time until the last reply arrived.
        people = [server.add_user(first_name=f"M{i}", language_code="de") for i in range(burst)]
        started = time.perf_counter()
        for person in people:
            await person.send_message("/start")
        await server.wait_until(
            lambda: all(server.sent_to(p.id) for p in people), timeout=burst / 5 + 30
        )
        throughput = burst / (time.perf_counter() - started)

        # Latency at a fixed offered load, far below the throughput, on fresh members.
        total = int(rate * seconds)
        people = [server.add_user(first_name=f"L{i}", language_code="de") for i in range(total)]
        queued: dict[int, float] = {}
        begin = time.monotonic()
        for index, person in enumerate(people):
            await asyncio.sleep(max(0.0, begin + index / rate - time.monotonic()))
            queued[person.id] = time.monotonic()
            await person.send_message("/start")
        await server.wait_until(lambda: all(server.sent_to(p.id) for p in people), timeout=60)
        latencies = sorted((server.sent_to(p.id)[0].at - queued[p.id]) * 1000 for p in people)
        assert not server.violations, server.violations[:5]
    return {
        "throughput": throughput,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


@asynccontextmanager
async def _database(url: str | None) -> AsyncIterator[str]:
    """A migrated, empty database: a temporary SQLite file, or a scratch PostgreSQL database."""
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            path = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            engine = create_engine(path)
            await migrations.upgrade(engine)
            await engine.dispose()
            yield path
        return
    name = f"mitmachbot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(scratch)
    await migrations.upgrade(engine)
    await engine.dispose()
    try:
        yield scratch
    finally:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000, help="updates queued at once")
    parser.add_argument("--rate", type=float, default=20.0, help="offered load, updates/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the load")
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = {"burst": args.burst, "rate": args.rate, "seconds": args.seconds}

    echo = await _measure(echo_bot, **options)
    async with _database(args.database) as url:
        full = await _measure(mitmachbot(url), **options)
    backend = "PostgreSQL" if args.database else "SQLite"
    print(f"updates: burst {args.burst}, latency at {args.rate:g}/s for {args.seconds:g}s")
    print(
        f"  echo bot      {echo['throughput']:8.1f} updates/s   "
        f"p50 {echo['p50']:6.1f} ms   p99 {echo['p99']:6.1f} ms"
    )
    print(
        f"  mitmachbot    {full['throughput']:8.1f} updates/s   "
        f"p50 {full['p50']:6.1f} ms   p99 {full['p99']:6.1f} ms   ({backend})"
    )
    print(f"  ratio         {full['throughput'] / echo['throughput']:8.2f}  (target >= 0.70)")


if __name__ == "__main__":
    asyncio.run(main())
