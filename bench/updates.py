"""Full-stack update throughput and reply latency, against bare aiogram bots on the same harness.

Every bot polls a local fake Bot API server (tests.fakebotapi) running in this process, so the
server's work counts against every bot alike. Two workloads, each a simulated member sending
/start once:

- first contact: a stranger. Mitmachbot claims the update, INSERTs the member, reads the FSM
  state, greets and asks for consent: two replies.
- known member: someone who agreed and finished the intake. Mitmachbot claims the update, reads
  the member with roles and profile, reads the FSM state, answers with one reply.

Baselines: aiogram with one handler that echoes the text (the issue's yardstick), and aiogram
with one handler that sends, unchanged, the replies Mitmachbot sent for the workload (same
HTML, same keyboard), which isolates what Mitmachbot adds from what the replies cost.

    .venv/bin/python -m bench.updates                     # SQLite
    .venv/bin/python -m bench.updates --database postgresql+asyncpg://postgres@127.0.0.1/test

Figures: updates/s when N updates wait at once (throughput, median of rounds), its ratio to the
echo bot and to the same-replies bot, and p50/p99 latency from "update queued" to "first reply
received" at a fixed offered rate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardMarkup, Message
from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from bot.app import build_application, run_polling
from bot.db import migrations
from bot.db.engine import create_engine
from bot.db.session import create_session_pool
from bot.settings import Settings
from models import Member
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

Runner = Callable[[FakeBotAPI], AbstractAsyncContextManager[None]]
# Makes the simulated people ready before they write (a known member is stored first).
Prepare = Callable[[Sequence[FakeUser]], Awaitable[None]]

LANGUAGE = "de"


@dataclass(frozen=True)
class Reply:
    """One reply as the bot sent it, to be sent again verbatim by the same-replies bot."""

    html: str
    parse_mode: str | None
    reply_markup: InlineKeyboardMarkup | None

    @classmethod
    def of(cls, sent: SentMessage) -> Reply:
        """The reply the fake server recorded."""
        markup = sent.reply_markup
        return cls(
            html=sent.html or "",
            parse_mode=sent.parse_mode,
            reply_markup=InlineKeyboardMarkup.model_validate(markup) if markup else None,
        )


@asynccontextmanager
async def _bare_bot(
    server: FakeBotAPI, answer: Callable[[Message], Awaitable[None]]
) -> AsyncIterator[None]:
    bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.api_url)))
    dispatcher = Dispatcher()
    dispatcher.message.register(answer)
    task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    await server.wait_until(lambda: server.long_polls_waiting > 0, timeout=30)
    try:
        yield
    finally:
        await dispatcher.stop_polling()
        await task
        await bot.session.close()


def echo_bot(server: FakeBotAPI) -> AbstractAsyncContextManager[None]:
    """The issue's baseline: aiogram with one handler that echoes, and nothing else."""

    async def echo(message: Message) -> None:
        await message.answer(message.text or "-")

    return _bare_bot(server, echo)


def same_replies_bot(replies: Sequence[Reply]) -> Runner:
    """aiogram with one handler that sends `replies`, as Mitmachbot did, and nothing else."""

    async def answer(message: Message) -> None:
        for reply in replies:
            await message.answer(
                reply.html, parse_mode=reply.parse_mode, reply_markup=reply.reply_markup
            )

    return lambda server: _bare_bot(server, answer)


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
            # No web server: several bots run here at once, and the bench measures updates.
            webhook_listen="",
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


class Contender:
    """One bot on its own fake server, measured in rounds taken in turn with the others.

    Taking turns, instead of measuring one bot after the other, spreads a shared machine's
    slow minutes over all bots alike rather than onto whichever ran then.
    """

    def __init__(self, server: FakeBotAPI, prepare: Prepare | None, warm_up: int) -> None:
        self.server = server
        self._prepare = prepare
        self._warm_up = warm_up
        self.rounds: list[float] = []
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
        """`size` members write at once; time until the last one has a reply."""
        people = await self._new_people("M", size)
        started = time.perf_counter()
        await _send_all(self.server, people, within=size / 5 + 30)
        self.rounds.append(size / (time.perf_counter() - started))
        await _settle(self.server)  # not into the next bot's round

    async def offered_load(self, rate: float, seconds: float) -> None:
        """Reply latency at a fixed offered load, far below the throughput, on fresh members."""
        people = await self._new_people("L", int(rate * seconds))
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

    @property
    def throughput(self) -> float:
        """The median round: one round on a shared machine can be off by a fifth."""
        return statistics.median(self.rounds)

    @property
    def p50(self) -> float:
        """Median reply latency under the offered load, in ms."""
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        """99th percentile reply latency under the offered load, in ms."""
        return self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * 0.99))]


