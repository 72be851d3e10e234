"""Paid and ordinary broadcasts sent by the real `mitmachbot run` process, as a user runs it.

    .venv/bin/python -m bench.broadcast                       # SQLite, 5,000 recipients
    .venv/bin/python -m bench.broadcast --database postgresql+asyncpg://postgres@127.0.0.1/test
    .venv/bin/python -m bench.broadcast --instances 2 --redis redis://127.0.0.1:6379/0

The bench process runs the fake Bot API with Telegram's limits switched on (30/s, 1000/s for
paid broadcasts, 1/s per chat; a send beyond them is answered 429 and delivers nothing), seeds
the database with the recipients (members and one broadcast's outbox rows, copies of an
organiser's message) and starts `mitmachbot run` (polling) in a subprocess. Figures, read from
the fake server's timeline of accepted sends: the achieved rate (first to last send) and its
ratio to the configured limit, limit breaches (sends beyond Telegram's limits that the server's
timeline holds), 429s answered, and the CPU time per message of the bot process (from /proc).

Modes: the ordinary 25/s (SEND_RATE=25), paid (PAID_BROADCAST=true, SEND_RATE=1000), and a bare
aiogram sender in its own process (copyMessage at 1000/s, nothing else) as the yardstick for
paid mode. `--instances 2` starts two bot processes at 25/s each against one fake server and
one database; with `--redis` they share the send bucket (REDIS_URL), without it each paces on
its own and together they overrun the 30/s limit.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.updates import _database
from bot.db.engine import create_engine
from bot.db.session import create_session_pool
from bot.services.broadcasts import BROADCAST_KIND
from models import Broadcast, BroadcastStatus, Category, Delivery, DeliveryStatus, Member
from models.base import utcnow
from tests.fakebotapi import FakeBotAPI, FakeUser

COMMAND = shutil.which("mitmachbot", path=str(Path(sys.executable).parent)) or "mitmachbot"
START_TIMEOUT = 90.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_INSERT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Figures:
    """One contender's run as the fake server saw it."""

    sent: int
    rate: float
    cpu_ms: float
    breaches: int
    rejected: int
    longest_gap_ms: float
    """The longest time between two sends: a stalled event loop shows here."""


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _seed_members(url: str, people: list[FakeUser]) -> None:
    """The recipients as members, in bulk inserts."""
    engine = create_engine(url)
    pool = create_session_pool(engine)
    try:
        async with pool() as session:
            for start in range(0, len(people), _INSERT_CHUNK):
                chunk = people[start : start + _INSERT_CHUNK]
                await session.execute(
                    insert(Member),
                    [{"id": p.id, "first_name": p.first_name, "language": "de"} for p in chunk],
                )
            await session.commit()
    finally:
        await engine.dispose()


async def _seed_broadcast(
    url: str, people: list[FakeUser], organiser: FakeUser, message_id: int
) -> None:
    """One running broadcast and its outbox rows, due now, committed at once."""
    engine = create_engine(url)
    pool = create_session_pool(engine)
    try:
        async with pool() as session:
            broadcast = Broadcast(
                author_id=organiser.id,
                source_chat_id=organiser.id,
                source_message_id=message_id,
                content_type="text",
                summary="Sommerfest",
                category=Category.ANNOUNCEMENTS,
                audience={},
                scheduled_at=utcnow(),
                status=BroadcastStatus.SENDING,
            )
            session.add(broadcast)
            await session.flush()
            payload = {
                "broadcast_id": broadcast.id,
                "from_chat_id": organiser.id,
                "message_id": message_id,
            }
            now = utcnow()
            for start in range(0, len(people), _INSERT_CHUNK):
                chunk = people[start : start + _INSERT_CHUNK]
                await session.execute(
                    insert(Delivery),
                    [
                        {
                            "recipient_id": p.id,
                            "kind": BROADCAST_KIND,
                            "payload": payload,
                            "due_at": now,
                            "category": Category.ANNOUNCEMENTS.value,
                            "status": DeliveryStatus.PENDING,
                            "attempts": 0,
                        }
                        for p in chunk
                    ],
                )
            await session.commit()
    finally:
        await engine.dispose()


