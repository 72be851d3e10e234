"""/healthz, /readyz and /metrics of the real application over real HTTP (issue #13).

The bot runs by long polling or by webhook against the fake Bot API, as in test_db_outage,
whose outages (SQLite's write lock held by another process, PostgreSQL closed to connections)
make /readyz fail until they end.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app import Application
from bot.services import delivery
from bot.services.kv_setup import apply_setup, load_setup
from bot.settings import Settings
from models import Delivery, DeliveryStatus
from models.base import utcnow
from tests.e2e.test_db_outage import (
    _sqlite_file,
    pg_scratch_url,  # noqa: F401 - a fixture, used by name
    postgres_closed,
    running,
    sqlite_writer_lock,
)
from tests.e2e.test_process import BotProcess, _start_polling
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

pytestmark = pytest.mark.e2e

READY = {"ready": True, "database": "ok", "telegram": "ok"}


async def get(app: Application, path: str) -> tuple[int, str]:
    """GET `path` from the bot's web server: status and body."""
    _host, port = app.settings.webhook_host_port
    async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{port}{path}") as r:
        return r.status, await r.text()


async def readyz(app: Application) -> tuple[int, dict[str, Any]]:
    status, body = await get(app, "/readyz")
    return status, json.loads(body)


async def eventually(
    probe: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
    want: int,
    within: float = 20.0,
) -> dict[str, Any]:
    """Ask `probe` until it answers `want` (for up to `within` seconds); its last body."""
    deadline = time.monotonic() + within
    while True:
        status, body = await probe()
        if status == want:
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"still {status} {body} after {within} s, wanted {want}")
        await asyncio.sleep(0.2)


def no_secrets(body: str, settings: Settings, *people: FakeUser) -> None:
    """Nothing in `body` names the token, the webhook, a database or a member."""
    assert settings.bot_token.get_secret_value() not in body
    assert "127.0.0.1" not in body
    assert "sqlite" not in body
    assert "postgres" not in body
    for person in people:
        assert str(person.id) not in body
        assert person.first_name not in body


# --- liveness and readiness -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_healthz_and_readyz_answer_in_both_modes(
    settings: Settings, fake_api: FakeBotAPI, admin_user: FakeUser, mode: str
) -> None:
    async with running(settings, fake_api, mode) as app:
        assert await get(app, "/healthz") == (200, '{"ok": true}')
        status, body = await get(app, "/readyz")
        assert (status, json.loads(body)) == (200, READY)
        no_secrets(body, settings, admin_user)
        if mode == "webhook":
            # No update has come yet: Telegram's view of the webhook vouched for it.
            await fake_api.wait_for_request("getWebhookInfo", answered=True, timeout=1)
        else:
            assert not [r for r in fake_api.requests if r.method == "getWebhookInfo"]
        # /metrics is off unless METRICS_ENABLED.
        assert (await get(app, "/metrics"))[0] == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_readyz_fails_while_sqlite_is_locked_and_recovers(
    settings: Settings, database_url: str, fake_api: FakeBotAPI, mode: str
) -> None:
    settings = settings.model_copy(update={"sqlite_busy_timeout_seconds": 1.0})
    async with running(settings, fake_api, mode) as app:
        await eventually(lambda: readyz(app), 200)
        async with sqlite_writer_lock(_sqlite_file(database_url)):
            started = time.monotonic()
            status, body = await readyz(app)
            assert (status, body["ready"], body["telegram"]) == (503, False, "ok")
            assert body["database"] == "unavailable: OperationalError (database is locked)"
            # Bounded: the check gives up after a few seconds, not the 30 s busy timeout.
            assert time.monotonic() - started < 10
            # Liveness is not readiness: the event loop still answers.
            assert (await get(app, "/healthz"))[0] == 200
        assert await readyz(app) == (200, READY)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_readyz_fails_while_postgres_is_closed_and_recovers(
    settings: Settings,
    pg_scratch_url: str,  # noqa: F811 - the fixture imported above
    fake_api: FakeBotAPI,
) -> None:
    settings = settings.model_copy(update={"database_url": pg_scratch_url})
    name = make_url(pg_scratch_url).database or ""
    async with running(settings, fake_api, "polling") as app:
        assert await readyz(app) == (200, READY)
        async with postgres_closed(name):
            status, body = await readyz(app)
            assert (status, body["telegram"]) == (503, "ok")
            assert body["database"].startswith("unavailable: ")
            no_secrets(json.dumps(body), settings)
        # The pool's killed connections are replaced on the next check.
        await eventually(lambda: readyz(app), 200)
        assert await readyz(app) == (200, READY)


