"""/kalender through the dispatcher, and the feed routes through the web app over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from bot.app import Application
from bot.services import calendar, schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.settings import Settings
from bot.telegram.callbacks import CalendarAction, CalendarCallback
from bot.web import build_web_app
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, SentMessage
from tests.members import signed_up

PUBLIC_URL = "https://bot.example.org"
SETUP = """
name: KV Testhausen
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    meets: every Thursday 19:00
    place: Café Rosa
    open_to_non_members: true
  - key: ag-umwelt
    name: AG Umwelt
    type: ag
    meets: every Tuesday 18:30
    place: Büro
"""
LINK = re.compile(re.escape(PUBLIC_URL) + r"/calendar/([A-Za-z0-9_-]{43,})\.ics")


@pytest.fixture
def public_url() -> str | None:
    """PUBLIC_URL; a test parametrizes it to None to run without one."""
    return PUBLIC_URL


@pytest.fixture
def settings(settings: Settings, public_url: str | None) -> Settings:
    """The shared settings with PUBLIC_URL."""
    return settings.model_copy(update={"public_url": public_url})


@pytest.fixture
async def kv(app: Application) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await schedule.extend_horizon(session, now=utcnow(), zone=app.settings.zone)
        await session.commit()


@pytest.fixture
async def client(app: Application) -> AsyncIterator[TestClient]:
    """The bot's web app (as in polling mode) on a real local port."""
    async with TestClient(TestServer(build_web_app(app))) as test_client:
        yield test_client


def _button(message: SentMessage, action: CalendarAction) -> str:
    prefix = CalendarCallback(action=action).pack().rsplit(":", 1)[0]
    return next(data for _label, data in message.buttons if data.startswith(prefix))


def _events(data: bytes | str | None) -> list[str]:
    assert isinstance(data, bytes)
    return [str(event["summary"]) for event in Calendar.from_ical(data).events]


async def test_calendar_lists_my_dates_and_sends_files(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, group="Stammtisch Mitte")
    [overview] = await driver.send(anna, "/kalender")
    assert overview.text is not None
    lines = overview.text.splitlines()
    assert lines[0] == "Deine Termine"
    assert lines[1].startswith("🗓 Do., ")
    assert lines[1].endswith(", 19:00 – Stammtisch Mitte (Café Rosa)")
    assert "AG Umwelt" not in overview.text  # not her group, no answer
    assert "Tippe auf einen Termin" in overview.text
    labels = [label for label, _data in overview.buttons]
    assert labels[0].startswith("🗓 Do., ")
    assert labels[-2:] == ["📥 Alle meine Termine als Datei", "🔗 In meinem Kalender abonnieren"]

    [file] = await driver.press(anna, overview, _button(overview, CalendarAction.FILE))
    assert file.method == "sendDocument"
    assert file.message["document"]["file_name"] == "meine-termine.ics"
    assert file.caption is not None
    assert file.caption.endswith(
        "Termine. Öffne die Datei, um sie in deinen Kalender zu übernehmen."
    )
    summaries = _events(file.document)
    assert summaries
    assert set(summaries) == {"Stammtisch Mitte"}

    [one] = await driver.press(anna, overview, overview.buttons[0][1])
    assert one.message["document"]["file_name"].startswith("stammtisch-mitte-20")
    assert _events(one.document) == ["Stammtisch Mitte"]
    assert one.caption is not None
    assert one.caption.startswith("Stammtisch Mitte, Do., ")


