"""The Mini App over HTTP (aiohttp's test server): the page, the API's figures for organisers,
masking, headers, and refusals that carry no data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Application
from bot.db.session import SessionPool
from bot.i18n import create_i18n
from bot.miniapp.payload import figure
from bot.miniapp.routes import MiniAppRoutes
from bot.services.reports.model import Report
from bot.web import build_web_app
from tests.miniapp import (
    ADMIN_ID,
    BROADCAST_SUMMARY,
    ENGLISH_ORGANISER_ID,
    MEMBER_ID,
    NOW,
    ORGANISER_ID,
    FakeReports,
    build_app,
    init_data_for,
    seed,
    settings,
)

API = "/app/api/dashboard"


@pytest.fixture
async def reports() -> FakeReports:
    return FakeReports()


@pytest.fixture
async def client(
    database_url: str, session_pool: SessionPool, reports: FakeReports
) -> AsyncIterator[TestClient[Any, Any]]:
    await seed(session_pool)
    web_app = build_app(settings(database_url), session_pool, reports=reports)
    async with TestClient(TestServer(web_app)) as test_client:
        yield test_client


async def _get(
    client: TestClient[Any, Any], init_data: str | None, period: str | None = None
) -> tuple[int, dict[str, Any], Any]:
    headers = {"Authorization": f"tma {init_data}"} if init_data is not None else {}
    params = {"period": period} if period else {}
    response = await client.get(API, headers=headers, params=params)
    return response.status, await response.json(), response.headers


def _security_headers(headers: Any) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy


async def test_an_organiser_gets_the_figures_masked(
    client: TestClient[Any, Any], reports: FakeReports
) -> None:
    status, body, headers = await _get(client, init_data_for(ORGANISER_ID))
    assert status == 200
    _security_headers(headers)
    assert reports.asked == ["last_30_days"]
    assert body["locale"] == "de"
    assert body["period"] == "last_30_days"
    assert body["labels"]["funnel"] == "Vom Eintritt zum Mitmachen"
    assert body["periods"]["last_30_days"] == "Letzte 30 Tage"

    report = body["report"]
    assert report["kv_name"] == "KV Testhausen"
    funnel = [(step["label"], step["text"], step["bar"]) for step in report["funnel"]]
    assert funnel[0] == ("In eine KV-Gruppe eingetreten", "41", 41)
    # 2 people came to a first meeting: shown as "< 3", drawn like a 1 would be.
    assert funnel[-1][1:] == ("< 3", 2)
    districts = {item["label"]: item["text"] for item in report["districts"]}
    assert districts == {"Nordstadt": "64", "Südstadt": "38", "Weststadt": "< 3"}
    attendance = [(item["label"], item["text"]) for item in report["attendance"]]
    assert [text for _label, text in attendance] == ["14", "19", "< 3"]
    assert attendance[0][0].startswith("März")
    [actions] = report["actions"]
    assert (actions["label"], actions["dates"], actions["shifts_filled"]) == (
        "Infostand",
        "3",
        "4 von 6",
    )

    # The info stand in four days; the one in 30 days is beyond the 14 days.
    [stand] = body["staffing"]
    assert stand["label"].startswith("Infostand Markt · ")
    assert (stand["text"], stand["needed"], stand["shifts"], stand["shifts_short"]) == (
        "5",
        6,
        2,
        1,
    )
    assert (stand["summary"], stand["note"]) == ("5 von 6", "1 Schicht unterbesetzt")
    newcomers = body["newcomers"]
    assert newcomers["total"]["text"] == "3"
    assert [(item["label"], item["text"]) for item in newcomers["districts"]] == [
        ("Nordstadt", "< 3"),
        ("Kein Stadtteil", "< 3"),
    ]
    [broadcast] = body["broadcasts"]
    assert broadcast["summary"] == BROADCAST_SUMMARY  # the page puts it in as text
    assert broadcast["category"] == "Ankündigungen"
    assert (
        broadcast["total"],
        broadcast["delivered"],
        broadcast["unreachable"],
        broadcast["opted_out"],
    ) == ("7", "6", "< 3", "< 3")


def _small_figures(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("small") is True else []
        return found + [item for value in node.values() for item in _small_figures(value)]
    if isinstance(node, list):
        return [item for value in node for item in _small_figures(value)]
    return []


async def test_no_small_count_reaches_the_browser(client: TestClient[Any, Any]) -> None:
    """Every masked figure looks the same whether it was 1 or 2."""
    with create_i18n("de").context():
        assert figure(1) == figure(2) == {"text": "< 3", "bar": 2, "small": True}
        assert figure(0) == {"text": "0", "bar": 0, "small": False}
        assert figure(1428) == {"text": "1.428", "bar": 1428, "small": False}
    _status, body, _headers = await _get(client, init_data_for(ORGANISER_ID))
    small = _small_figures(body)
    assert len(small) == 5  # funnel, Weststadt, May, newcomers in Nordstadt and in none
    assert all(item["text"] == "< 3" and item["bar"] == 2 for item in small)
    # The broadcast's 1 unreachable and 1 opted out, the district's 1 member: no bare "1".
    assert '"1"' not in str(body).replace("'", '"')


async def test_an_admin_from_admin_ids_gets_in(client: TestClient[Any, Any]) -> None:
    status, body, _headers = await _get(client, init_data_for(ADMIN_ID))
    assert status == 200
    assert body["report"] is not None


async def test_the_viewers_language(client: TestClient[Any, Any]) -> None:
    # Chose English with /sprache: English whatever Telegram says.
    _status, body, _headers = await _get(
        client, init_data_for(ENGLISH_ORGANISER_ID, language_code="de")
    )
    assert body["locale"] == "en"
    assert body["labels"]["funnel"] == "From joining to taking part"
    assert body["report"]["actions"][0]["shifts_filled"] == "4 of 6"
    # No choice stored: Telegram's language.
    _status, body, _headers = await _get(client, init_data_for(ORGANISER_ID, language_code="en"))
    assert body["locale"] == "en"
    # A language the bot doesn't speak: German.
    _status, body, _headers = await _get(client, init_data_for(ORGANISER_ID, language_code="fr"))
    assert body["locale"] == "de"


async def test_the_period_switch(client: TestClient[Any, Any], reports: FakeReports) -> None:
    for period, first in (("half_year", "01.01.2026"), ("previous_half_year", "01.07.2025")):
        status, body, _headers = await _get(client, init_data_for(ORGANISER_ID), period)
        assert status == 200
        assert body["period"] == period
        assert body["report"]["first_day"] == first
    assert reports.asked == ["half_year", "previous_half_year"]
    status, body, _headers = await _get(client, init_data_for(ORGANISER_ID), "forever")
    assert (status, body) == (400, {"error": "period"})


@pytest.mark.parametrize(
    ("case", "init_data", "status", "error"),
    [
        ("missing", None, 401, "missing"),
        ("forged", init_data_for(ORGANISER_ID)[:-4] + "abcd", 401, "invalid"),
        ("expired", init_data_for(ORGANISER_ID, age=timedelta(days=2)), 401, "expired"),
        ("member", init_data_for(MEMBER_ID), 403, "forbidden"),
        ("stranger", init_data_for(424242), 403, "forbidden"),
    ],
)
async def test_refusals_carry_no_data(
    client: TestClient[Any, Any],
    reports: FakeReports,
    case: str,
    init_data: str | None,
    status: int,
    error: str,
) -> None:
    got, body, headers = await _get(client, init_data)
    assert got == status, case
    assert body["error"] == error
    assert set(body) == {"error", "message", "locale"}
    assert body["message"]
    _security_headers(headers)
    assert reports.asked == []


async def test_a_refusal_speaks_the_signed_language(client: TestClient[Any, Any]) -> None:
    _got, body, _headers = await _get(client, init_data_for(MEMBER_ID, language_code="en"))
    assert body["message"] == "The dashboard is for organisers only."
    _got, body, _headers = await _get(client, None)
    assert body["locale"] == "de"


async def test_a_failing_report_leaves_the_rest(
    database_url: str, session_pool: SessionPool
) -> None:
    async def broken(session: AsyncSession, period_key: str, now: datetime) -> Report:
        raise RuntimeError("no figures today")

    await seed(session_pool)
    web_app = build_app(settings(database_url), session_pool, reports=broken)
    async with TestClient(TestServer(web_app)) as test_client:
        status, body, _headers = await _get(test_client, init_data_for(ORGANISER_ID))
    assert status == 200
    assert body["report"] is None
    assert body["staffing"]
    assert body["broadcasts"]


class _DatabaseAway:
    """A session pool whose sessions can't connect."""

    def __call__(self) -> _DatabaseAway:
        return self

    async def __aenter__(self) -> AsyncSession:
        raise OSError("database away")

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_an_internal_error_is_json_without_a_traceback(database_url: str) -> None:
    web_app = build_app(settings(database_url), _DatabaseAway())  # type: ignore[arg-type]
    async with TestClient(TestServer(web_app)) as test_client:
        response = await test_client.get(
            API, headers={"Authorization": f"tma {init_data_for(ORGANISER_ID)}"}
        )
        body = await response.text()
    assert response.status == 500
    assert body == '{"error": "internal"}'
    assert response.headers["Cache-Control"] == "no-store"


