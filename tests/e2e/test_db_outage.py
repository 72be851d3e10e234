"""The database goes away while members talk: nobody's action is lost (issue #12).

The real application over real HTTP against the fake Bot API, by long polling and by webhook:
SQLite with another process holding the write lock past the busy timeout, PostgreSQL with the
database closed to connections and every connection killed. Members press the consent button
and ask for help meanwhile; when the database is back every action is handled once, in order
per member, and nobody gets the apology. Past DB_RETRY_SECONDS, each waiting update gets
exactly one apology.

Bounds are shrunk so the outages take seconds: a 1 s busy timeout instead of 30 s, a few
seconds of outage instead of 30-45 s; what is measured is the same (an outage longer than the
busy timeout, shorter than the retry bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import Application, build_application, run_polling, run_webhook
from bot.db.engine import create_engine
from bot.settings import Settings
from tests.conftest import TEST_DATABASE_URL
from tests.driver import free_port
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage

pytestmark = pytest.mark.e2e

MEMBERS = 5
OUTAGE_SECONDS = 3.0
APOLOGY = "Entschuldige, bei mir ist etwas schiefgegangen"
RETRYING = "database unavailable, retrying update"


# --- the bot, in either mode ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(
    settings: Settings, fake_api: FakeBotAPI, mode: str
) -> AsyncIterator[Application]:
    """The real application, by long polling or by webhook, until the block ends."""
    if mode == "webhook":
        port = free_port()
        settings = settings.model_copy(
            update={
                "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
                "webhook_secret": SecretStr("outage-secret"),
                "webhook_listen": f"127.0.0.1:{port}",
            }
        )
    app = await build_application(settings, migrate=False)
    stop = asyncio.Event()
    if mode == "webhook":
        task = asyncio.create_task(run_webhook(app, stop=stop))
        await fake_api.wait_for_request("setWebhook", answered=True, timeout=15)
    else:
        task = asyncio.create_task(run_polling(app, handle_signals=False))
        await fake_api.wait_until(lambda: fake_api.long_polls_waiting > 0, timeout=15)
    try:
        yield app
    finally:
        if mode == "webhook":
            stop.set()
        else:
            await app.dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=20)
        await app.close()


# --- what the members do ----------------------------------------------------------------------


async def started_members(fake_api: FakeBotAPI, count: int) -> list[tuple[FakeUser, SentMessage]]:
    """`count` members who sent /start; each with the consent question they got."""
    members = []
    for index in range(count):
        member = fake_api.add_user(first_name=f"Mitglied{index}", language_code="de")
        await member.send_message("/start")
        await fake_api.wait_for_message(member.id)  # the greeting
        members.append((member, await fake_api.wait_for_message(member.id, timeout=10)))
    return members


async def act_during_outage(members: list[tuple[FakeUser, SentMessage]]) -> None:
    """Each member agrees (a button) and then asks for help (a command), in that order."""
    for member, consent in members:
        await member.press(consent, dict(consent.buttons)["Einverstanden"])
        await member.send_message("/hilfe")


async def lost_actions(
    fake_api: FakeBotAPI, members: list[tuple[FakeUser, SentMessage]], *, within: float
) -> int:
    """How many of the 2 actions per member got no right answer, or an apology, or came out
    of order; waits up to `within` seconds for the answers."""
    deadline = time.monotonic() + within

    def answered(member: FakeUser) -> list[str]:
        return [message.text or "" for message in fake_api.sent_to(member.id)[2:]]

    def all_done() -> bool:
        return all(len(answered(member)) >= 2 for member, _consent in members)

    with contextlib.suppress(AssertionError):
        await fake_api.wait_until(all_done, timeout=max(0.1, deadline - time.monotonic()))
    # Anything late or doubled would show up now.
    await asyncio.sleep(0.3)
    lost = 0
    for member, _consent in members:
        texts = answered(member)
        step_ok = len(texts) >= 1 and texts[0].startswith("Schritt 1 von 5")
        help_ok = len(texts) >= 2 and "/sprache" in texts[1]
        lost += (not step_ok) + (not help_ok)
        assert len(texts) <= 2, f"an action was answered twice: {texts}"
        assert not any(APOLOGY in t for t in texts), f"apology despite the retry: {texts}"
    return lost


# --- outages ----------------------------------------------------------------------------------


def _sqlite_file(database_url: str) -> Path:
    return Path(make_url(database_url).database or "")


@contextlib.asynccontextmanager
async def sqlite_writer_lock(path: Path) -> AsyncIterator[None]:
    """Another process's connection holds the write lock (BEGIN IMMEDIATE) until the block ends.

    Taken without waiting, retried on the event loop: the bot may be writing at that moment.
    """
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError:
                await asyncio.sleep(0.01)
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


async def _admin(statement: str) -> None:
    engine = create_engine(TEST_DATABASE_URL)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def postgres_closed(name: str) -> AsyncIterator[None]:
    """The database refuses new connections and every open one is killed, until the block
    ends (what a restart or a failover looks like to the bot)."""
    await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        await _admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        yield
    finally:
        await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.fixture
def pg_scratch_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database of this test's own, a copy of the run's migrated one, dropped
    afterwards: closing it to connections must not disturb the other tests' database."""
    name = f"mm_outage_{uuid.uuid4().hex[:10]}"
    template = make_url(postgres_url).database
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sqlite_writer_lock_past_the_busy_timeout_loses_nothing(
    settings: Settings,
    database_url: str,
    fake_api: FakeBotAPI,
    mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.middlewares.outage")
    settings = settings.model_copy(
        update={"sqlite_busy_timeout_seconds": 1.0, "db_retry_seconds": 60.0}
    )
    async with running(settings, fake_api, mode):
        members = await started_members(fake_api, MEMBERS)
        async with sqlite_writer_lock(_sqlite_file(database_url)):
            await act_during_outage(members)
            await asyncio.sleep(OUTAGE_SECONDS)
            # Nothing got through while the lock was held, and nobody was apologised to.
            assert all(len(fake_api.sent_to(m.id)) == 2 for m, _c in members)
        assert await lost_actions(fake_api, members, within=30) == 0
    if mode == "webhook":
        # The bot kept the updates itself: every delivery was accepted at once, none redone.
        assert {status for _update_id, status in fake_api.webhook_deliveries} == {200}
    waits = [r for r in caplog.records if r.getMessage().startswith(RETRYING)]
    assert waits, "no update waited for the database"
    # One warning per waiting update, never one per attempt.
    assert len(waits) == len({r.getMessage().split()[4] for r in waits})
    assert all(r.levelno == logging.WARNING for r in waits)
    assert any("handled after waiting" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_postgres_closed_and_connections_killed_loses_nothing(
    settings: Settings,
    pg_scratch_url: str,
    fake_api: FakeBotAPI,
    mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.middlewares.outage")
    settings = settings.model_copy(
        update={"database_url": pg_scratch_url, "db_retry_seconds": 60.0}
    )
    name = make_url(pg_scratch_url).database or ""
    async with running(settings, fake_api, mode):
        members = await started_members(fake_api, MEMBERS)
        async with postgres_closed(name):
            await act_during_outage(members)
            await asyncio.sleep(OUTAGE_SECONDS)
            assert all(len(fake_api.sent_to(m.id)) == 2 for m, _c in members)
        assert await lost_actions(fake_api, members, within=30) == 0
    if mode == "webhook":
        # The bot kept the updates itself: every delivery was accepted at once, none redone.
        assert {status for _update_id, status in fake_api.webhook_deliveries} == {200}
    assert any(r.getMessage().startswith(RETRYING) for r in caplog.records)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_outage_past_the_bound_gets_one_apology_per_update(
    settings: Settings, database_url: str, fake_api: FakeBotAPI
) -> None:
    settings = settings.model_copy(
        update={"sqlite_busy_timeout_seconds": 0.5, "db_retry_seconds": 2.0}
    )
    async with running(settings, fake_api, "polling"):
        members = await started_members(fake_api, 3)
        async with sqlite_writer_lock(_sqlite_file(database_url)):
            for member, _consent in members:
                await member.send_message("/hilfe")
                await member.send_message("/profil")
            for member, _consent in members:
                await fake_api.wait_for_message(member.id, timeout=20)
                await fake_api.wait_for_message(member.id, timeout=20)
            await asyncio.sleep(1.0)
            for member, _consent in members:
                later = [m.text or "" for m in fake_api.sent_to(member.id)[2:]]
                # Exactly one apology per update, with its reference, and nothing else.
                assert len(later) == 2, later
                assert all(t.startswith(APOLOGY) for t in later), later
                assert not any("Traceback" in t or "Error" in t for t in later)
        # The database is back: the next action is handled as usual.
        member, _consent = members[0]
        await member.send_message("/hilfe")
        reply = await fake_api.wait_for_message(member.id, timeout=10)
        assert "/sprache" in (reply.text or "")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_shutdown_while_updates_wait_apologises_instead_of_waiting(
    settings: Settings, database_url: str, fake_api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.middlewares.outage")
    settings = settings.model_copy(
        update={"sqlite_busy_timeout_seconds": 0.5, "db_retry_seconds": 300.0}
    )
    member = fake_api.add_user(first_name="Mitglied", language_code="de")
    async with contextlib.AsyncExitStack() as outage:
        async with running(settings, fake_api, "polling") as app:
            # Held from now until after the shutdown.
            await outage.enter_async_context(sqlite_writer_lock(_sqlite_file(database_url)))
            await member.send_message("/hilfe")
            retry = app.dispatcher["db_retry"]
            for _ in range(200):  # the bot's state, not the server's: wait_until won't look
                if retry.waiting > 0:
                    break
                await asyncio.sleep(0.05)
            assert retry.waiting > 0
            started = time.monotonic()
        # Stopped within the grace period, not after DB_RETRY_SECONDS.
        assert time.monotonic() - started < 10
    [apology] = fake_api.sent_to(member.id)
    assert (apology.text or "").startswith(APOLOGY)
    assert any("at shutdown" in r.getMessage() for r in caplog.records)