async def test_readyz_fails_while_get_updates_fails_and_recovers(
    settings: Settings, fake_api: FakeBotAPI
) -> None:
    settings = settings.model_copy(update={"ready_max_age_seconds": 1.0})
    async with running(settings, fake_api, "polling") as app:
        assert await readyz(app) == (200, READY)
        # Telegram's side goes bad: every getUpdates from now on answers 502.
        fault = fake_api.fail("getUpdates", status=502, times=1_000_000)
        # The long poll waiting now comes back with this update; the next ones fail.
        member = fake_api.add_user(first_name="Mitglied", language_code="de")
        await member.send_message("/start")
        body = await eventually(lambda: readyz(app), 503)
        assert body["database"] == "ok"
        assert re.fullmatch(r"no successful getUpdates for \d+ s", body["telegram"])
        fake_api.faults.remove(fault)
        await eventually(lambda: readyz(app), 200)


async def test_webhook_readyz_follows_updates_and_telegrams_webhook_info(
    settings: Settings, fake_api: FakeBotAPI
) -> None:
    async with running(settings, fake_api, "webhook") as app:
        app.readiness.webhook_info_ttl = 0.0  # ask Telegram on every probe
        assert await readyz(app) == (200, READY)
        # The bot and Telegram disagree about the secret: deliveries fail with 401.
        assert fake_api.webhook is not None
        secret = fake_api.webhook["secret_token"]
        fake_api.webhook["secret_token"] = "not-the-secret"
        member = fake_api.add_user(first_name="Mitglied", language_code="de")
        await member.send_message("/start")
        await fake_api.wait_until(
            lambda: any(status == 401 for _id, status in fake_api.webhook_deliveries)
        )
        status, body = await readyz(app)
        assert status == 503
        assert re.fullmatch(
            r"Telegram reported a failed webhook delivery \d+ s ago", body["telegram"]
        )
        # Mended: the updates arrive, and an update is itself the sign of life.
        fake_api.webhook["secret_token"] = secret
        await member.send_message("/hilfe")
        await fake_api.wait_for_message(member.id, timeout=15)
        calls = len([r for r in fake_api.requests if r.method == "getWebhookInfo"])
        assert await readyz(app) == (200, READY)
        assert len([r for r in fake_api.requests if r.method == "getWebhookInfo"]) == calls
        # With the webhook gone (another deployment took over), quiet means not ready.
        app.readiness.max_age = 0.01
        await asyncio.sleep(0.05)
        fake_api.webhook = None
        status, body = await readyz(app)
        assert (status, body["telegram"]) == (503, "the webhook is not registered with Telegram")


# The Docker HEALTHCHECK's command (python-slim has no curl): exit 0 when /readyz answers 200,
# else 1 with urllib's error ("HTTP Error 503: Service Unavailable", "Connection refused").
HEALTHCHECK = (
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/readyz', timeout=10)"
)


