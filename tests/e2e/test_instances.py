"""Several instances, as deployed: three `mitmachbot run --webhook` processes on one PostgreSQL
and one Redis, behind a small round-robin proxy the fake Bot API's webhook posts to.

What must hold: one member's intake with its updates spread over all three stays consistent,
killing one instance (SIGKILL, between two of her updates) loses none of the updates after it,
an update the killed instance was in the middle of handling is handled by another, once (the
webhook answers only after handling, and a claim whose instance is gone is taken over, see
bot.services.updates), a broadcast goes out once per recipient (and a double "Send now" across
two instances makes one broadcast), and the Monday digest fired on every instance's clock goes
out once per organiser.

Skips with a reason without PostgreSQL (TEST_DATABASE_URL) or Redis (TEST_REDIS_URL); .ci/run
sets both when the servers answer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select

from bot.app import Application
from bot.db.session import SessionPool
from bot.scheduler import create_scheduler
from bot.services.kv_setup import apply_setup, load_setup
from bot.services.leases import Holder
from models import (
    Broadcast,
    Delivery,
    District,
    Member,
    MemberRole,
    ProcessedUpdate,
    Profile,
    Role,
    Topic,
)
from models.base import utcnow
from tests.driver import free_port
from tests.e2e.test_process import START_TIMEOUT, BotProcess
from tests.fakebotapi import ApiCall, ApiError, FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

pytestmark = pytest.mark.e2e
# Several instances need PostgreSQL (the outbox claims rows with FOR UPDATE SKIP LOCKED).
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

INSTANCES = 3
SECRET = "instances-secret_0123456789"
# Three processes importing aiogram and SQLAlchemy at once on a busy CI machine.
STARTUP_TIMEOUT = 3 * START_TIMEOUT
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REDIS_SKIP_REASON = (
    "several instances need Redis: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0); "
    ".ci/run sets it when Redis answers on 127.0.0.1:6379"
)

SETUP = """
name: KV Testhausen
districts: [Mitte, Nord]
topics: [Umwelt, Bildung]
activity_types: [Infostände]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    topics: [umwelt]
    meets: every Thursday 19:00
    place: Café Rosa
    hosts: [{host}]
    newcomer_friendly: true
