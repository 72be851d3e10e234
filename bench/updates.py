"""Full-stack update throughput, CPU and reply latency, against bare aiogram bots and a peer.

Every bot runs in a process of its own (`python -m bench.updates --serve KIND`, as a user runs a
bot), so no bot's garbage collections scan another's objects, and the CPU a bot's process uses is
its own. The local fake Bot API servers (tests.fakebotapi) run in the measuring process; before
each timed part it collects and freezes its heap, so the requests the servers keep are not
scanned again while a bot is timed. Two workloads, each a simulated member sending /start once:

- first contact: a stranger. Mitmachbot claims the update, INSERTs the member, reads the FSM
  state, greets and asks for consent: two replies.
- known member: someone who agreed and finished the intake, with a profile as members fill it
  in: a Stadtteil, three topics, two activity types, free time, a contact frequency and a group.
  Mitmachbot claims the update, reads the member with roles and profile, reads the FSM state,
  answers with one reply.

Contenders: aiogram with one handler that echoes the text (the old yardstick); aiogram with one
handler that sends, unchanged, the replies Mitmachbot sent for the workload (same HTML, same
keyboard), which isolates what Mitmachbot adds from what the replies cost; and the peer
(bench.peer): what a competent developer writes from a common aiogram-3 template on the same
stack, with a session per update, a `users` row upserted and committed on every update, FSM in
MemoryStorage and the same replies, on a database of the same backend.

Mitmachbot logs as `mitmachbot run` configures it (bot.logs, INFO, text format); the other bots
log as the template does (logging.basicConfig at INFO, aiogram's line per update). Both go to a
file, formatted, so the cost is paid. Each round, every contender takes one burst, and the bot
that starts the round rotates.

    .venv/bin/python -m bench.updates                     # SQLite
    .venv/bin/python -m bench.updates --database postgresql+asyncpg://postgres@127.0.0.1/test

Figures: updates/s when N updates wait at once (throughput, median of rounds), CPU time of the
bot's process per update (median of rounds, from /proc: Linux), p50/p99 latency from "update
queued" to "first reply received" at a fixed offered rate, and Mitmachbot's throughput as a ratio
to the echo bot, to the same-replies bot and to the peer.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from bot.db import migrations
from bot.db.engine import create_engine
from bot.db.session import create_session_pool
from bot.services.kv_setup import apply_setup, load_setup
from models import Member, Profile
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

# Makes the simulated people ready before they write (a known member is stored first).
Prepare = Callable[[Sequence[FakeUser]], Awaitable[None]]

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "de"
KINDS = ("echo", "same", "peer", "mitmachbot")

# The KV the known members belong to: what their profiles point at.
SETUP = """
name: KV Benchhausen
districts: [Mitte, Nord, Süd]
topics: [Umwelt, Bildung, Verkehr, Wohnen]
activity_types: [Infostände, Social Media, Haustürgespräche]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    meets: every Thursday 19:00
"""


@dataclass(frozen=True)
class Reply:
    """One reply as the bot sent it, to be sent again verbatim by the bare bot and the peer."""

    html: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None

    @classmethod
    def of(cls, sent: SentMessage) -> Reply:
        """The reply the fake server recorded."""
        return cls(html=sent.html or "", parse_mode=sent.parse_mode, reply_markup=sent.reply_markup)

    def for_aiogram(self) -> tuple[str, str | None, Any]:
        """(text, parse_mode, reply_markup) as message.answer takes them."""
        from aiogram.types import InlineKeyboardMarkup  # noqa: PLC0415

        markup = self.reply_markup
        return (
            self.html,
            self.parse_mode,
            (InlineKeyboardMarkup.model_validate(markup) if markup else None),
        )


# --- The bots, each in a process of its own -----------------------------------------------------


@dataclass
class DatabaseWork:
    """What a bot's process asked of its database so far, counted inside that process."""

    statements: int = 0
    transactions: int = 0
    pings: int = 0

    def __sub__(self, other: DatabaseWork) -> DatabaseWork:
        return DatabaseWork(
            self.statements - other.statements,
            self.transactions - other.transactions,
            self.pings - other.pings,
        )

    def __add__(self, other: DatabaseWork) -> DatabaseWork:
        return DatabaseWork(
            self.statements + other.statements,
            self.transactions + other.transactions,
            self.pings + other.pings,
        )