@asynccontextmanager
async def _bots(
    server: FakeBotAPI,
    url: str,
    organiser: FakeUser,
    *,
    instances: int,
    rate: float,
    paid: bool,
    redis_url: str | None,
    log_dir: Path,
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Start `mitmachbot run` `instances` times and wait until each polls; stop them after."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOT_TOKEN": server.token,
        "TELEGRAM_API_URL": server.api_url,
        "DATABASE_URL": url,
        "ADMIN_IDS": str(organiser.id),
        "KV_NAME": "KV Benchhausen",
        # Production logs every update at INFO; the outbox logs only what goes wrong.
        "LOG_LEVEL": "INFO",
        "PAID_BROADCAST": "true" if paid else "false",
        "SEND_RATE": f"{rate:g}",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    processes: list[asyncio.subprocess.Process] = []
    try:
        for number in range(instances):
            polls = server.get_updates_calls
            with (log_dir / f"bot{number}.log").open("ab") as log:
                profile = os.environ.get("BENCH_PROFILE")
                command = (
                    [sys.executable, "-m", "cProfile", "-o", profile, "-m", "bot.cli", "run"]
                    if profile
                    else [COMMAND, "run"]
                )
                process = await asyncio.create_subprocess_exec(
                    *command,
                    env={**env, "WEBHOOK_LISTEN": f"127.0.0.1:{_free_port()}"},
                    cwd=log_dir,
                    stdout=log,
                    stderr=log,
                )
            processes.append(process)
            try:
                await server.wait_until(
                    lambda polls=polls: server.get_updates_calls > polls, timeout=START_TIMEOUT
                )
            except AssertionError:
                log_text = (log_dir / f"bot{number}.log").read_text(errors="replace")
                raise RuntimeError(f"the bot did not start polling; its log:\n{log_text}") from None
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_for_sends(server: FakeBotAPI, recipients: set[int], seconds: float) -> None:
    # Polled, not awaited with server.wait_until: that would wake on every request.
    deadline = time.monotonic() + seconds
    seen = got = 0
    while got < len(recipients):
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {got} of {len(recipients)} sent in {seconds:.0f} s")
        await asyncio.sleep(0.05)
        timeline = server.send_timeline
        got += sum(1 for entry in timeline[seen:] if entry[1] in recipients)
        seen = len(timeline)


def _figures(
    server: FakeBotAPI, recipients: set[int], *, since: int, requests_since: int, cpu: float
) -> Figures:
    timeline = [entry for entry in server.send_timeline[since:] if entry[1] in recipients]
    first, last = timeline[0][0], timeline[-1][0]
    # n sends span n - 1 intervals: the rate the sender kept, without start-up or tail.
    rate = (len(timeline) - 1) / (last - first) if last > first else float("nan")
    rejected = sum(
        1
        for request in server.requests[requests_since:]
        if request.status == 429 and request.params.get("chat_id") in recipients
    )
    return Figures(
        sent=len(timeline),
        rate=rate,
        cpu_ms=cpu / max(1, len(timeline)) * 1000,
        breaches=len(server.limit_breaches()),
        rejected=rejected,
        longest_gap_ms=max((b[0] - a[0] for a, b in itertools.pairwise(timeline)), default=0.0)
        * 1000,
    )


async def _run_bot(
    url: str,
    *,
    recipients: int,
    rate: float,
    paid: bool,
    instances: int = 1,
    redis_url: str | None = None,
) -> Figures:
    """One broadcast through `instances` real bot processes against a fresh fake server."""
    async with _database(url) as database, FakeBotAPI() as server:
        organiser = server.add_user(first_name="Orga")
        people = [server.add_user(first_name=f"M{i}") for i in range(recipients)]
        update = await organiser.send_message("Sommerfest am Samstag")
        message_id = int(update["message"]["message_id"])
        await _seed_members(database, people)
        server.enforce_limits()
        ids = {p.id for p in people}
        with tempfile.TemporaryDirectory() as folder:
            async with _bots(
                server,
                database,
                organiser,
                instances=instances,
                rate=rate,
                paid=paid,
                redis_url=redis_url,
                log_dir=Path(folder),
            ) as processes:
                # Queued once the bots run (as a "send now" does), so that their CPU time from
                # here on is the broadcast's: the worker finds the rows at its next look (<= 5 s).
                cpu = sum(_cpu_seconds(p.pid) for p in processes)
                await _seed_broadcast(database, people, organiser, message_id)
                await _wait_for_sends(server, ids, recipients / rate * 3 + 60)
                cpu = sum(_cpu_seconds(p.pid) for p in processes) - cpu
            return _figures(server, ids, since=0, requests_since=0, cpu=cpu)


async def _run_bare(*, recipients: int, rate: float) -> Figures:
    """The yardstick: a bare aiogram sender in its own process, same server, same limits."""
    async with FakeBotAPI() as server:
        organiser = server.add_user(first_name="Orga")
        people = [server.add_user(first_name=f"M{i}") for i in range(recipients)]
        update = await organiser.send_message("Sommerfest am Samstag")
        message_id = int(update["message"]["message_id"])
        server.enforce_limits()
        job = {
            "api_url": server.api_url,
            "token": server.token,
            "chats": [p.id for p in people],
            "from_chat_id": organiser.id,
            "message_id": message_id,
            "rate": rate,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.broadcast",
            "--bare-sender",
            json.dumps(job),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        cpu = float(json.loads(out)["cpu"])
        return _figures(server, {p.id for p in people}, since=0, requests_since=0, cpu=cpu)


async def _bare_sender(job: dict[str, Any]) -> None:
    """What a developer would write: copyMessage on a fixed schedule, nothing stored."""
    from aiogram import Bot  # noqa: PLC0415
    from aiogram.client.session.aiohttp import AiohttpSession  # noqa: PLC0415
    from aiogram.client.telegram import TelegramAPIServer  # noqa: PLC0415
    from aiogram.exceptions import TelegramRetryAfter  # noqa: PLC0415

    session = AiohttpSession(api=TelegramAPIServer.from_base(job["api_url"]))
    bot = Bot(job["token"], session=session)
    interval = 1.0 / float(job["rate"])
    in_flight = asyncio.Semaphore(200)

    async def send(chat: int) -> None:
        try:
            await bot.copy_message(
                chat, job["from_chat_id"], job["message_id"], allow_paid_broadcast=True
            )
        except TelegramRetryAfter:
            pass  # counted by the server
        finally:
            in_flight.release()

    cpu = time.process_time()
    started = time.perf_counter()
    tasks = []
    for number, chat in enumerate(job["chats"]):
        wait = started + number * interval - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        await in_flight.acquire()
        tasks.append(asyncio.create_task(send(chat)))
    await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu
    await session.close()
    print(json.dumps({"cpu": cpu}))


def _line(label: str, figures: Figures, limit: float, extra: str = "") -> str:
    return (
        f"  {label:<13}{figures.sent:7d} sent  {figures.rate:7.1f}/s  "
        f"ratio {figures.rate / limit:.3f}  CPU {figures.cpu_ms:.2f} ms/message  "
        f"breaches {figures.breaches}  429s {figures.rejected}  "
        f"longest gap {figures.longest_gap_ms:.0f} ms{extra}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000, help="for the 25/s mode")
    parser.add_argument("--paid-recipients", type=int, default=5_000)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--instances", type=int, default=1, help="2: two bot processes at 25/s each"
    )
    parser.add_argument("--redis", default=None, help="REDIS_URL for the bots (shared bucket)")
    parser.add_argument(
        "--only", choices=("limited", "paid", "bare"), action="append", help="run only these"
    )
    parser.add_argument("--bare-sender", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_sender is not None:
        await _bare_sender(json.loads(args.bare_sender))
        return
    backend = "PostgreSQL" if args.database else "SQLite"
    only = set(args.only or ("limited", "paid", "bare"))
    print(f"broadcast on {backend}, the real `mitmachbot run` process (load: {_load()})")
    instances = args.instances
    # (mode, line label, recipients, rate, paid, what the line's target says)
    modes = [
        ("limited", "25/s limit", args.recipients, 25.0, False, "  (target ratio >= 0.95)"),
        ("paid", "paid 1000/s", args.paid_recipients, 1000.0, True, "  (target >= 900/s)"),
    ]
    if instances > 1:
        shared = "shared bucket (Redis)" if args.redis else "no Redis: each paces alone"
        modes = [
            ("limited", f"{instances} x 25/s", args.recipients, 25.0, False, f"  total, {shared}")
        ]
        only = {"limited"}
    for mode, label, recipients, rate, paid, target in modes:
        if mode in only:
            figures = await _run_bot(
                args.database,
                recipients=recipients,
                rate=rate,
                paid=paid,
                instances=instances,
                redis_url=args.redis,
            )
            print(_line(label, figures, rate, target), flush=True)
    if "bare" in only and instances == 1:
        bare = await _run_bare(recipients=args.paid_recipients, rate=1000.0)
        print(_line("bare aiogram", bare, 1000.0, "  (yardstick)"), flush=True)
    print(f"  load after: {_load()}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    asyncio.run(main())
