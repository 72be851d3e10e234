"""End to end: the bot process in polling mode serves the calendar feeds over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from icalendar import Calendar

from bot.db.session import SessionPool
from bot.services import schedule
from bot.services.kv_setup import apply_setup, load_setup
from models.base import utcnow
from tests.driver import free_port
from tests.e2e.test_process import BotProcess, _start_polling
from tests.fakebotapi import FakeBotAPI
from tests.members import signed_up

pytestmark = pytest.mark.e2e

BERLIN = ZoneInfo("Europe/Berlin")

SETUP = """
name: KV Testhausen
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    meets: jeden Donnerstag 19 Uhr
    place: Café Rosa
    open_to_non_members: true
"""


async def _get(url: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


async def test_polling_bot_serves_personal_and_public_feeds(
    spawn: Callable[..., BotProcess],
    bot_env: dict[str, str],
    fake_api: FakeBotAPI,
    session_pool: SessionPool,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bot_env.update(WEBHOOK_LISTEN=f"127.0.0.1:{port}", PUBLIC_URL=base, TIMEZONE="Europe/Berlin")
    async with session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await schedule.extend_horizon(session, now=utcnow(), zone=BERLIN)
        await session.commit()
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(session_pool, anna, group="Stammtisch Mitte")

    bot = spawn()
    await _start_polling(fake_api, bot)
    status, _type, _body = await _get(f"{base}/healthz")
    assert status == 200

    await anna.send_message("/kalender")
    overview = await fake_api.wait_for_message(anna.id, timeout=15)
    buttons = dict(overview.buttons)
    await anna.press(overview, buttons["🔗 In meinem Kalender abonnieren"])
    shown = await fake_api.wait_for_message(anna.id, timeout=15)
    match = re.search(re.escape(base) + r"/calendar/[A-Za-z0-9_-]+\.ics", shown.text or "")
    assert match is not None, shown.text
    link = match.group(0)

    status, content_type, body = await _get(link)
    assert status == 200
    assert content_type == "text/calendar; charset=utf-8"
    feed = Calendar.from_ical(body)
    assert feed.timezones[0].tz_name == "Europe/Berlin"
    events = list(feed.events)
    assert events
    assert {str(event["summary"]) for event in events} == {"Stammtisch Mitte"}
    assert all(event.decoded("dtstart").astimezone(BERLIN).hour == 19 for event in events)

    status, content_type, body = await _get(f"{base}/calendar/kv.ics")
    assert status == 200
    assert b"Anna" not in body
    [series] = Calendar.from_ical(body).events
    assert "rrule" in series

    # A new link: the old one is refused at once.
    await anna.send_message("/kalender")
    overview = await fake_api.wait_for_message(anna.id, timeout=15)
    await anna.press(overview, dict(overview.buttons)["🔄 Neuer Link (der alte wird ungültig)"])
    renewed = await fake_api.wait_for_message(anna.id, timeout=15)
    assert (renewed.text or "").startswith("Hier ist dein neuer Link")
    status, _type, _body = await _get(link)
    assert status == 404
    assert await bot.stop() == 0
    log = bot.log()
    assert "Traceback" not in log
    assert link.rsplit("/", 1)[1] not in log  # the secret stays out of the log