def _count_database_work(report_to: Path) -> None:
    """Count statements, transactions and pre-pings of every engine in this (served) process,
    and write the counts to `report_to` on SIGUSR1.

    Engine events at class level see every engine the bot makes, whoever makes it. Statements
    are what reaches the driver's cursor (BEGIN IMMEDIATE on SQLite is sent on the raw
    connection and is not one); a transaction is a BEGIN of SQLAlchemy's connection; a ping is
    the pool's pre-ping on checkout, which has no event and is counted by wrapping the
    dialect's method. Background work of the process (Mitmachbot's outbox and scheduler) is
    counted too: over a burst it is a rounding error, and it is what the database sees.
    """
    from sqlalchemy import event  # noqa: PLC0415
    from sqlalchemy.engine import Engine  # noqa: PLC0415
    from sqlalchemy.engine.default import DefaultDialect  # noqa: PLC0415

    work = DatabaseWork()

    def statement(*_args: Any) -> None:
        work.statements += 1

    def begin(_connection: Any) -> None:
        work.transactions += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "begin", begin)
    ping = DefaultDialect._do_ping_w_event

    def counted_ping(self: DefaultDialect, dbapi_connection: Any) -> bool:
        work.pings += 1
        return ping(self, dbapi_connection)

    DefaultDialect._do_ping_w_event = counted_ping  # type: ignore[method-assign]
    reports = 0

    def report() -> None:
        nonlocal reports
        reports += 1
        scratch = report_to.with_suffix(".tmp")
        scratch.write_text(json.dumps({"report": reports, **asdict(work)}))
        scratch.replace(report_to)  # the bench never reads half a file

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, report)


async def _serve(
    kind: str,
    api_url: str,
    token: str,
    database: str | None,
    replies: str,
    stats: Path | None = None,
) -> None:
    """Run one bot until SIGTERM: the body of `python -m bench.updates --serve KIND`."""
    if stats is not None:
        _count_database_work(stats)
    from aiogram import Bot, Dispatcher  # noqa: PLC0415
    from aiogram.client.session.aiohttp import AiohttpSession  # noqa: PLC0415
    from aiogram.client.telegram import TelegramAPIServer  # noqa: PLC0415
    from aiogram.types import Message  # noqa: PLC0415

    if kind == "mitmachbot":
        from bot.app import build_application, freeze_startup_heap, run_polling  # noqa: PLC0415
        from bot.logs import configure_logging  # noqa: PLC0415
        from bot.settings import Settings  # noqa: PLC0415

        # As `mitmachbot run` does: INFO, one text line per event, to stderr (here a file).
        configure_logging("INFO", "text")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=token,
            telegram_api_url=api_url,
            database_url=database,
            log_level="INFO",
            # No web server (/healthz, /metrics): the bench measures updates.
            webhook_listen="",
        )
        app = await build_application(settings, migrate=False)
        freeze_startup_heap()  # as `mitmachbot run` does before it serves
        try:
            await run_polling(app)
        finally:
            await app.close()
        return

    # The template's logging: aiogram's line per update at INFO.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    answers = [Reply(**entry).for_aiogram() for entry in json.loads(replies or "[]")]
    try:
        if kind == "peer":
            from bench import peer  # noqa: PLC0415

            assert database is not None
            await peer.run(bot, database, answers)
            return
        dispatcher = Dispatcher()
        if kind == "echo":

            async def echo(message: Message) -> None:
                await message.answer(message.text or "-")

            dispatcher.message.register(echo)
        else:

            async def same(message: Message) -> None:
                for html, parse_mode, reply_markup in answers:
                    await message.answer(html, parse_mode=parse_mode, reply_markup=reply_markup)

            dispatcher.message.register(same)
        await dispatcher.start_polling(bot)
    finally:
        await bot.session.close()


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _report(stats: Path) -> dict[str, int]:
    # A small local file, replaced atomically: reading it blocks for microseconds.
    return json.loads(stats.read_text()) if stats.exists() else {"report": 0}


async def _database_work(pid: int, stats: Path) -> DatabaseWork:
    """The counts of the bot process `pid` now (it writes them to `stats` on SIGUSR1)."""
    before = _report(stats)["report"]
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        counts = _report(stats)
        if counts.pop("report") > before:
            return DatabaseWork(**counts)
        await asyncio.sleep(0.01)
    raise RuntimeError(f"bot process {pid} did not report its database work")