"""


@pytest.fixture
async def redis_url() -> str:
    """TEST_REDIS_URL, once it answers a PING; skips otherwise."""
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if not url:
        pytest.skip(REDIS_SKIP_REASON)
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        pytest.skip(f"Redis at {url} does not answer ({exc}); {REDIS_SKIP_REASON}")
    finally:
        await client.aclose()
    return url


class RoundRobinProxy:
    """What a load balancer does: each request to the next instance; one that refuses the
    connection (killed) is skipped, like nginx's proxy_next_upstream."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.served: Counter[str] = Counter()
        # Every backend a request was sent to, in order (also those that never answered).
        self.tried: list[str] = []
        self.port = free_port()
        self._turn = 0
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._client = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._client is not None
        body = await request.read()
        headers = {
            name: value
            for name, value in request.headers.items()
            if name in ("Content-Type", SECRET_HEADER)
        }
        for _ in range(len(self.backends)):
            backend = self.backends[self._turn % len(self.backends)]
            self._turn += 1
            self.tried.append(backend)
            try:
                async with self._client.request(
                    request.method,
                    backend + request.path_qs,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as response:
                    payload = await response.read()
                    self.served[backend] += 1
                    reply_headers = {}
                    if "Content-Type" in response.headers:
                        reply_headers["Content-Type"] = response.headers["Content-Type"]
                    return web.Response(status=response.status, body=payload, headers=reply_headers)
            except (aiohttp.ClientConnectionError, TimeoutError):
                continue
        return web.Response(status=502, text="no instance answered")


class Instances:
    """Three bot processes in webhook mode behind the proxy, sharing one database and Redis."""

    def __init__(
        self,
        spawn: Callable[..., BotProcess],
        bot_env: dict[str, str],
        fake_api: FakeBotAPI,
        proxy: RoundRobinProxy,
        redis_url: str,
    ) -> None:
        self.spawn = spawn
        self.bot_env = bot_env
        self.fake_api = fake_api
        self.proxy = proxy
        self.redis_url = redis_url
        self.processes: list[BotProcess] = []
        self.urls: list[str] = []

    async def start(self, count: int = INSTANCES) -> None:
        # Keys of their own in the shared Redis, so test runs beside this one don't meet them.
        prefix = f"test-{uuid.uuid4().hex[:10]}"
        before = self._webhooks_set()
        for number in range(count):
            port = free_port()
            self.bot_env.update(
                WEBHOOK_URL=f"{self.proxy.url}/telegram",
                WEBHOOK_SECRET=SECRET,
                WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                REDIS_URL=self.redis_url,
                REDIS_PREFIX=prefix,
            )
            process = self.spawn(f"instance-{number}")
            await process.start("run", "--webhook")
            self.processes.append(process)
            self.urls.append(f"http://127.0.0.1:{port}")
        self.proxy.backends = list(self.urls)
        try:
            await self.fake_api.wait_until(
                lambda: self._webhooks_set() >= before + count, timeout=STARTUP_TIMEOUT
            )
        except AssertionError:
            pytest.fail(f"not every instance started; their logs:\n{self.logs()}")

    def _webhooks_set(self) -> int:
        return sum(
            1
            for request in self.fake_api.requests
            if request.method.lower() == "setwebhook" and request.answered_at is not None
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {process.log_path.name}\n{process.log()}" for process in self.processes
        )

    async def kill(self, number: int) -> None:
        assert await self.processes[number].stop(signal.SIGKILL) == -signal.SIGKILL

    async def stop(self) -> None:
        for process in self.processes:
            if process.process is not None:
                await process.stop()


@pytest.fixture
async def instances(
    spawn: Callable[..., BotProcess],
    bot_env: dict[str, str],
    fake_api: FakeBotAPI,
    redis_url: str,
) -> AsyncIterator[Instances]:
    proxy = RoundRobinProxy()
    await proxy.start()
    group = Instances(spawn, bot_env, fake_api, proxy, redis_url)
    try:
        yield group
    finally:
        await group.stop()
        await proxy.stop()


def _button(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if label in text]
    return data


async def _setup(database_url: str, text: str) -> None:
    from bot.db.engine import create_engine
    from bot.db.session import create_session_pool

    engine = create_engine(database_url)
    try:
        async with create_session_pool(engine)() as session:
            await apply_setup(session, load_setup(text))
            await session.commit()
    finally:
        await engine.dispose()


@ON_POSTGRES
async def test_an_intake_spread_over_three_instances_one_killed(
    instances: Instances, fake_api: FakeBotAPI, database_url: str, session_pool: SessionPool
) -> None:
    host = fake_api.add_user(first_name="Hanna", username="hanna_host", language_code="de")
    await _setup(database_url, SETUP.format(host=host.id))
    await instances.start()
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    timeout = 20

    await anna.send_message("/start")
    greeting = await fake_api.wait_for_message(anna.id, timeout=timeout)
    assert "Ich bin der Bot von KV Testhausen." in greeting.text
    consent = await fake_api.wait_for_message(anna.id, timeout=timeout)
    await anna.press(consent, _button(consent, "Einverstanden"))
    step = await fake_api.wait_for_message(anna.id, timeout=timeout)
    assert step.text.startswith("Schritt 1 von 5")
    await anna.press(step, _button(step, "Umwelt"))
    await fake_api.wait_until(lambda: "✅ Umwelt" in [t for t, _ in step.buttons], timeout=timeout)
    await anna.press(step, _button(step, "Weiter »"))
    await fake_api.wait_until(lambda: step.text.startswith("Schritt 2 von 5"), timeout=timeout)
    # Every instance has handled some of her updates by now.
    assert len(instances.proxy.served) == INSTANCES, instances.proxy.served

    await instances.kill(2)
    await anna.press(step, _button(step, "Mitte"))
    await fake_api.wait_until(lambda: step.text.startswith("Schritt 3 von 5"), timeout=timeout)
    for _ in range(2):  # activities, free time
        current = step.text
        await anna.press(step, _button(step, "Überspringen"))
        await fake_api.wait_until(lambda text=current: step.text != text, timeout=timeout)
    await anna.press(step, _button(step, "Wöchentlich"))
    await fake_api.wait_until(lambda: step.text.startswith("Deine Angaben"), timeout=timeout)
    assert "Themen: Umwelt" in step.text
    await anna.press(step, _button(step, "passende Gruppen zeigen"))
    suggestions = await fake_api.wait_for_message(anna.id, timeout=timeout)
    await anna.press(suggestions, _button(suggestions, "Stammtisch Mitte beitreten"))
    joined = await fake_api.wait_for_message(anna.id, timeout=timeout)
    assert joined.text.startswith("Du bist jetzt bei Stammtisch Mitte.")
    note = await fake_api.wait_for_message(host.id, timeout=timeout)
    assert note.text.startswith(f"Anna (ID {anna.id}) ist Stammtisch Mitte beigetreten")

    # Nothing lost, nothing answered twice: every update was delivered, each reply came once.
    await fake_api.wait_until(lambda: not fake_api.pending_updates, timeout=timeout)
    assert [m.text for m in fake_api.sent_to(anna.id)].count(joined.text) == 1
    async with session_pool() as session:
        member = await session.get(Member, anna.id)
        assert member is not None
        profile = await session.get(Profile, anna.id)
        assert profile is not None
        assert profile.intake_completed_at is not None
        district = await session.scalar(
            select(District.name).where(District.id == profile.district_id)
        )
        assert district == "Mitte"
        topics = await session.scalars(
            select(Topic.name)
            .select_from(Profile)
            .join(Profile.topics)
            .where(Profile.member_id == anna.id)
        )
        assert list(topics) == ["Umwelt"]


@ON_POSTGRES
async def test_an_update_in_flight_on_a_killed_instance_is_handled_by_another(
    instances: Instances, fake_api: FakeBotAPI, database_url: str, session_pool: SessionPool
) -> None:
    await _setup(database_url, "name: KV Testhausen\ndistricts: [Mitte]\n")
    await instances.start()
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold_the_first_greeting(call: ApiCall) -> None:
        # The instance handling her /start sends the greeting; it is killed before Telegram
        # answers, so nothing of it reaches her.
        first = not holding.is_set()
        if first and call.method.lower() == "sendmessage" and call.chat_id == anna.id:
            holding.set()
            await release.wait()
            raise ApiError(502, "Bad Gateway")

    fake_api.rules.append(hold_the_first_greeting)
    update = await anna.send_message("/start")
    await asyncio.wait_for(holding.wait(), timeout=30)
    handling = instances.urls.index(instances.proxy.tried[-1])
    killed = instances.processes[handling].process
    assert killed is not None
    await instances.kill(handling)
    release.set()

    greeting = await fake_api.wait_for_message(anna.id, timeout=40)
    assert "Ich bin der Bot von KV Testhausen." in greeting.text
    consent = await fake_api.wait_for_message(anna.id, timeout=20)
    assert "Einverstanden" in str(consent.buttons)
    await fake_api.wait_until(lambda: not fake_api.pending_updates, timeout=20)
    # Handled once, by an instance that lives, and marked done.
    texts = [m.text for m in fake_api.sent_to(anna.id)]
    assert texts.count(greeting.text) == 1
    assert texts.count(consent.text) == 1
    survivors = {url for number, url in enumerate(instances.urls) if number != handling}
    assert instances.proxy.tried[-1] in survivors
    claim = await _claim_once_done(session_pool, update["update_id"])
    assert claim.owner is not None
    assert f":{killed.pid}:" not in claim.owner
    logs = instances.logs()
    assert f"update {update['update_id']} taken over from" in logs, logs


async def _claim_once_done(pool: SessionPool, update_id: int) -> ProcessedUpdate:
    """The update's claim once it is marked done (within the ledger's flush, a second)."""
    for _ in range(100):
        async with pool() as session:
            claim = await session.get(ProcessedUpdate, update_id)
            if claim is not None and claim.done_at is not None:
                return claim
        await asyncio.sleep(0.1)
    pytest.fail(f"update {update_id} was not marked done")


async def _broadcast_panel(
    fake_api: FakeBotAPI, admin_user: FakeUser, text: str, members: int
) -> SentMessage:
    await admin_user.send_message("/rundschreiben")
    await fake_api.wait_for_message(admin_user.id, timeout=20)
    await admin_user.send_message(text)
    panel = await fake_api.wait_for_message(admin_user.id, timeout=20)
    assert f"Empfänger:innen: {members}" in panel.text
    await admin_user.press(panel, _button(panel, "Jetzt senden"), must_exist=True)
    await fake_api.wait_until(lambda: "Ja, senden" in str(panel.buttons), timeout=20)
    return panel


async def _members(
    fake_api: FakeBotAPI, database_url: str, session_pool: SessionPool, count: int
) -> list[FakeUser]:
    await _setup(database_url, "name: KV\ndistricts: [Mitte]\n")
    people = [fake_api.add_user(first_name=f"M{n}") for n in range(count)]
    for person in people:
        await signed_up(session_pool, person, district="Mitte")
    return people


@ON_POSTGRES
async def test_a_broadcast_goes_out_once_from_three_instances(
    instances: Instances,
    fake_api: FakeBotAPI,
    admin_user: FakeUser,
    database_url: str,
    session_pool: SessionPool,
) -> None:
    people = await _members(fake_api, database_url, session_pool, 30)
    await instances.start()
    panel = await _broadcast_panel(fake_api, admin_user, "Sommerfest am Samstag", len(people))
    await admin_user.press(panel, _button(panel, "Ja, senden"), must_exist=True)
    report = await fake_api.wait_for_message(
        admin_user.id,
        predicate=lambda sent: (sent.text or "").startswith("Rundschreiben #1 ist fertig."),
        timeout=60,
    )
    assert f"Zugestellt: {len(people)} von {len(people)}" in report.text
    for person in people:
        copies = [m for m in fake_api.sent_to(person.id) if m.method == "copyMessage"]
        assert len(copies) == 1, person
    # Three workers drew from one send rate: Telegram's limits held.
    breaches = [line for line in fake_api.limit_breaches() if f"to {admin_user.id})" not in line]
    assert breaches == []


def _callback_update(
    fake_api: FakeBotAPI, user: FakeUser, panel: SentMessage, data: str
) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": uuid.uuid4().hex[:16],
            "from": user.as_dict(),
            "message": panel.as_message(),
            "chat_instance": "7",
            "data": data,
        }
    }