async def test_the_page(client: TestClient[Any, Any]) -> None:
    response = await client.get("/app/")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    policy = response.headers["Content-Security-Policy"]
    [nonce] = re.findall(r"'nonce-([^']+)'", policy)
    assert f'<script nonce="{nonce}">' in html
    # Nothing from elsewhere: no script source, no stylesheet link, no external address.
    assert "<script src" not in html
    assert 'rel="stylesheet"' not in html
    # The only addresses: SVG's namespace, and the Telegram web client the page tells it's ready.
    addresses = set(re.findall(r"https?://[^\"' )]+", html))
    assert addresses == {"http://www.w3.org/2000/svg", "https://web.telegram.org"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # A new nonce each time.
    again = await client.get("/app/")
    assert again.headers["Content-Security-Policy"] != policy
    redirect = await client.get("/app", allow_redirects=False)
    assert (redirect.status, redirect.headers["Location"]) == (302, "/app/")


async def test_the_bots_web_server_serves_it(app: Application) -> None:
    async with TestClient(TestServer(build_web_app(app))) as test_client:
        page = await test_client.get("/app/")
        refused = await test_client.get(API)
        assert page.status == 200
        assert refused.status == 401
        assert (await refused.json())["error"] == "missing"


async def test_the_dashboard_computes_the_real_report(
    database_url: str, session_pool: SessionPool
) -> None:
    # No injected report: what a running bot serves, computed by bot.services.reports.
    await seed(session_pool)
    web_app = web.Application()
    MiniAppRoutes(
        settings(database_url), session_pool, create_i18n("de"), clock=lambda: NOW
    ).register(web_app)
    async with TestClient(TestServer(web_app)) as test_client:
        status, body, _headers = await _get(test_client, init_data_for(ORGANISER_ID))
    assert status == 200
    report = body["report"]
    assert report is not None
    funnel = {bar["label"]: bar["text"] for bar in report["funnel"]}
    # The three newcomers of the seed joined 20 days ago and agreed; none joined a group.
    assert funnel["Chat mit dem Bot geöffnet"] == "3"
    assert funnel["Speicherung der Antworten zugestimmt"] == "3"
    assert funnel["Einer Gruppe beigetreten"] == "0"
    assert {bar["label"]: bar["text"] for bar in report["districts"]}["Nordstadt"] == "< 3"