@asynccontextmanager
async def _bot_process(
    server: FakeBotAPI,
    kind: str,
    log: Path,
    database: str | None = None,
    replies: Sequence[Reply] = (),
    stats: Path | None = None,
) -> AsyncIterator[int]:
    """Start `kind` polling `server` in a process of its own; yields its pid."""
    command = [sys.executable, "-m", "bench.updates", "--serve", kind]
    # BENCH_PROFILE=file: Mitmachbot's processes run under cProfile (the last one's stats stay).
    if kind == "mitmachbot" and (profile := os.environ.get("BENCH_PROFILE")):
        command[1:1] = ["-m", "cProfile", "-o", profile]
    command += ["--api", server.api_url, "--token", server.token]
    command += ["--replies", json.dumps([asdict(reply) for reply in replies])]
    if database is not None:
        command += ["--database", database]
    if stats is not None:
        command += ["--stats", str(stats)]
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 120
        while server.long_polls_waiting == 0:
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not start polling:\n{_tail(log)}")
            await asyncio.sleep(0.05)
        yield process.pid
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- Measuring, in this process ------------------------------------------------------------------


def _all_answered(server: FakeBotAPI, people: Sequence[FakeUser]) -> Callable[[], bool]:
    """A check that everyone got a reply, amortised O(1) per call.

    The server re-checks on every change; scanning all people each time would make the harness
    cost grow with the number of replies, and bill a bot that sends two for it.
    """
    waiting = deque(people)

    def check() -> bool:
        while waiting and server.sent_to(waiting[0].id):
            waiting.popleft()
        return not waiting

    return check


async def _settle(server: FakeBotAPI) -> None:
    """Wait until the bot has gone quiet: replies after each member's first may still be coming."""
    while True:
        seen = len(server.requests)
        await asyncio.sleep(0.3)
        if len(server.requests) == seen:
            return


async def _send_all(server: FakeBotAPI, people: Sequence[FakeUser], *, within: float) -> None:
    for person in people:
        await person.send_message("/start")
    await server.wait_until(_all_answered(server, people), timeout=within)


def _quiet_heap() -> None:
    """Collect, then freeze what is left (the servers' records): not scanned while timing."""
    gc.collect()
    gc.freeze()


class Contender:
    """One bot in its own process on its own fake server, measured in rounds with the others.

    Taking turns, instead of measuring one bot after the other, spreads a shared machine's
    slow minutes over all bots alike rather than onto whichever ran then.
    """

    def __init__(
        self,
        name: str,
        server: FakeBotAPI,
        pid: int,
        prepare: Prepare | None,
        warm_up: int,
        stats: Path | None = None,
    ) -> None:
        self.name = name
        self.server = server
        self.pid = pid
        self._prepare = prepare
        self._warm_up = warm_up
        # Where the bot's process reports its database work; None: it has no database.
        self._stats = stats
        self.work = DatabaseWork()
        self.updates = 0
        self.rounds: list[float] = []
        self.cpu_rounds: list[float] = []
        self.replies: tuple[Reply, ...] = ()
        self.latencies: list[float] = []

    async def _new_people(self, prefix: str, count: int) -> list[FakeUser]:
        people = [
            self.server.add_user(first_name=f"{prefix}{i}", language_code=LANGUAGE)
            for i in range(count)
        ]
        if self._prepare is not None:
            await self._prepare(people)
        return people

    async def warm_up(self) -> None:
        """First-use costs (imports, statement caches, connections) are not throughput."""
        warm = await self._new_people("W", self._warm_up)
        await _send_all(self.server, warm, within=60)
        await _settle(self.server)
        self.replies = tuple(Reply.of(sent) for sent in self.server.sent_to(warm[0].id))

    async def burst(self, size: int) -> None:
        """`size` members write at once; time until the last one has a reply.

        CPU is the bot process's from the first update until it has gone quiet (its second
        replies included); idle long polling in the settling time costs next to nothing.
        """
        people = await self._new_people("M", size)
        work = await _database_work(self.pid, self._stats) if self._stats else None
        _quiet_heap()
        cpu = _cpu_seconds(self.pid)
        started = time.perf_counter()
        try:
            await _send_all(self.server, people, within=size / 5 + 30)
        except AssertionError as exc:
            raise RuntimeError(f"{self.name}: not every update was answered ({exc})") from None
        self.rounds.append(size / (time.perf_counter() - started))
        await _settle(self.server)  # not into the next bot's round
        self.cpu_rounds.append((_cpu_seconds(self.pid) - cpu) / size * 1000)
        if self._stats and work is not None:
            self.work += await _database_work(self.pid, self._stats) - work
            self.updates += size

    async def offered_load(self, rate: float, seconds: float) -> None:
        """Reply latency at a fixed offered load, far below the throughput, on fresh members."""
        people = await self._new_people("L", int(rate * seconds))
        _quiet_heap()
        queued: dict[int, float] = {}
        begin = time.monotonic()
        for index, person in enumerate(people):
            await asyncio.sleep(max(0.0, begin + index / rate - time.monotonic()))
            queued[person.id] = time.monotonic()
            await person.send_message("/start")
        await self.server.wait_until(_all_answered(self.server, people), timeout=60)
        self.latencies = sorted(
            (self.server.sent_to(p.id)[0].at - queued[p.id]) * 1000 for p in people
        )
        self.server.assert_no_violations()
        await _settle(self.server)

    @property
    def throughput(self) -> float:
        """The median round: one round on a shared machine can be off by a fifth."""
        return statistics.median(self.rounds)

    @property
    def cpu(self) -> float:
        """CPU time of the bot's process per update, ms (median of rounds)."""
        return statistics.median(self.cpu_rounds)

    @property
    def p50(self) -> float:
        """Median reply latency under the offered load, in ms."""
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        """99th percentile reply latency under the offered load, in ms."""
        return self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * 0.99))]

    def per_update(self) -> str:
        """Statements, transactions and pings per update in the bursts, or "" without a
        database."""
        if not self._stats or not self.updates:
            return ""
        work, count = self.work, self.updates
        return (
            f"  db/update: {work.statements / count:.2f} statements, "
            f"{work.transactions / count:.2f} transactions, {work.pings / count:.2f} pings"
        )


