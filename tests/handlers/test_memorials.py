"""Gedenktage through the dispatcher and the outbox: reminders with the KV's event and answer
buttons in the member's language, once across a restart; organisers' notes with last year's
attendance; answering, changing, double taps; forged, stale and consent-less presses refused
politely; /gedenktage, /einstellungen and /datenschutz.

The jobs get `now=`; renderers and answers check "is it over" against the real clock, so the
memorial lies a few days ahead of the real now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.app import Application
from bot.context import JobContext
from bot.services import memorials
from bot.services.recurrence import parse_rule, to_rrule
from models import (
    Category,
    Delivery,
    DeliveryStatus,
    Member,
    Memorial,
    MemorialAnswer,
    MemorialDate,
    Role,
    RsvpAnswer,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

ZONE = ZoneInfo("Europe/Berlin")
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
AHEAD = 5  # the memorial is this many days after today
ABOUT = "Erinnerung an die Opfer des Faschismus."


@dataclass
class Kv:
    anna: FakeUser  # German member
    ben: FakeUser  # English member
    olga: FakeUser  # organiser
    day: date
    date_id: int
    memorial_id: int


def _ctx(app: Application) -> JobContext:
    """A job context of its own: a second one is what a restart or a second instance has."""
    return JobContext(app.session_pool, app.bot, app.i18n, app.settings)


async def _horizon(app: Application) -> None:
    from jobs.memorials import extend_horizon

    await extend_horizon(_ctx(app))


async def _queue(app: Application, at: datetime) -> memorials.Queued:
    from jobs.memorials import queue_reminders

    return await queue_reminders(_ctx(app), now=at)


@pytest.fixture
async def kv(app: Application, fake_api: FakeBotAPI) -> Kv:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    olga = fake_api.add_user(first_name="Olga", language_code="de")
    await signed_up(app.session_pool, anna)
    await signed_up(app.session_pool, ben)
    await signed_up(app.session_pool, olga, role=Role.ORGANISER)
    day = utcnow().astimezone(ZONE).date() + timedelta(days=AHEAD)
    rule = f"{day.day}.{day.month}."
    async with app.session_pool() as session:
        await session.execute(update(Member).where(Member.id == ben.id).values(language="en"))
        memorial = Memorial(
            key="opfer",
            name="Tag der Erinnerung & Mahnung",
            rule=rule,
            rrule=to_rrule(parse_rule(rule)),
            about=ABOUT,
            event_time=time(18, 0),
            event_place="Mahnmal <Stadtpark>",
            event_note="Bringt Blumen mit.",
        )
        session.add(memorial)
        await session.commit()
        memorial_id = memorial.id
    await _horizon(app)
    async with app.session_pool() as session:
        date_id = await session.scalar(select(MemorialDate.id).where(MemorialDate.day == day))
    assert date_id is not None
    return Kv(anna, ben, olga, day, date_id, memorial_id)


def _moment(kv: Kv, days: int) -> datetime:
    return memorials.reminder_moment(kv.day, days, ZONE)


def _data(message: SentMessage, act: str) -> str:
    [data] = [data for _label, data in message.buttons if data.startswith(f"gd1:{act}:")]
    return data


async def _answers(app: Application) -> dict[int, RsvpAnswer]:
    async with app.session_pool() as session:
        rows = await session.scalars(select(MemorialAnswer))
        return {row.member_id: row.answer for row in rows}


# --- reminders through the outbox ------------------------------------------------------------


async def test_the_reminder_carries_the_event_and_its_buttons_in_each_language(
    app: Application, fake_api: FakeBotAPI, driver: BotDriver, kv: Kv
) -> None:
    # The organisers' note was due 16 days ago: past its grace, it is recorded as dropped.
    assert await _queue(app, _moment(kv, 7)) == memorials.Queued(3, 0, 1)
    assert await app.worker.run_once(now=utcnow()) == 3
    [anna_sees] = fake_api.sent_to(kv.anna.id)
    assert anna_sees.text is not None
    assert anna_sees.text.startswith(f"🕯 Gedenktag in {AHEAD} Tagen")
    assert "Tag der Erinnerung & Mahnung" in anna_sees.text
    assert ABOUT in anna_sees.text
    assert "18:00" in anna_sees.text
    assert "Mahnmal <Stadtpark>" in anna_sees.text  # escaped in the HTML, shown as typed
    assert "Bringt Blumen mit." in anna_sees.text
    assert "✅ 0 · 🤔 0 · ❌ 0" in anna_sees.text
    assert "/einstellungen" in anna_sees.text
    assert [label for label, _data in anna_sees.buttons] == ["✅ Ja", "🤔 Vielleicht", "❌ Nein"]
    [ben_sees] = fake_api.sent_to(kv.ben.id)
    assert ben_sees.text is not None
    assert ben_sees.text.startswith(f"🕯 Gedenktag coming in {AHEAD} days")
    assert "Our event:" in ben_sees.text
    assert "/settings" in ben_sees.text
    assert [label for label, _data in ben_sees.buttons] == ["✅ Yes", "🤔 Maybe", "❌ No"]

    # Anna says yes under her reminder: the card shows it, with the count.
    await driver.press(kv.anna, anna_sees, _data(anna_sees, "y"))
    assert driver.last_answer()["text"] == "Notiert: Du kommst."
    assert anna_sees.text is not None
    assert "Du kommst." in anna_sees.text
    assert "✅ 1 · 🤔 0 · ❌ 0" in anna_sees.text
    assert anna_sees.buttons[0][0] == "• ✅ Ja •"
    # A double tap changes nothing; then she changes her mind.
    await driver.press(kv.anna, anna_sees, _data(anna_sees, "y"))
    assert await _answers(app) == {kv.anna.id: RsvpAnswer.YES}
    await driver.press(kv.anna, anna_sees, _data(anna_sees, "m"))
    assert await _answers(app) == {kv.anna.id: RsvpAnswer.MAYBE}
    assert "✅ 0 · 🤔 1 · ❌ 0" in (anna_sees.text or "")
    await driver.press(kv.ben, ben_sees, _data(ben_sees, "n"))
    assert driver.last_answer()["text"] == "Noted: you can't come."
    assert "You said you can't come." in (ben_sees.text or "")


async def test_reminders_go_once_across_a_restart_and_respect_the_opt_out(
    app: Application, fake_api: FakeBotAPI, kv: Kv
) -> None:
    async with app.session_pool() as session:
        from bot.services.preferences import set_opted_out

        await set_opted_out(session, kv.ben.id, Category.MEMORIALS, opted_out=True)
        await session.commit()
    assert await _queue(app, _moment(kv, 7)) == memorials.Queued(2, 0, 1)
    # A restart: a fresh context (and session) at the same and a later moment.
    assert await _queue(app, _moment(kv, 7)) == memorials.Queued(0, 0, 0)
    assert await _queue(app, _moment(kv, 7) + 10 * MINUTE) == memorials.Queued(0, 0, 0)
    assert await app.worker.run_once(now=utcnow()) == 2
    assert await _queue(app, _moment(kv, 7) + HOUR) == memorials.Queued(0, 0, 0)
    assert await app.worker.run_once(now=utcnow()) == 0
    assert len(fake_api.sent_to(kv.anna.id)) == 1
    assert fake_api.sent_to(kv.ben.id) == []


async def test_a_reminder_missed_past_its_grace_is_dropped_and_logged_with_counts_only(
    app: Application, fake_api: FakeBotAPI, kv: Kv, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="jobs.memorials"):
        # Anna, Ben and Olga's reminders, and Olga's organisers' note.
        assert await _queue(app, _moment(kv, 7) + 25 * HOUR) == memorials.Queued(0, 0, 4)
        assert await _queue(app, _moment(kv, 7) + 26 * HOUR) == memorials.Queued(0, 0, 0)
    [line] = [r.getMessage() for r in caplog.records if r.name == "jobs.memorials"]
    assert line == "memorial reminders: 0 queued, 0 notes, 4 dropped (missed during downtime)"
    assert await app.worker.run_once(now=utcnow()) == 0
    assert fake_api.sent_to(kv.anna.id) == []
    async with app.session_pool() as session:
        statuses = set(await session.scalars(select(Delivery.status)))
    assert statuses == {DeliveryStatus.CANCELLED}


async def test_organisers_note_shows_the_plan_and_last_years_attendance(
    app: Application, fake_api: FakeBotAPI, kv: Kv
) -> None:
    last_year = kv.day - timedelta(days=365)
    async with app.session_pool() as session:
        previous = MemorialDate(
            memorial_id=kv.memorial_id,
            day=last_year,
            event_starts_at=datetime.combine(last_year, time(18), tzinfo=ZONE).astimezone(UTC),
        )
        session.add(previous)
        await session.flush()
        for user, answer in ((kv.anna, RsvpAnswer.YES), (kv.ben, RsvpAnswer.YES)):
            session.add(
                MemorialAnswer(memorial_date_id=previous.id, member_id=user.id, answer=answer)
            )
        session.add(MemorialAnswer(memorial_date_id=previous.id, member_id=kv.olga.id, answer="no"))
        await session.commit()
    assert await _queue(app, _moment(kv, 21)) == memorials.Queued(0, 1, 0)
    assert await app.worker.run_once(now=utcnow()) == 1
    [note] = fake_api.sent_to(kv.olga.id)
    assert note.text is not None
    assert note.text.startswith(f"🕯 Für Organisator:innen: Gedenktag in {AHEAD} Tagen")
    assert "Tag der Erinnerung & Mahnung" in note.text
    assert "Mahnmal <Stadtpark>" in note.text
    assert "Letztes Jahr: 2 Personen wollten kommen." in note.text
    assert note.buttons == []
    assert fake_api.sent_to(kv.anna.id) == []


async def test_organisers_note_without_an_event_and_without_a_record(
    app: Application, fake_api: FakeBotAPI, kv: Kv
) -> None:
    async with app.session_pool() as session:
        await session.execute(
            update(Memorial).values(event_time=None, event_place=None, event_note=None)
        )
        await session.commit()
    await _horizon(app)
    assert await _queue(app, _moment(kv, 21)) == memorials.Queued(0, 1, 0)
    assert await app.worker.run_once(now=utcnow()) == 1
    [note] = fake_api.sent_to(kv.olga.id)
    assert note.text is not None
    assert "Noch keine Veranstaltung des KV geplant." in note.text
    assert "Letztes Jahr: keine Angaben." in note.text
    # Members hear of it without buttons: there is nothing to answer.
    assert await _queue(app, _moment(kv, 1)) == memorials.Queued(3, 0, 0)
    assert await app.worker.run_once(now=_moment(kv, 1)) == 3
    [reminder] = fake_api.sent_to(kv.anna.id)
    assert reminder.buttons == []
    assert "Der KV hat an diesem Tag keine eigene Veranstaltung." in (reminder.text or "")


# --- the list, the card, refusals ------------------------------------------------------------


async def _card(driver: BotDriver, user: FakeUser) -> SentMessage:
    [listing] = await driver.send(user, "/gedenktage")
    [card] = await driver.press(user, listing, listing.buttons[0][1])
    return card


async def test_the_list_opens_a_card_to_answer(app: Application, driver: BotDriver, kv: Kv) -> None:
    [listing] = await driver.send(kv.anna, "/gedenktage")
    assert listing.text is not None
    assert listing.text.startswith("🕯 Die nächsten Gedenktage")
    assert "Tag der Erinnerung & Mahnung" in listing.text
    assert "unsere Veranstaltung um 18:00, Mahnmal <Stadtpark>" in listing.text
    [card] = await driver.press(kv.anna, listing, listing.buttons[0][1])
    assert card.text is not None
    assert card.text.startswith("🕯 Tag der Erinnerung & Mahnung")
    await driver.press(kv.anna, card, _data(card, "y"))
    assert await _answers(app) == {kv.anna.id: RsvpAnswer.YES}
    [listing] = await driver.send(kv.ben, "/memorials")
    assert (listing.text or "").startswith("🕯 The next Gedenktage")


async def test_an_empty_list_says_so(driver: BotDriver, fake_api: FakeBotAPI) -> None:
    user = fake_api.add_user(first_name="Cem", language_code="de")
    [reply] = await driver.send(user, "/gedenktage")
    assert reply.text == "In den nächsten Monaten sind keine Gedenktage geplant."


async def test_an_answer_without_consent_is_explained(
    app: Application, driver: BotDriver, fake_api: FakeBotAPI, kv: Kv
) -> None:
    stranger = fake_api.add_user(first_name="Dora", language_code="de")
    card = await _card(driver, stranger)
    assert await driver.press(stranger, card, _data(card, "y")) == []
    answer = driver.last_answer()
    assert answer["show_alert"] is True
    assert "/start" in answer["text"]
    assert await _answers(app) == {}


async def test_forged_stale_and_past_presses_are_refused_politely(
    app: Application, driver: BotDriver, kv: Kv
) -> None:
    card = await _card(driver, kv.anna)
    unknown = "Dieser Gedenktag steht nicht mehr im Kalender."
    for data in (
        "gd1:y:0",
        "gd1:n:424242",
    ):
        assert await driver.press(kv.anna, card, data) == []
        answer = driver.last_answer()
        assert (answer["text"], answer["show_alert"]) == (unknown, True), data
    # Ids no row can have: the fallback's "no longer valid".
    for data in ("gd1:y:-4", "gd1:m:9223372036854775809", "gd1:s:99999999999999999999999"):
        assert await driver.press(kv.anna, card, data) == []
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr.", data
    # Not a number, or an act nobody offers: the fallback's "no longer valid".
    for data in ("gd1:y:abc", "gd1:x:1"):
        await driver.press(kv.anna, card, data)
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    # A retired memorial's date is gone too.
    async with app.session_pool() as session:
        await session.execute(update(Memorial).values(active=False))
        await session.commit()
    await driver.press(kv.anna, card, _data(card, "y"))
    assert driver.last_answer()["text"] == unknown
    async with app.session_pool() as session:
        await session.execute(update(Memorial).values(active=True))
        # A date without an event of the KV (next year's, planned without one): nothing to answer.
        other_id = await session.scalar(select(MemorialDate.id).where(MemorialDate.day > kv.day))
        await session.execute(
            update(MemorialDate)
            .where(MemorialDate.id == other_id)
            .values(event_starts_at=None, event_place=None)
        )
        await session.commit()
    await driver.press(kv.anna, card, f"gd1:y:{other_id}")
    assert driver.last_answer()["text"] == (
        "Der KV hat an diesem Tag keine eigene Veranstaltung, es gibt also nichts zu beantworten."
    )
    # The event has started: answers are closed, and the card says so without buttons.
    async with app.session_pool() as session:
        await session.execute(
            update(MemorialDate)
            .where(MemorialDate.id == kv.date_id)
            .values(event_starts_at=utcnow() - MINUTE)
        )
        await session.commit()
    await driver.press(kv.anna, card, _data(card, "y"))
    assert driver.last_answer()["text"] == (
        "Diese Veranstaltung hat schon begonnen; Antworten sind geschlossen."
    )
    assert driver.last_answer()["show_alert"] is True
    assert card.buttons == []
    assert "Antworten sind geschlossen" in (card.text or "")
    assert await _answers(app) == {}


# --- settings and privacy --------------------------------------------------------------------


async def test_settings_list_the_gedenktage_and_privacy_shows_the_answers(
    app: Application, driver: BotDriver, kv: Kv
) -> None:
    [screen] = await driver.send(kv.anna, "/einstellungen")
    assert "Gedenktage" in (screen.text or "")
    card = await _card(driver, kv.anna)
    await driver.press(kv.anna, card, _data(card, "y"))
    [overview] = await driver.send(kv.anna, "/datenschutz")
    show = [data for label, data in overview.buttons if label == "Meine Daten anzeigen"]
    [data] = await driver.press(kv.anna, overview, show[0])
    assert data.text is not None
    assert "Deine Antworten zu Veranstaltungen des KV an Gedenktagen" in data.text.splitlines()
    assert "Tag der Erinnerung & Mahnung, " in data.text
    assert ": ja, geantwortet am " in data.text
    # Erasing everything takes the answers along.
    [ask] = await driver.press(kv.anna, overview, overview.buttons[-1][1])
    await driver.press(kv.anna, ask, ask.buttons[0][1])
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(MemorialAnswer)) == 0
