"""/kalender through the dispatcher (meetings, shifts, Gedenktage, their files, forged ids), and
the feed routes through the web app over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar, Event

from bot.app import Application
from bot.services import calendar, field_actions, schedule, shifts
from bot.services.field_actions import PlannedShift
from bot.services.kv_setup import apply_setup, load_setup
from bot.settings import Settings
from bot.telegram.callbacks import CalendarAction, CalendarCallback
from bot.web import build_web_app
from models import ActionKind, Memorial, MemorialAnswer, MemorialDate, RsvpAnswer
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
    for action in (
        CalendarAction.FILE,
        CalendarAction.SHIFT,
        CalendarAction.LINK,
        CalendarAction.RENEW,
    ):
        assert await driver.press(eve, reply, CalendarCallback(action=action).pack()) == []
        assert driver.last_answer()["text"] == reply.text
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [overview] = await driver.send(anna, "/kalender")
    for meeting_id in (0, 999_999):
        forged = CalendarCallback(action=CalendarAction.MEETING, item_id=meeting_id).pack()
        assert await driver.press(anna, overview, forged) == []
        answer = driver.last_answer()
        assert answer["show_alert"] is True
        assert answer["text"].startswith("Dieses Treffen steht nicht mehr auf der Liste.")
    # Ids no row can have: the fallback's "no longer valid".
    for meeting_id in (2**63, 2**70):
        assert await driver.press(anna, overview, f"cal1:meet:{meeting_id}") == []
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."


# --- shifts and Gedenktage ----------------------------------------------------------------------


def _local_day(days: int, zone: ZoneInfo) -> date:
    return (utcnow().astimezone(zone) + timedelta(days=days)).date()


async def _stand(app: Application, days: int = 3) -> list[int]:
    """An Infostand in `days` days (setup 9:30-10:00, 10:00-12:00); its shifts' ids."""
    zone = app.settings.zone
    async with app.session_pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title="Infostand Marktplatz",
            place="Marktplatz",
            material="Flyer",
            shifts=(
                PlannedShift(time(9, 30), time(10, 0), 2, "Aufbau"),
                PlannedShift(time(10, 0), time(12, 0), 3),
            ),
            on_day=_local_day(days, zone),
            now=utcnow(),
            zone=zone,
        )
        [row] = await field_actions.upcoming_dates(
            session, now=utcnow(), until=utcnow() + timedelta(days=60), action_ids=[action.id]
        )
        await session.commit()
        return [shift.id for shift in row.shifts]


async def _hold(app: Application, shift_id: int, member_id: int) -> None:
    async with app.session_pool() as session:
        await shifts.sign_up(session, shift_id, member_id, now=utcnow())
        await session.commit()


async def _memorial(
    app: Application,
    key: str,
    name: str,
    days: int,
    *,
    event: bool = False,
    place: str = "Ehrenmal im Stadtpark",
) -> int:
    zone = app.settings.zone
    day = _local_day(days, zone)
    async with app.session_pool() as session:
        memorial = Memorial(key=key, name=name, rule="x", rrule="FREQ=YEARLY")
        row = MemorialDate(
            memorial=memorial,
            day=day,
            event_starts_at=datetime.combine(day, time(17, 0), tzinfo=zone) if event else None,
            event_place=place if event else None,
        )
        session.add(row)
        await session.commit()
        return row.id


def _ical_events(data: bytes | str | None) -> dict[str, Event]:
    assert isinstance(data, bytes)
    return {str(event["uid"]).split("@")[0]: event for event in Calendar.from_ical(data).events}