class Harness:
    """Starts contenders: a fake server each, a bot process each, logs in one folder."""

    def __init__(self, stack: AsyncExitStack, folder: Path, warm_up: int) -> None:
        self._stack = stack
        self._folder = folder
        self._warm_up = warm_up

    async def start(
        self,
        name: str,
        kind: str,
        *,
        database: str | None = None,
        replies: Sequence[Reply] = (),
        prepare: Prepare | None = None,
    ) -> Contender:
        server = await self._stack.enter_async_context(FakeBotAPI())
        log = self._folder / f"{name.replace(' ', '-')}.log"
        stats = self._folder / f"{name.replace(' ', '-')}.db.json" if database else None
        pid = await self._stack.enter_async_context(
            _bot_process(server, kind, log, database, replies, stats)
        )
        contender = Contender(name, server, pid, prepare, self._warm_up, stats)
        await contender.warm_up()
        return contender


async def _set_up_kv(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with create_session_pool(engine)() as session:
            await apply_setup(session, load_setup(SETUP))
            await session.commit()
    finally:
        await engine.dispose()


def _signing_up(database_url: str) -> Prepare:
    """Stores the people as members who agreed and finished the intake, as /start left them,
    with a profile as members fill it in."""

    async def prepare(people: Sequence[FakeUser]) -> None:
        engine = create_engine(database_url)
        try:
            pool = create_session_pool(engine)
            for person in people:
                await signed_up(
                    pool,
                    person,
                    district="Mitte",
                    topics=["Umwelt", "Bildung", "Verkehr"],
                    activities=["Infostände", "Social Media"],
                    group="Stammtisch Mitte",
                )
            ids = [person.id for person in people]
            async with pool() as session:
                # Their Telegram language is known from earlier messages; otherwise each one's
                # first update here would cost a write that a returning member's does not.
                await session.execute(
                    update(Member).where(Member.id.in_(ids)).values(telegram_language=LANGUAGE)
                )
                await session.execute(
                    update(Profile)
                    .where(Profile.member_id.in_(ids))
                    .values(free_time=["weekday_evening", "weekend"], contact_frequency="monthly")
                )
                await session.commit()
        finally:
            await engine.dispose()

    return prepare


def _known_to_peer(database_url: str) -> Prepare:
    """Stores the people in the peer's `users` table, as their earlier updates left them."""

    async def prepare(people: Sequence[FakeUser]) -> None:
        from aiogram.types import User as TelegramUser  # noqa: PLC0415

        from bench import peer  # noqa: PLC0415

        engine = peer.create_engine(database_url)
        try:
            async with create_session_pool(engine)() as session:
                for person in people:
                    user = TelegramUser(
                        id=person.id,
                        is_bot=False,
                        first_name=person.first_name,
                        language_code=LANGUAGE,
                    )
                    await peer.upsert_user(session, user)
                await session.commit()
        finally:
            await engine.dispose()

    return prepare


@asynccontextmanager
async def _database(url: str | None, *, migrate: bool = True) -> AsyncIterator[str]:
    """An empty database (Mitmachbot's schema unless not `migrate`): a temporary SQLite file,
    or a scratch PostgreSQL database."""
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            path = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            if migrate:
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
    if migrate:
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


async def _peer_database(stack: AsyncExitStack, url: str | None) -> str:
    """A database for the peer, with its table made before anyone is stored in it."""
    from bench import peer  # noqa: PLC0415

    database = await stack.enter_async_context(_database(url, migrate=False))
    engine = peer.create_engine(database)
    try:
        await peer.create_tables(engine)
    finally:
        await engine.dispose()
    return database


def _row(
    label: str, bot: Contender, *ratios: tuple[str, Contender], same: Contender | None = None
) -> str:
    """One contender's figures; with `same` (the same-replies bot) also the ratios of the
    targets: p99 latency and CPU per update to that bot's."""
    line = (
        f"  {label:<30}{bot.throughput:8.1f}/s  cpu {bot.cpu:5.2f} ms/update  "
        f"p50 {bot.p50:6.1f} ms  p99 {bot.p99:6.1f} ms"
    )
    for name, other in ratios:
        line += f"   {bot.throughput / other.throughput:5.2f} x {name}"
    if same is not None:
        line += f"   p99 {bot.p99 / same.p99:4.2f} x same   cpu {bot.cpu / same.cpu:4.2f} x same"
    return line + bot.per_update()


async def _measure(args: argparse.Namespace, folder: Path) -> None:
    async with AsyncExitStack() as stack:
        harness = Harness(stack, folder, args.warm_up)
        # A database each: every fake server numbers its users from the same start.
        first_url = await stack.enter_async_context(_database(args.database))
        known_url = await stack.enter_async_context(_database(args.database))
        await _set_up_kv(known_url)
        first_peer_url = await _peer_database(stack, args.database)
        known_peer_url = await _peer_database(stack, args.database)

        echo = await harness.start("echo", "echo")
        first = await harness.start("first contact mitmachbot", "mitmachbot", database=first_url)
        known = await harness.start(
            "known member mitmachbot",
            "mitmachbot",
            database=known_url,
            prepare=_signing_up(known_url),
        )
        first_same = await harness.start("first contact same", "same", replies=first.replies)
        known_same = await harness.start("known member same", "same", replies=known.replies)
        first_peer = await harness.start(
            "first contact peer", "peer", database=first_peer_url, replies=first.replies
        )
        known_peer = await harness.start(
            "known member peer",
            "peer",
            database=known_peer_url,
            replies=known.replies,
            prepare=_known_to_peer(known_peer_url),
        )
        contenders = [echo, first_same, first_peer, first, known_same, known_peer, known]
        for round_ in range(args.repeat):
            # The starting bot rotates: none always runs right after the same other one.
            shift = round_ % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                await contender.burst(args.burst)
        for contender in contenders:
            await contender.offered_load(args.rate, args.seconds)
        for contender in (first_same, first_peer, known_same, known_peer):
            if (
                contender.replies
                != (first if contender.name.startswith("first") else known).replies
            ):
                raise RuntimeError(f"{contender.name} did not send Mitmachbot's replies verbatim")

    backend = "PostgreSQL" if args.database else "SQLite"
    print(
        f"updates ({backend}): each bot in its own process; median of {args.repeat} bursts of "
        f"{args.burst} (starting bot rotated each round), CPU of the bot's process per update, "
        f"latency at {args.rate:g}/s for {args.seconds:g}s; Mitmachbot's throughput as a ratio "
        "to the echo bot, the same-replies bot and the peer"
    )
    print(_row("echo bot (1 reply)", echo))
    print(f"  first contact ({len(first.replies)} replies)")
    print(_row("  same replies, bare aiogram", first_same, ("echo", echo)))
    print(_row("  peer (template bot)", first_peer, ("echo", echo), same=first_same))
    print(
        _row(
            "  mitmachbot",
            first,
            ("echo", echo),
            ("same", first_same),
            ("peer", first_peer),
            same=first_same,
        )
    )
    print(f"  known member ({len(known.replies)} reply)")
    print(_row("  same reply, bare aiogram", known_same, ("echo", echo)))
    print(_row("  peer (template bot)", known_peer, ("echo", echo), same=known_same))
    print(
        _row(
            "  mitmachbot",
            known,
            ("echo", echo),
            ("same", known_same),
            ("peer", known_peer),
            same=known_same,
        )
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000, help="updates queued at once")
    parser.add_argument(
        "--rate", type=float, default=50.0, help="offered load for the latencies, updates/s"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the load")
    parser.add_argument("--repeat", type=int, default=3, help="throughput rounds (median)")
    parser.add_argument("--warm-up", type=int, default=50, help="updates before measuring")
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--replies", default="[]", help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await _serve(args.serve, args.api, args.token, args.database, args.replies, args.stats)
        return
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as folder:
        await _measure(args, Path(folder))


if __name__ == "__main__":
    asyncio.run(main())