async def test_cancelled_dates_are_marked_in_english(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await signed_up(app.session_pool, ben, group="Stammtisch Mitte")
    async with app.session_pool() as session:
        [first, *_rest] = await schedule.upcoming(
            session, now=utcnow(), until=utcnow() + schedule.HORIZON, group_ids=[1]
        )
        await schedule.cancel(session, first.id, now=utcnow())
        await session.commit()
    [overview] = await driver.send(ben, "/calendar")
    assert overview.text is not None
    lines = overview.text.splitlines()
    assert lines[0] == "Your dates"
    assert lines[1].startswith("❌ Thu, ")
    assert lines[1].endswith("– cancelled · Stammtisch Mitte")
    # No file button for the cancelled date; the file of all dates marks it.
    listed = [line for line in lines if line.startswith("🗓 ")]
    meeting_buttons = [label for label, _data in overview.buttons if label.startswith("🗓 ")]
    assert len(meeting_buttons) == len(listed) > 0
    cancelled_when = lines[1][2:].split(" – ")[0]
    assert all(cancelled_when not in label for label in meeting_buttons)
    [file] = await driver.press(ben, overview, _button(overview, CalendarAction.FILE))
    assert file.message["document"]["file_name"] == "my-dates.ics"
    assert _events(file.document)[0] == "Cancelled: Stammtisch Mitte"


async def test_link_is_shown_once_and_a_new_one_revokes_it(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None, client: TestClient
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, group="Stammtisch Mitte")
    [overview] = await driver.send(anna, "/kalender")
    [shown] = await driver.press(anna, overview, _button(overview, CalendarAction.LINK))
    assert shown.text is not None
    assert shown.text.startswith("Dein Kalender-Link")
    assert f"{PUBLIC_URL}/calendar/kv.ics" in shown.text
    match = LINK.search(shown.text)
    assert match is not None
    old = match.group(1)
    response = await client.get(f"/calendar/{old}.ics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    feed = Calendar.from_ical(await response.read())
    assert str(feed["x-wr-calname"]) == f"{app.settings.kv_name}: meine Termine"
    assert {str(event["summary"]) for event in feed.events} == {"Stammtisch Mitte"}

    # Asked again: the link can't be shown again; a new one can be made.
    [overview] = await driver.send(anna, "/kalender")
    assert overview.buttons[-1][0] == "🔄 Neuer Link (der alte wird ungültig)"
    [again] = await driver.press(anna, overview, _button(overview, CalendarAction.LINK))
    assert again.text is not None
    assert "kann ihn dir deshalb nicht noch einmal zeigen" in again.text
    assert LINK.search(again.text) is None
    [renewed] = await driver.press(anna, again, _button(again, CalendarAction.RENEW))
    assert renewed.text is not None
    assert renewed.text.startswith("Hier ist dein neuer Link; der alte funktioniert nicht mehr.")
    match = LINK.search(renewed.text)
    assert match is not None
    new = match.group(1)
    assert new != old
    assert (await client.get(f"/calendar/{old}.ics")).status == 404
    assert (await client.get(f"/calendar/{new}.ics")).status == 200
    async with app.session_pool() as session:
        assert await calendar.feed_member(session, old) is None


async def test_feed_routes(
    fake_api: FakeBotAPI, app: Application, kv: None, client: TestClient
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, group="AG Umwelt")
    async with app.session_pool() as session:
        token = await calendar.new_feed_token(session, anna.id, now=utcnow())
        await session.commit()
    assert (await client.get("/calendar/unknown-token.ics")).status == 404
    assert (await client.get("/calendar/.ics")).status == 404
    assert (await client.get("/calendar/" + "x" * 500 + ".ics")).status == 404
    assert (await client.get(f"/calendar/{token}")).status == 404
    assert (await client.get(f"/calendar/{token}.ics")).status == 200
    public = await client.get("/calendar/kv.ics")
    assert public.status == 200
    assert public.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert public.headers["Cache-Control"] == "public, max-age=900"
    body = await public.read()
    assert b"Anna" not in body
    parsed = Calendar.from_ical(body)
    assert str(parsed["x-wr-calname"]) == app.settings.kv_name
    # Only the group open to non-members, as one series.
    [series] = parsed.events
    assert str(series["summary"]) == "Stammtisch Mitte"
    assert series["dtstart"].params["TZID"] == "Europe/Berlin"
    assert "rrule" in series
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize("public_url", [None])
async def test_without_public_url_files_still_work(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, group="Stammtisch Mitte")
    [overview] = await driver.send(anna, "/kalender")
    assert overview.text is not None
    assert "der Betrieb muss PUBLIC_URL setzen" in overview.text
    assert overview.buttons[-1][0] == "📥 Alle meine Termine als Datei"
    forged = CalendarCallback(action=CalendarAction.LINK).pack()
    assert await driver.press(anna, overview, forged) == []
    alert = driver.last_answer()
    assert alert["show_alert"] is True
    assert "PUBLIC_URL" in alert["text"]


async def test_no_consent_no_dates_and_forged_buttons_are_refused(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    eve = fake_api.add_user(first_name="Eve", language_code="de")
    [reply] = await driver.send(eve, "/kalender")
    assert reply.text == "Um deine Termine zu sehen, stimme zuerst in /start zu."
    for action in (CalendarAction.FILE, CalendarAction.LINK, CalendarAction.RENEW):
        assert await driver.press(eve, reply, CalendarCallback(action=action).pack()) == []
        assert driver.last_answer()["text"] == reply.text
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [overview] = await driver.send(anna, "/kalender")
    for meeting_id in (0, 999_999, 2**63, 2**70):
        forged = CalendarCallback(action=CalendarAction.MEETING, item_id=meeting_id).pack()
        assert await driver.press(anna, overview, forged) == []
        answer = driver.last_answer()
        assert answer["show_alert"] is True
        assert answer["text"].startswith("Dieses Treffen steht nicht mehr auf der Liste.")