async def healthcheck(port: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HEALTHCHECK.format(port=port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=30)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_docker_healthcheck_command_against_the_running_process(
    spawn: Callable[..., BotProcess], fake_api: FakeBotAPI, database_url: str
) -> None:
    bot = spawn()
    port = bot.env["WEBHOOK_LISTEN"].rpartition(":")[2]
    await _start_polling(fake_api, bot)
    assert await healthcheck(port) == 0
    async with sqlite_writer_lock(_sqlite_file(database_url)):
        assert await healthcheck(port) == 1
    assert await healthcheck(port) == 0
    assert await bot.stop() == 0, bot.log()
    assert await healthcheck(port) == 1  # nobody listening


# --- metrics ----------------------------------------------------------------------------------


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of the exposition by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def _data(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if label in text]
    return data


async def test_metrics_count_updates_deliveries_retries_and_jobs(
    settings: Settings, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    members_count = 12
    settings = settings.model_copy(update={"metrics_enabled": True})
    async with running(settings, fake_api, "polling") as app:
        async with app.session_pool() as session:
            await apply_setup(session, load_setup("name: KV\ndistricts: [Mitte]\n"))
            await session.commit()
        members = [fake_api.add_user(first_name=f"Mitglied{n}") for n in range(members_count)]
        for member in members:
            await signed_up(app.session_pool, member, district="Mitte")
        fake_api.block_many(member.id for member in members[:2])

        # A reply hits Telegram's rate limit once and is sent again.
        fake_api.fail("sendMessage", status=429, retry_after=1, chat_id=admin_user.id)
        await admin_user.send_message("/rundschreiben")
        await fake_api.wait_for_message(admin_user.id, timeout=15)
        await admin_user.send_message("Sommerfest am Samstag")
        panel = await fake_api.wait_for_message(admin_user.id)
        await admin_user.press(panel, _data(panel, "Jetzt senden"), must_exist=True)
        await fake_api.wait_until(lambda: "Jetzt" not in str(panel.buttons), timeout=5)
        await admin_user.press(panel, _data(panel, "Ja, senden"), must_exist=True)
        await fake_api.wait_for_message(
            admin_user.id,
            predicate=lambda sent: (sent.text or "").startswith("Rundschreiben #1 ist fertig."),
            timeout=30,
        )
        # The last update's log line (and count) comes after its reply went out.
        await fake_api.wait_until(lambda: app.dispatcher["in_flight"].count == 0)
        await asyncio.sleep(0.1)
        status, text = await get(app, "/metrics")
        async with app.session_pool() as session:
            by_status = dict(
                (
                    await session.execute(
                        select(Delivery.status, func.count()).group_by(Delivery.status)
                    )
                ).all()
            )
    assert status == 200
    found = samples(text)

    # Two messages and two button presses, each handled once.
    assert value(found, "mitmachbot_updates_total", type="message", outcome="ok") == 2
    assert value(found, "mitmachbot_updates_total", type="callback_query", outcome="ok") == 2
    assert value(found, "mitmachbot_update_duration_seconds_count", type="message") == 2
    assert value(found, "mitmachbot_update_duration_seconds_sum", type="message") > 0
    # The outbox: as many sent and unreachable as the database says, nothing left to send.
    sent = by_status[DeliveryStatus.SENT]
    assert sent >= members_count - 2
    assert value(found, "mitmachbot_outbox_deliveries_total", outcome="sent") == sent
    assert value(found, "mitmachbot_outbox_deliveries_total", outcome="unreachable") == 2
    assert by_status[DeliveryStatus.BLOCKED] == 2
    assert value(found, "mitmachbot_outbox_pending") == 0
    # The 429 paused everybody once and the reply was retried once.
    assert value(found, "mitmachbot_telegram_rate_limited_total") == 1
    retried = {"method": "sendMessage", "reason": "rate_limited"}
    assert value(found, "mitmachbot_telegram_request_retries_total", **retried) == 1
    assert value(found, "mitmachbot_database_retries_total") == 0
    # The scheduler: the horizons ran at start-up, the broadcast job every 2 s, all on time.
    assert (
        value(found, "mitmachbot_scheduler_job_runs_total", job="meetings-horizon", outcome="ok")
        == 1
    )
    runs = value(
        found, "mitmachbot_scheduler_job_runs_total", job="broadcasts-progress", outcome="ok"
    )
    assert runs >= 1
    late = value(
        found, "mitmachbot_scheduler_job_lateness_seconds_count", job="broadcasts-progress"
    )
    assert late >= runs
    # No label value is anyone's id or name.
    people = [admin_user, *members]
    for _name, labels in found:
        for key, label in labels:
            if key == "le":  # a histogram's bucket bound
                continue
            assert not re.search(r"\d{3,}", label), label
            assert all(str(p.id) not in label and p.first_name not in label for p in people)
    # (Ids are looked for in labels only: sample values are numbers that may contain any digits.)
    no_secrets(text, settings)
    assert not any(p.first_name in text for p in people)


async def test_outbox_pending_is_counted_at_scrape_time(
    settings: Settings, fake_api: FakeBotAPI
) -> None:
    settings = settings.model_copy(update={"metrics_enabled": True})
    async with running(settings, fake_api, "polling") as app:
        assert app.metrics is not None
        await app.worker.stop()  # nothing is sent meanwhile
        async with app.session_pool() as session:
            delivery.enqueue(session, [11, 12, 13, 14], kind="text", payload={}, due_at=utcnow())
            await session.commit()
        found = samples((await get(app, "/metrics"))[1])
        assert value(found, "mitmachbot_outbox_pending") == 4


async def test_with_a_token_metrics_answer_only_who_brings_it(
    settings: Settings, fake_api: FakeBotAPI
) -> None:
    token = "prometheus-scrape-0123456789"
    settings = settings.model_copy(
        update={"metrics_enabled": True, "metrics_token": SecretStr(token)}
    )
    async with running(settings, fake_api, "polling") as app:
        _host, port = app.settings.webhook_host_port
        url = f"http://127.0.0.1:{port}/metrics"
        async with aiohttp.ClientSession() as client:
            for headers in (
                {},
                {"Authorization": "Bearer wrong-token-0123456789"},
                {"Authorization": f"Basic {token}"},
                {"Authorization": f"Bearer {token}x"},
            ):
                async with client.get(url, headers=headers) as response:
                    assert response.status == 401, headers
                    assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
                    assert "mitmachbot_" not in await response.text()
            async with client.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 200
                assert "mitmachbot_updates_total" in await response.text()
            # The other routes ask for nothing.
            async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200


@pytest.mark.parametrize("token", ["short", "  0123456789abcde "])
def test_a_metrics_token_too_short_is_refused(settings: Settings, token: str) -> None:
    with pytest.raises(ValidationError, match="too short"):
        Settings.model_validate({**settings.model_dump(), "metrics_token": token})
    blank = Settings.model_validate({**settings.model_dump(), "metrics_token": "  "})
    assert blank.metrics_token is None