@ON_POSTGRES
async def test_a_double_send_now_on_two_instances_makes_one_broadcast(
    instances: Instances,
    fake_api: FakeBotAPI,
    admin_user: FakeUser,
    database_url: str,
    session_pool: SessionPool,
) -> None:
    people = await _members(fake_api, database_url, session_pool, 5)
    await instances.start()
    panel = await _broadcast_panel(fake_api, admin_user, "Doppelt getippt", len(people))
    data = _button(panel, "Ja, senden")
    # Both taps at once, each straight to another instance (as two load-balancer picks).
    statuses = await asyncio.gather(
        *(
            fake_api.post_to_webhook(
                _callback_update(fake_api, admin_user, panel, data), url=f"{url}/telegram"
            )
            for url in instances.urls[:2]
        )
    )
    assert statuses == [200, 200]
    await fake_api.wait_until(
        lambda: all(
            any(m.method == "copyMessage" for m in fake_api.sent_to(person.id)) for person in people
        ),
        timeout=60,
    )
    await asyncio.sleep(3)  # a second broadcast would be under way by now
    async with session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 1
    for person in people:
        copies = [m for m in fake_api.sent_to(person.id) if m.method == "copyMessage"]
        assert len(copies) == 1, person


@ON_POSTGRES
async def test_the_monday_digest_fired_on_three_instances_goes_out_once(
    app: Application, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    """Each instance's clock fires the digest at the same time; one run queues it.

    Three schedulers in this process play the three instances (each claims as its own holder)
    and run the real job: the processes' clocks can't be moved to a Monday morning.
    """
    organiser = fake_api.add_user(first_name="Olga", language_code="de")
    now = utcnow()
    async with app.session_pool() as session:
        session.add(
            Member(id=organiser.id, first_name="Olga", roles=[MemberRole(role=Role.ORGANISER)])
        )
        newcomer = Member(id=10_000_000_001, first_name="Nele", created_at=now - timedelta(days=20))
        newcomer.profile = Profile(member_id=newcomer.id, intake_completed_at=now)
        session.add(newcomer)
        await session.commit()

    fire = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    trigger = CronTrigger(
        year=fire.year,
        month=fire.month,
        day=fire.day,
        hour=fire.hour,
        minute=fire.minute,
        second=fire.second,
        timezone=UTC,
    )
    schedulers = []
    for number in range(INSTANCES):
        scheduler = create_scheduler()
        scheduler.add_job(
            "jobs.onboarding:newcomer_digest",
            trigger=trigger,
            id="onboarding-newcomer-digest",
            kwargs={"ctx": app.job_context()},
        )
        scheduler._executors["default"].holder = Holder(f"instance-{number}", number + 1, "t")
        schedulers.append(scheduler)
    for scheduler in schedulers:
        scheduler.start()
    try:
        await asyncio.sleep(5)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)

    async with app.session_pool() as session:
        rows = Counter(await session.scalars(select(Delivery.recipient_id)))
    # Once for each organiser (ADMIN_IDS' admin is one too), not once per instance.
    assert organiser.id in rows
    assert set(rows.values()) == {1}, rows


async def test_without_redis_a_second_instance_refuses_to_start(
    spawn: Callable[..., BotProcess], fake_api: FakeBotAPI
) -> None:
    """On either backend: one line, exit code 3; after a clean stop the next starts at once."""
    first = spawn("first")
    await first.start("run")
    try:
        await fake_api.wait_until(lambda: fake_api.get_updates_calls > 0, timeout=STARTUP_TIMEOUT)
    except AssertionError:
        pytest.fail(f"the first instance did not start polling; its log:\n{first.log()}")
    second = spawn("second")
    await second.start("run")
    assert second.process is not None
    code = await asyncio.wait_for(second.process.wait(), timeout=STARTUP_TIMEOUT)
    lines = second.log().strip().splitlines()
    assert code == 3, lines
    assert lines[-1].startswith("Another Mitmachbot instance runs against this database (host ")
    assert "set REDIS_URL to run several instances" in lines[-1]
    assert not any("Traceback" in line for line in lines), lines

    assert await first.stop() == 0
    calls = fake_api.get_updates_calls
    third = spawn("third")
    await third.start("run")
    await fake_api.wait_until(lambda: fake_api.get_updates_calls > calls, timeout=STARTUP_TIMEOUT)
    assert await third.stop() == 0