async def test_calendar_lists_my_shifts_and_the_gedenktage_with_their_files(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    await signed_up(app.session_pool, anna, group="Stammtisch Mitte")
    await signed_up(app.session_pool, ben)
    setup, main = await _stand(app)
    await _hold(app, main, anna.id)
    await _hold(app, setup, ben.id)
    quiet = await _memorial(app, "quiet", "Gedenken <im> Herbst", 5)
    liberation = await _memorial(app, "befreiung", "Tag der Befreiung", 10, event=True)
    async with app.session_pool() as session:
        session.add(
            MemorialAnswer(memorial_date_id=liberation, member_id=anna.id, answer=RsvpAnswer.YES)
        )
        await session.commit()

    [overview] = await driver.send(anna, "/kalender")
    assert overview.text is not None
    lines = overview.text.splitlines()
    shift_line = next(line for line in lines if line.startswith("🧰 "))
    assert shift_line.endswith("10:00–12:00 – Infostand Marktplatz · Infostand (Marktplatz)"), (
        shift_line
    )
    memorial_lines = [line for line in lines if line.startswith("🕯 ")]
    assert len(memorial_lines) == 2
    assert memorial_lines[0].endswith(" – Gedenken <im> Herbst")
    assert "17:00" not in memorial_lines[0]
    assert memorial_lines[1].endswith(
        ", 17:00 – Tag der Befreiung (Ehrenmal im Stadtpark) · ✅ du kommst"
    )
    # One list by time: the shift in 3 days, the Gedenktage in 5 and 10.
    assert lines.index(shift_line) < lines.index(memorial_lines[0]) < lines.index(memorial_lines[1])
    assert "🧰 deine Schicht · 🕯 Gedenktag" in lines
    assert "Aufbau" not in overview.text  # Ben's shift
    labels = dict(overview.buttons)
    shift_data = CalendarCallback(action=CalendarAction.SHIFT, item_id=main).pack()
    quiet_data = CalendarCallback(action=CalendarAction.MEMORIAL, item_id=quiet).pack()
    assert shift_data in labels.values()
    assert quiet_data in labels.values()

    [one] = await driver.press(anna, overview, shift_data)
    assert one.method == "sendDocument"
    day = _local_day(3, app.settings.zone).isoformat()
    assert one.message["document"]["file_name"] == f"infostand-marktplatz-{day}.ics"
    assert one.caption is not None
    assert one.caption.startswith("Infostand Marktplatz, ")
    [event] = _ical_events(one.document).values()
    assert str(event["uid"]).startswith(f"shift-{main}@")
    assert event["dtstart"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("dtstart").astimezone(app.settings.zone).hour == 10
    assert str(event["description"]) == "Flyer"

    [file] = await driver.press(anna, overview, quiet_data)
    quiet_day = _local_day(5, app.settings.zone).isoformat()
    assert file.message["document"]["file_name"] == f"gedenken-im-herbst-{quiet_day}.ics"
    [event] = _ical_events(file.document).values()
    assert event["dtstart"].params["VALUE"] == "DATE"

    [everything] = await driver.press(anna, overview, _button(overview, CalendarAction.FILE))
    events = _ical_events(everything.document)
    assert f"shift-{main}" in events
    assert f"shift-{setup}" not in events
    assert {f"memorial-{quiet}", f"memorial-{liberation}"} <= set(events)
    assert any(uid.startswith("meeting-") for uid in events)


async def test_forged_or_someone_elses_shift_is_refused_politely(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    await signed_up(app.session_pool, anna)
    await signed_up(app.session_pool, ben)
    setup, _main = await _stand(app)
    await _hold(app, setup, ben.id)
    [overview] = await driver.send(anna, "/calendar")
    for shift_id in (setup, 0, 999_999):
        forged = CalendarCallback(action=CalendarAction.SHIFT, item_id=shift_id).pack()
        assert await driver.press(anna, overview, forged) == []
        answer = driver.last_answer()
        assert answer["show_alert"] is True
        assert answer["text"] == "This shift is no longer in your calendar."
    for date_id in (0, 999_999):
        forged = CalendarCallback(action=CalendarAction.MEMORIAL, item_id=date_id).pack()
        assert await driver.press(anna, overview, forged) == []
        assert driver.last_answer()["text"] == "This Gedenktag is no longer in the calendar."
    # Ids no row can have: the fallback's "no longer valid".
    for data in (f"cal1:shift:{2**63}", f"cal1:shift:{2**70}", f"cal1:gd:{2**63}"):
        assert await driver.press(anna, overview, data) == []
        assert driver.last_answer()["text"] == "This button is no longer valid."
    # Nobody got a file of Ben's shift.
    assert all(sent.method != "sendDocument" for sent in fake_api.sent_to(anna.id))


async def test_a_called_off_date_is_shown_cancelled_without_a_button(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await signed_up(app.session_pool, ben)
    _setup, main = await _stand(app)
    await _hold(app, main, ben.id)
    async with app.session_pool() as session:
        shift = await field_actions.get_shift(session, main)
        await field_actions.cancel_date(session, shift.action_date_id, now=utcnow())
        await session.commit()
    [overview] = await driver.send(ben, "/calendar")
    assert overview.text is not None
    lines = overview.text.splitlines()
    assert lines[1].startswith("❌ ")
    assert lines[1].endswith("10:00–12:00 – cancelled · Infostand Marktplatz")
    assert "<s>" in (overview.html or "")
    shift_prefix = CalendarCallback(action=CalendarAction.SHIFT).pack().rsplit(":", 1)[0]
    assert not any(data.startswith(shift_prefix) for _label, data in overview.buttons)
    [file] = await driver.press(ben, overview, _button(overview, CalendarAction.FILE))
    [event] = _ical_events(file.document).values()
    assert str(event["status"]) == "CANCELLED"
    assert str(event["summary"]) == "Cancelled: Infostand Marktplatz"


async def test_a_long_list_stays_within_telegrams_limits(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, group="Stammtisch Mitte")
    for number in range(25):
        await _memorial(
            app,
            f"lang-{number}",
            f"Gedenktag {number} " + "mit einem sehr langen Namen " * 3,
            2 + number,
            event=True,
            place="Platz " + "am langen Ufer des Flusses " * 7,
        )
    [overview] = await driver.send(anna, "/kalender")
    assert overview.text is not None
    assert len(overview.text) < 4096
    assert "weitere Termine in der Datei" in overview.text
    assert len(overview.buttons) <= 20
    [everything] = await driver.press(anna, overview, _button(overview, CalendarAction.FILE))
    assert sum(uid.startswith("memorial-") for uid in _ical_events(everything.document)) == 25


async def test_feeds_carry_shifts_actions_and_gedenktage(
    fake_api: FakeBotAPI, app: Application, kv: None, client: TestClient
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    setup, main = await _stand(app)
    await _hold(app, main, anna.id)
    quiet = await _memorial(app, "quiet", "Gedenken im Herbst", 5)
    async with app.session_pool() as session:
        token = await calendar.new_feed_token(session, anna.id, now=utcnow())
        await session.commit()
    personal = _ical_events(await (await client.get(f"/calendar/{token}.ics")).read())
    assert f"shift-{main}" in personal
    assert f"shift-{setup}" not in personal
    assert f"memorial-{quiet}" in personal
    body = await (await client.get("/calendar/kv.ics")).read()
    assert b"Anna" not in body
    public = _ical_events(body)
    assert not any(uid.startswith("shift-") for uid in public)
    [action] = [event for uid, event in public.items() if uid.startswith("action-")]
    assert str(action["summary"]) == "Infostand Marktplatz"
    assert action.decoded("dtstart").astimezone(app.settings.zone).time() == time(9, 30)
    assert f"memorial-{quiet}" in public


async def test_new_link_pressed_twice_renews_once(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, client: TestClient
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [overview] = await driver.send(anna, "/kalender")
    [_shown] = await driver.press(anna, overview, _button(overview, CalendarAction.LINK))
    [overview] = await driver.send(anna, "/kalender")
    renew = _button(overview, CalendarAction.RENEW)
    [renewed] = await driver.press(anna, overview, renew)
    match = LINK.search(renewed.text or "")
    assert match is not None
    # The second tap names the link the first one replaced: the new link stays valid.
    assert await driver.press(anna, overview, renew) == []
    answer = driver.last_answer()
    assert answer["text"] == (
        "Dieser Link wurde schon ersetzt: Deinen neuesten Link findest du im Chat."
    )
    assert not answer.get("show_alert")
    assert (await client.get(f"/calendar/{match.group(1)}.ics")).status == 200
    # A button from before buttons named their link ("cal1:new:0") renews as it did.
    [again] = await driver.press(anna, overview, "cal1:new:0")
    assert (again.text or "").startswith("Hier ist dein neuer Link")
    assert (await client.get(f"/calendar/{match.group(1)}.ics")).status == 404