async def _start(
    stack: AsyncExitStack, runner: Runner, warm_up: int, prepare: Prepare | None = None
) -> Contender:
    server = await stack.enter_async_context(FakeBotAPI())
    await stack.enter_async_context(runner(server))
    contender = Contender(server, prepare, warm_up)
    await contender.warm_up()
    return contender


def _signing_up(database_url: str) -> Prepare:
    """Stores the people as members who agreed and finished the intake, as /start left them."""

    async def prepare(people: Sequence[FakeUser]) -> None:
        engine = create_engine(database_url)
        try:
            pool = create_session_pool(engine)
            for person in people:
                await signed_up(pool, person)
            # Their Telegram language is known from earlier messages; otherwise each one's first
            # update here would cost a write that a returning member's does not.
            async with pool() as session:
                await session.execute(
                    update(Member)
                    .where(Member.id.in_([person.id for person in people]))
                    .values(telegram_language=LANGUAGE)
                )
                await session.commit()
        finally:
            await engine.dispose()

    return prepare


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


def _row(label: str, bot: Contender, echo: Contender, same: Contender | None = None) -> str:
    line = (
        f"  {label:<30}{bot.throughput:8.1f}/s  p50 {bot.p50:6.1f} ms  "
        f"p99 {bot.p99:6.1f} ms   {bot.throughput / echo.throughput:5.2f}"
    )
    if same is not None:
        line += f"   {bot.throughput / same.throughput:5.2f}"
    return line


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000, help="updates queued at once")
    parser.add_argument("--rate", type=float, default=20.0, help="offered load, updates/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the load")
    parser.add_argument("--repeat", type=int, default=3, help="throughput rounds (median)")
    parser.add_argument("--warm-up", type=int, default=50, help="updates before measuring")
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    async with AsyncExitStack() as stack:
        # A database each: every fake server numbers its users from the same start.
        first_url = await stack.enter_async_context(_database(args.database))
        known_url = await stack.enter_async_context(_database(args.database))
        warm_up = args.warm_up
        echo = await _start(stack, echo_bot, warm_up)
        first = await _start(stack, mitmachbot(first_url), warm_up)
        known = await _start(stack, mitmachbot(known_url), warm_up, _signing_up(known_url))
        first_same = await _start(stack, same_replies_bot(first.replies), warm_up)
        known_same = await _start(stack, same_replies_bot(known.replies), warm_up)
        contenders = (echo, first_same, first, known_same, known)
        for _round in range(args.repeat):
            for contender in contenders:
                await contender.burst(args.burst)
        for contender in contenders:
            await contender.offered_load(args.rate, args.seconds)

    backend = "PostgreSQL" if args.database else "SQLite"
    print(
        f"updates ({backend}): median of {args.repeat} bursts of {args.burst}, latency at "
        f"{args.rate:g}/s for {args.seconds:g}s; ratios to the echo bot and to the same-replies bot"
    )
    print(_row("echo bot (1 reply)", echo, echo))
    print(f"  first contact ({len(first.replies)} replies)")
    print(_row("  same replies, bare aiogram", first_same, echo))
    print(_row("  mitmachbot", first, echo, first_same))
    print(f"  known member ({len(known.replies)} reply)")
    print(_row("  same reply, bare aiogram", known_same, echo))
    print(_row("  mitmachbot", known, echo, known_same))
    print("  target: mitmachbot >= 0.70 of the echo bot")


if __name__ == "__main__":
    asyncio.run(main())
