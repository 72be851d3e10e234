"""End to end: the bot process in polling mode serves the calendar feeds over real HTTP: a
member's meetings and shift in their feed, the open group, an Infostand and a Gedenktag in the
public one."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from icalendar import Calendar

from bot.db.session import SessionPool
from bot.services import field_actions, schedule, shifts
from bot.services.field_actions import PlannedShift
from bot.services.kv_setup import apply_setup, load_setup
from bot.services.recurrence import parse_rule, to_rrule
from models import ActionKind, Memorial, MemorialDate
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
    # An Infostand in four days, Anna on its second shift; a Gedenktag with the KV's event.
    now = utcnow()
    day = (now.astimezone(BERLIN) + timedelta(days=4)).date()
    async with session_pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title="Infostand Marktplatz",
            place="Marktplatz",
            shifts=(
                PlannedShift(time(9, 30), time(10, 0), 2, "Aufbau"),
                PlannedShift(time(10, 0), time(12, 0), 3),
            ),
            on_day=day,
            now=now,
            zone=BERLIN,
        )
        [action_date] = await field_actions.upcoming_dates(
            session, now=now, until=now + timedelta(days=10), action_ids=[action.id]
        )
        _setup_shift, main_shift = action_date.shifts
        await shifts.sign_up(session, main_shift.id, anna.id, now=now)
        shift_id, date_id = main_shift.id, action_date.id
        memorial_day = day + timedelta(days=2)
        # A real yearly rule for that day: the running bot's memorial horizon keeps the date.
        rule = f"{memorial_day.day:02d}.{memorial_day.month:02d}."
        memorial_date = MemorialDate(
            memorial=Memorial(
                key="befreiung",
                name="Tag der Befreiung",
                rule=rule,
                rrule=to_rrule(parse_rule(rule)),
                event_time=time(17, 0),
                event_place="Ehrenmal",
            ),
            day=memorial_day,
            event_starts_at=datetime.combine(memorial_day, time(17, 0), tzinfo=BERLIN),
            event_place="Ehrenmal",
        )
        session.add(memorial_date)
        await session.commit()
        memorial_id = memorial_date.id

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
    events = {str(event["uid"]).split("@")[0]: event for event in feed.events}
    meetings = [event for uid, event in events.items() if uid.startswith("meeting-")]
    assert meetings
    assert {str(event["summary"]) for event in meetings} == {"Stammtisch Mitte"}
    assert all(event.decoded("dtstart").astimezone(BERLIN).hour == 19 for event in meetings)
    shift = events[f"shift-{shift_id}"]
    assert str(shift["summary"]) == "Infostand Marktplatz"
    assert shift["dtstart"].params["TZID"] == "Europe/Berlin"
    assert shift.decoded("dtstart").astimezone(BERLIN).time() == time(10, 0)
    assert shift.decoded("dtend").astimezone(BERLIN).time() == time(12, 0)
    assert str(shift["location"]) == "Marktplatz"
    assert f"memorial-{memorial_id}" in events

    status, content_type, body = await _get(f"{base}/calendar/kv.ics")
    assert status == 200
    assert b"Anna" not in body
    public = {str(event["uid"]).split("@")[0]: event for event in Calendar.from_ical(body).events}
    [series] = [event for event in public.values() if "rrule" in event]
    assert str(series["summary"]) == "Stammtisch Mitte"
    assert not any(uid.startswith("shift-") for uid in public)
    stand = public[f"action-{date_id}"]
    assert str(stand["summary"]) == "Infostand Marktplatz"
    assert stand.decoded("dtstart").astimezone(BERLIN).time() == time(9, 30)
    assert stand.decoded("dtend").astimezone(BERLIN).time() == time(12, 0)
    memorial = public[f"memorial-{memorial_id}"]
    assert str(memorial["summary"]) == "Tag der Befreiung"
    assert memorial.decoded("dtstart").astimezone(BERLIN).time() == time(17, 0)
    assert str(memorial["location"]) == "Ehrenmal"

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
