"""The Mini App in a real headless browser (Playwright driving the system's Chromium): it loads
with genuine initData and draws its charts, refuses forged or expired initData and members
without the organiser role, and what it draws is really on the screen (a screenshot checked).

The page is served by a real aiohttp server on 127.0.0.1 over a seeded database, the report
injected; Telegram is not needed: initData sits in the URL fragment as Telegram clients put it.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from bot.db.session import SessionPool
from tests.driver import free_port
from tests.miniapp import (
    ENGLISH_ORGANISER_ID,
    MEMBER_ID,
    ORGANISER_ID,
    FakeReports,
    build_app,
    init_data_for,
    seed,
    settings,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
# Generous: the machine running the tests may be busy.
TIMEOUT_MS = 30_000


def _playwright() -> Any:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the dev lock: scripts/setup.sh dev)")
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "no Chromium binary (install the OS package 'chromium'; scripts/test.sh does as "
            "root on Debian)"
        )
    return async_playwright


@pytest.fixture
async def base_url(database_url: str, session_pool: SessionPool) -> AsyncIterator[str]:
    """The Mini App on a real server, over a database with an organiser, a member, an info
    stand, newcomers and a broadcast."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser test runs once, on SQLite (the API tests cover PostgreSQL)")
    await seed(session_pool)
    port = free_port()
    runner = web.AppRunner(build_app(settings(database_url), session_pool, reports=FakeReports()))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async_playwright = _playwright()
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
            )
        except Exception as exc:  # a Chromium that doesn't start here (missing libraries)
            pytest.skip(f"Chromium at {CHROMIUM} does not start: {exc}")
        yield launched
        await launched.close()


def _url(base_url: str, init_data: str | None, theme: dict[str, str] | None = None) -> str:
    if init_data is None:
        return f"{base_url}/app/"
    url = f"{base_url}/app/#tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=7.0"
    if theme is not None:
        url += "&tgWebAppThemeParams=" + quote(json.dumps(theme), safe="")
    return url


async def _open(browser: Any, url: str) -> Any:
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.errors = errors
    await page.goto(url)
    await page.wait_for_function(
        "() => ['ready', 'error'].includes(document.body.dataset.state)",
        timeout=TIMEOUT_MS,
    )
    return page


def _colours(png: bytes) -> tuple[int, bool]:
    """How many colours the screenshot has, and whether it is all white."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    all_white = len(colours) == 1 and colours[0][1] == (255, 255, 255)
    return len(colours), all_white


async def test_an_organiser_sees_the_charts(base_url: str, browser: Any, tmp_path: Path) -> None:
    page = await _open(browser, _url(base_url, init_data_for(ORGANISER_ID)))
    assert await page.get_attribute("body", "data-state") == "ready"
    assert page.errors == []
    assert await page.text_content("#title") == "Übersicht"
    assert "KV Testhausen" in (await page.text_content("#kv") or "")
    # The funnel's figures and labels, the "< 3" among them, as SVG text.
    funnel = await page.text_content("#funnel svg")
    assert "In eine KV-Gruppe eingetreten" in (funnel or "")
    assert "41" in (funnel or "")
    assert "< 3" in (funnel or "")
    for chart in ("funnel", "staffing", "newcomers", "attendance", "districts"):
        bars = await page.locator(f"#{chart} svg rect.bar").count()
        assert bars > 0, chart
        width = await page.locator(f"#{chart} svg").evaluate("svg => svg.getBBox().width")
        assert width > 50, chart
    assert "Infostand Markt" in (await page.text_content("#staffing") or "")
    assert "5 von 6" in (await page.text_content("#staffing") or "")
    assert await page.text_content("#newcomers-total") == "3"
    broadcasts = await page.text_content("#broadcasts") or ""
    # The organiser's summary is shown as text, its markup not interpreted.
    assert "Sommerfest am <b>Samstag</b> & mehr" in broadcasts
    assert await page.locator("#broadcasts b").count() == 0

    shot = await page.screenshot(full_page=True)
    (tmp_path / "dashboard.png").write_bytes(shot)
    colours, all_white = _colours(shot)
    assert shot.startswith(b"\x89PNG")
    assert colours > 1
    assert not all_white
    await page.close()


DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
}


async def test_telegrams_theme_colours(base_url: str, browser: Any, tmp_path: Path) -> None:
    """The colours Telegram passes in the fragment are used (here a dark theme)."""
    page = await _open(browser, _url(base_url, init_data_for(ORGANISER_ID), DARK))
    assert await page.get_attribute("body", "data-state") == "ready"
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    bar = await page.locator("#funnel svg rect.bar").first.evaluate(
        "rect => getComputedStyle(rect).fill"
    )
    assert (background, bar) == ("rgb(23, 33, 43)", "rgb(82, 136, 193)")
    shot = await page.screenshot(full_page=True)
    (tmp_path / "dashboard-dark.png").write_bytes(shot)
    colours, all_white = _colours(shot)
    assert colours > 1
    assert not all_white
    await page.close()


async def test_the_period_switch_loads_other_figures(base_url: str, browser: Any) -> None:
    page = await _open(browser, _url(base_url, init_data_for(ORGANISER_ID)))
    assert "20.04.2026" in (await page.text_content("#kv") or "")
    await page.click("button[data-period='previous_half_year']")
    await page.wait_for_function(
        "() => document.body.dataset.period === 'previous_half_year' "
        "&& document.body.dataset.state === 'ready'",
        timeout=TIMEOUT_MS,
    )
    assert "01.07.2025" in (await page.text_content("#kv") or "")
    pressed = await page.get_attribute("button[data-period='previous_half_year']", "aria-pressed")
    assert pressed == "true"
    await page.close()


async def test_the_page_speaks_the_organisers_language(base_url: str, browser: Any) -> None:
    page = await _open(browser, _url(base_url, init_data_for(ENGLISH_ORGANISER_ID)))
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.text_content("#funnel-title") == "From joining to taking part"
    await page.close()


@pytest.mark.parametrize(
    ("case", "init_data", "message"),
    [
        ("forged", init_data_for(ORGANISER_ID)[:-6] + "abcdef", "ließ sich nicht prüfen"),
        ("expired", init_data_for(ORGANISER_ID, age=timedelta(days=3)), "abgelaufen"),
        ("member", init_data_for(MEMBER_ID), "nur für Organisator:innen"),
        ("missing", None, "Menüknopf"),
    ],
)
async def test_refused(
    base_url: str, browser: Any, case: str, init_data: str | None, message: str
) -> None:
    page = await _open(browser, _url(base_url, init_data))
    assert await page.get_attribute("body", "data-state") == "error", case
    assert message in (await page.text_content("#error-text") or ""), case
    assert not await page.locator("#content").is_visible()
    # No figure made it onto the page.
    assert await page.locator("svg").count() == 0
    assert (await page.text_content("#newcomers-total") or "") == ""
    await page.close()


async def test_no_request_leaves_the_server(base_url: str, browser: Any) -> None:
    """Everything the page needs comes from the bot's own server (works offline)."""
    page = await browser.new_page()
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(request.url.split("/")[2]))
    await page.goto(_url(base_url, init_data_for(ORGANISER_ID)))
    await page.wait_for_function(
        "() => document.body.dataset.state === 'ready'", timeout=TIMEOUT_MS
    )
    await asyncio.sleep(0.2)
    assert set(hosts) == {base_url.split("/")[2]}
    await page.close()
