"""Dispatcher tests of /rundschreiben and /einstellungen: audience, preview, send, stop, report."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from bot.app import Application
from bot.context import JobContext
from bot.outbox.renderers import RENDERERS
from bot.outbox.worker import DeliveryWorker
from bot.services import broadcasts
from bot.services.audience import Audience
from bot.services.kv_setup import apply_setup, load_setup
from bot.services.pacing import Pacer, PacingLimits
from bot.telegram.callbacks import AudienceKind, BroadcastAction, BroadcastCallback
from jobs.broadcasts import run_broadcasts
from models import (
    Attendance,
    Broadcast,
    BroadcastStatus,
    Category,
    Delivery,
    DeliveryStatus,
    Group,
    Member,
    MemberRole,
    OptOut,
    Profile,
    Role,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import meetings_ahead, signed_up

SETUP = """
name: KV Testhausen
districts: [Mitte, Nord]
topics: [Umwelt, Bildung]
activity_types: [Infostände, Social Media]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    meets: every Thursday 19:00
"""


@pytest.fixture
async def kv(app: Application) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.commit()
    await meetings_ahead(app.session_pool)


async def _ids(app: Application, model: type, names: Iterable[str]) -> list[int]:
    async with app.session_pool() as session:
        rows = await session.scalars(select(model.id).where(model.name.in_(list(names))))
        return list(rows)


async def _signed_up(app: Application, user: FakeUser, **profile: Any) -> None:
    await signed_up(app.session_pool, user, **profile)


@pytest.fixture
async def people(app: Application, fake_api: FakeBotAPI, kv: None) -> dict[str, FakeUser]:
    """Anna, Cem in Mitte, Ben in Nord, Dora opted out, Emil blocked the bot, Fritz never agreed."""
    del kv
    names = ["Anna", "Ben", "Cem", "Dora", "Emil", "Fritz"]
    users = {name: fake_api.add_user(first_name=name, language_code="de") for name in names}
    await _signed_up(app, users["Anna"], district="Mitte", topics=["Umwelt"])
    await _signed_up(
        app, users["Ben"], district="Nord", topics=["Bildung"], activities=["Infostände"]
    )
    await _signed_up(
        app, users["Cem"], district="Mitte", topics=["Bildung"], group="Stammtisch Mitte"
    )
    await _signed_up(app, users["Dora"], district="Mitte", opted_out=[Category.ANNOUNCEMENTS])
    await _signed_up(app, users["Emil"], district="Mitte", reachable=False)
    fake_api.block(users["Emil"].id)
    async with app.session_pool() as session:
        session.add(Member(id=users["Fritz"].id, reachable=True))
        await session.commit()
    return users


def _button(message: SentMessage, label: str) -> str:
    matches = [data for text, data in message.buttons if label in text]
    assert matches, f"no button with {label!r}: {message.buttons}"
    return matches[0]


async def _press(driver: BotDriver, user: FakeUser, message: SentMessage, *labels: str) -> None:
    """Press the buttons of `message` with these labels, one after the other."""
    for label in labels:
        await driver.press(user, message, _button(message, label))


async def _compose(
    driver: BotDriver, organiser: FakeUser, text: str = "Kommt alle zur Demo!", **options: object
) -> SentMessage:
    """/rundschreiben and the message; returns the audience panel."""
    # With broadcasts running or sent recently, the list comes first and a button opens a draft.
    [prompt] = await driver.send(organiser, "/rundschreiben")
    if any("Neues Rundschreiben" in label for label, _data in prompt.buttons):
        [prompt] = await driver.press(organiser, prompt, _button(prompt, "Neues Rundschreiben"))
    assert prompt.text.startswith("Schicke mir die Nachricht")
    [panel] = await driver.send(organiser, text, **options)
    return panel


async def _deliveries(app: Application, broadcast_id: int) -> dict[int, Delivery]:
    async with app.session_pool() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.batch_id == broadcast_id))
        return {row.recipient_id: row for row in rows}


async def _broadcasts(app: Application) -> list[Broadcast]:
    async with app.session_pool() as session:
        return list(await session.scalars(select(Broadcast).order_by(Broadcast.id)))


async def _drain(app: Application, now: datetime | None = None) -> None:
    while await app.worker.run_once(now=now):
        pass


async def test_preview_counts_exactly_and_says_who_is_left_out(
    driver: BotDriver, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    panel = await _compose(driver, admin_user)
    assert "Zielgruppe: alle Angemeldeten" in panel.text
    # Anna, Ben, Cem; Dora switched announcements off, Emil blocked the bot, Fritz never agreed.
    assert "Empfänger:innen: 3" in panel.text
    assert "1 Mitglied hat Ankündigungen abgeschaltet." in panel.text
    assert "1 Mitglied ist nicht erreichbar (hat den Bot blockiert)." in panel.text

    assert await driver.press(admin_user, panel, _button(panel, "Stadtteil")) == []  # an edit
    assert panel.text.startswith("Stadtteil: tippe zum Auswählen")
    await _press(driver, admin_user, panel, "Mitte")
    assert any(text == "✅ Mitte" for text, _data in panel.buttons)
    await _press(driver, admin_user, panel, "Zurück")
    assert "Stadtteil: Mitte" in panel.text
    assert "Empfänger:innen: 2" in panel.text  # Anna and Cem

    # Across kinds all must fit: Mitte and Bildung is Cem only.
    await _press(driver, admin_user, panel, "Thema", "Bildung", "Zurück")
    assert "Empfänger:innen: 1" in panel.text
    assert "(Mitglieder, auf die alles davon zutrifft)" in panel.text

    # Within a kind any fits: Mitte or Nord, Bildung: Ben and Cem.
    await _press(driver, admin_user, panel, "Stadtteil", "Nord", "Zurück")
    assert "Stadtteil: Mitte oder Nord" in panel.text
    assert "Empfänger:innen: 2" in panel.text

    # Group members and activity types.
    await _press(
        driver,
        admin_user,
        panel,
        "Alle Angemeldeten",
        "Gruppenmitglieder",
        "Stammtisch Mitte",
        "Zurück",
    )
    assert "Empfänger:innen: 1" in panel.text
    await _press(
        driver, admin_user, panel, "Alle Angemeldeten", "Mitmachform", "Infostände", "Zurück"
    )
    assert "Mitmachform: Infostände" in panel.text
    assert "Empfänger:innen: 1" in panel.text

    # The kind of message decides which opt-out counts: Dora only refused announcements.
    await _press(
        driver, admin_user, panel, "Alle Angemeldeten", "Art: Ankündigungen", "Erinnerungen"
    )
    await _press(driver, admin_user, panel, "Zurück")
    assert "Art: Erinnerungen" in panel.text
    assert "Empfänger:innen: 4" in panel.text
    assert "abgeschaltet" not in panel.text


async def test_send_now_delivers_copies_and_reports(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],
    fake_api: FakeBotAPI,
) -> None:
    bold = [{"type": "bold", "offset": 0, "length": 5}]
    panel = await _compose(driver, admin_user, "Kommt alle zur Demo!", entities=bold)
    await _press(driver, admin_user, panel, "Stadtteil", "Mitte", "Zurück", "Jetzt senden")
    assert "jetzt an 2 Mitglieder senden?" in panel.text
    # Anna blocks the bot meanwhile; the bot learns it from the 403.
    fake_api.block(people["Anna"].id)
    await _press(driver, admin_user, panel, "Ja, senden")
    assert panel.text.startswith("Rundschreiben #1 geht raus")
    [broadcast] = await _broadcasts(app)
    assert broadcast.status is BroadcastStatus.SENDING
    assert (broadcast.total, broadcast.opted_out, broadcast.unreachable) == (3, 1, 1)
    rows = await _deliveries(app, broadcast.id)
    assert set(rows) == {people[name].id for name in ("Anna", "Cem", "Emil")}
    assert rows[people["Emil"].id].status is DeliveryStatus.BLOCKED

    await _drain(app)
    [copy] = fake_api.sent_to(people["Cem"].id)
    assert copy.method == "copyMessage"
    assert copy.text == "Kommt alle zur Demo!"
    assert copy.message["entities"] == bold
    assert "Welche Nachrichten ich bekomme" in dict(copy.buttons)
    assert fake_api.sent_to(people["Anna"].id) == []
    assert fake_api.sent_to(people["Ben"].id) == []
    assert fake_api.sent_to(people["Dora"].id) == []

    before = len(fake_api.sent_to(admin_user.id))
    await run_broadcasts(app.job_context())
    [broadcast] = await _broadcasts(app)
    assert broadcast.status is BroadcastStatus.DONE
    [report] = fake_api.sent_to(admin_user.id)[before:]
    assert report.text.startswith("Rundschreiben #1 ist fertig.")
    assert "Zugestellt: 1 von 3" in report.text
    assert "Nicht erreichbar (Bot blockiert): 2" in report.text
    assert "Ausgelassen, weil Ankündigungen abgeschaltet: 1" in report.text
    # The progress message says it is finished, with the unreachable counted apart.
    assert panel.text.startswith("Rundschreiben #1 ist verschickt")
    assert "Fertig: 1 zugestellt, 2 nicht erreichbar (Bot blockiert)" in panel.text
    assert panel.buttons == []  # no stop button once it is done
    # The report goes out once, however often the job runs.
    await run_broadcasts(app.job_context())
    assert len(fake_api.sent_to(admin_user.id)) == before + 1

    [who] = await driver.press(admin_user, report, _button(report, "Wer wurde nicht erreicht?"))
    assert who.text.startswith("Von Rundschreiben #1 nicht erreicht (2):")
    assert "Anna" in who.text
    assert "Emil" in who.text
    assert "Cem" not in who.text

    # The other organiser finds the report again in /rundschreiben.
    [listing] = await driver.send(admin_user, "/rundschreiben")
    assert listing.text.startswith("Kürzlich verschickt")
    [again] = await driver.press(admin_user, listing, _button(listing, "Bericht #1"))
    assert again.text == report.text


async def test_photo_and_document_keep_their_file(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],
    fake_api: FakeBotAPI,
) -> None:
    panel = await _compose(driver, admin_user, "Plakat für Samstag", photo="PHOTO1")
    assert "Nachricht: ein Foto: „Plakat für Samstag“" in panel.text
    await _press(driver, admin_user, panel, "Jetzt senden", "Ja, senden")
    await _drain(app)
    [copy] = fake_api.sent_to(people["Ben"].id)
    assert copy.photo == "PHOTO1"
    assert copy.caption == "Plakat für Samstag"

    panel = await _compose(driver, admin_user, "", document="FLYER")
    assert "Nachricht: ein Dokument" in panel.text
    await _press(driver, admin_user, panel, "Jetzt senden", "Ja, senden")
    await _drain(app)
    assert fake_api.sent_to(people["Ben"].id)[-1].document == "FLYER"


async def test_unsupported_content_is_refused(
    driver: BotDriver, admin_user: FakeUser, people: dict[str, FakeUser], fake_api: FakeBotAPI
) -> None:
    del people
    [prompt] = await driver.send(admin_user, "/broadcast")
    assert prompt.text.startswith("Schicke mir")
    update = await admin_user.send_message("x")
    update["message"].pop("text")
    update["message"]["sticker"] = {
        "file_id": "S",
        "file_unique_id": "uS",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    [reply] = await driver.deliver(admin_user, update)
    assert reply.text.startswith("Ich kann Text, Fotos, Dokumente")
    # Still waiting for the message.
    [panel] = await driver.send(admin_user, "Jetzt aber")
    assert panel.text.startswith("Vorschau deines Rundschreibens")
    del fake_api


@pytest.mark.parametrize("role", [None, Role.HOST])
async def test_members_and_hosts_cannot_broadcast(
    driver: BotDriver,
    app: Application,
    fake_api: FakeBotAPI,
    kv: None,
    role: Role | None,
    admin_user: FakeUser,
) -> None:
    del kv
    gina = fake_api.add_user(first_name="Gina", language_code="de")
    await _signed_up(app, gina, role=role)
    [reply] = await driver.send(gina, "/rundschreiben")
    assert reply.text == "Entschuldige, Rundschreiben können nur Organisator:innen verschicken."
    # Not waiting for a message: plain text gets the usual answer.
    [stray] = await driver.send(gina, "Hallo an alle")
    assert stray.text.startswith("Ich verstehe Befehle und Knöpfe.")
    # Forged buttons: sending, stopping an organiser's broadcast, reading who was missed.
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Planen")
    await driver.send(admin_user, "24.12. 18:00")
    [broadcast_id] = [b.id for b in await _broadcasts(app)] or [1]
    for data in ("bc1:go::0", f"bc1:stopok::{broadcast_id}", f"bc1:who::{broadcast_id}"):
        await driver.press(gina, reply, data)
        answer = driver.last_answer()
        assert (
            answer["text"]
            == "Entschuldige, Rundschreiben können nur Organisator:innen verschicken."
        )
        assert answer["show_alert"] is True
    assert await _broadcasts(app) == []


async def test_forged_audience_is_refused(
    driver: BotDriver, app: Application, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    del people
    panel = await _compose(driver, admin_user)
    before = panel.text
    unknown = BroadcastCallback(action=BroadcastAction.ADD, dim=AudienceKind.DISTRICTS, value=99999)
    await driver.press(admin_user, panel, unknown.pack())
    assert driver.last_answer()["text"] == "Diese Auswahl gibt es nicht mehr."
    assert driver.last_answer()["show_alert"] is True
    # A kind or an action that doesn't exist: the fallback's quiet "no longer valid".
    for data in ("bc1:add:x:1", "bc1:dim:zz:0", "bc1:frobnicate::0"):
        await driver.press(admin_user, panel, data)
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
        assert not driver.last_answer().get("show_alert")
    assert panel.text == before
    # An inactive group can't be chosen either.
    async with app.session_pool() as session:
        group = await session.scalar(select(Group))
        assert group is not None
        group.active = False
        group_id = group.id
        await session.commit()
    inactive = BroadcastCallback(
        action=BroadcastAction.ADD, dim=AudienceKind.GROUPS, value=group_id
    )
    await driver.press(admin_user, panel, inactive.pack())
    assert driver.last_answer()["text"] == "Diese Auswahl gibt es nicht mehr."
    # A press on a draft that was discarded.
    await _press(driver, admin_user, panel, "Verwerfen")
    assert panel.text == "Verworfen. Es wurde nichts verschickt."
    await driver.press(admin_user, panel, "bc1:go::0")
    assert driver.last_answer()["text"].startswith("Dieser Entwurf ist nicht mehr offen.")
    assert await _broadcasts(app) == []


def _next_dst_change(zone_name: str, after: datetime) -> datetime:
    """The first local midnight after the next change of UTC offset in `zone_name`."""
    zone = ZoneInfo(zone_name)
    day = after.astimezone(zone).replace(hour=12, minute=0, second=0, microsecond=0)
    for _ in range(370):
        following = (day + timedelta(days=1)).astimezone(zone)
        following = following.replace(hour=12)
        if following.utcoffset() != day.utcoffset():
            return following.replace(hour=0)
        day = following
    raise AssertionError("no DST change within a year")


async def test_scheduled_broadcast_across_a_dst_change(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],
    fake_api: FakeBotAPI,
) -> None:
    # Scheduled now, before the clocks change, for 10:00 on the day after the change.
    change = _next_dst_change("Europe/Berlin", utcnow())
    target_local = (change + timedelta(days=1)).replace(hour=10)
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Planen")
    [confirm] = await driver.send(admin_user, target_local.strftime("%d.%m.%Y 10:00"))
    assert "10:00 an 3 Mitglieder senden?" in confirm.text
    await _press(driver, admin_user, confirm, "Ja, senden")
    assert confirm.text.startswith("Geplant als #1")
    [broadcast] = await _broadcasts(app)
    expected = target_local.astimezone(UTC)
    assert broadcast.scheduled_at == expected
    assert broadcast.status is BroadcastStatus.SCHEDULED
    # The other side of the change would be an hour off: that must not start it.
    await run_broadcasts(app.job_context(), now=expected - timedelta(minutes=1))
    assert (await _broadcasts(app))[0].status is BroadcastStatus.SCHEDULED
    before = len(fake_api.sent_to(admin_user.id))
    await run_broadcasts(app.job_context(), now=expected)
    assert (await _broadcasts(app))[0].status is BroadcastStatus.SENDING
    [progress] = fake_api.sent_to(admin_user.id)[before:]
    assert progress.text.startswith("Rundschreiben #1 geht raus")
    await _drain(app, now=expected)
    for name in ("Anna", "Ben", "Cem"):
        assert len(fake_api.sent_to(people[name].id)) == 1
    rows = await _deliveries(app, broadcast.id)
    assert {row.due_at for row in rows.values()} == {expected}


async def test_time_input_errors(
    driver: BotDriver, app: Application, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    del people
    panel = await _compose(driver, admin_user)
    [ask] = await driver.press(admin_user, panel, _button(panel, "Planen"))
    assert "(Uhrzeit in Berlin)" in ask.text
    [reply] = await driver.send(admin_user, "nächsten Dienstag")
    assert reply.text.startswith("Das habe ich nicht verstanden.")
    [reply] = await driver.send(admin_user, "01.01.2020 10:00")
    assert reply.text.startswith("Diese Zeit ist schon vorbei.")
    [reply] = await driver.send(admin_user, "31.02. 10:00")
    assert reply.text.startswith("Das habe ich nicht verstanden.")
    [confirm] = await driver.send(admin_user, "24.12. 18:00")
    assert "24. Dez., 18:00 an 3 Mitglieder" in confirm.text
    # /abbrechen ends the draft; its buttons are stale afterwards and nothing was stored.
    [cancelled] = await driver.send(admin_user, "/abbrechen")
    assert cancelled.text.startswith("Abgebrochen.")
    await _press(driver, admin_user, confirm, "Ja, senden")
    assert driver.last_answer()["text"].startswith("Dieser Entwurf ist nicht mehr offen.")
    assert await _broadcasts(app) == []


async def test_stop_a_running_and_a_scheduled_broadcast(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],
    fake_api: FakeBotAPI,
) -> None:
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Jetzt senden", "Ja, senden")
    [ask] = await driver.press(admin_user, panel, _button(panel, "stoppen"))
    assert ask.text.startswith("Rundschreiben #1 stoppen?")
    await _press(driver, admin_user, ask, "Ja, stoppen")
    assert ask.text.startswith("Rundschreiben #1 wurde gestoppt.")
    assert "Nicht verschickt: 3" in ask.text
    # The progress message no longer says it goes out, and has no stop button left.
    assert panel.text.startswith("Rundschreiben #1 wurde gestoppt.")
    assert "0 zugestellt, 1 nicht erreichbar (Bot blockiert), 3 nicht verschickt" in panel.text
    assert panel.buttons == []
    await _drain(app)
    for name in ("Anna", "Ben", "Cem"):
        assert fake_api.sent_to(people[name].id) == []
    rows = await _deliveries(app, 1)
    assert {row.status for row in rows.values()} == {
        DeliveryStatus.CANCELLED,
        DeliveryStatus.BLOCKED,
    }
    await driver.press(admin_user, ask, "bc1:stopok::1")
    assert driver.last_answer()["text"] == "Dieses Rundschreiben ist schon beendet."

    # A scheduled one, stopped from the list /rundschreiben shows.
    panel = await _compose(driver, admin_user, "Später")
    await _press(driver, admin_user, panel, "Planen")
    [confirm] = await driver.send(admin_user, "24.12. 18:00")
    await _press(driver, admin_user, confirm, "Ja, senden")
    [listing] = await driver.send(admin_user, "/rundschreiben")
    assert listing.text.startswith("Geplante und laufende Rundschreiben")
    assert "#2" in listing.text
    assert "„Später“" in listing.text
    [ask] = await driver.press(admin_user, listing, _button(listing, "#2 stoppen"))
    [_no] = [await driver.press(admin_user, ask, _button(ask, "Nein, weiter"))]
    assert driver.last_answer()["text"] == "Es geht weiter."
    [ask] = await driver.press(admin_user, listing, _button(listing, "#2 stoppen"))
    await _press(driver, admin_user, ask, "Ja, stoppen")
    assert (
        ask.text == "Rundschreiben #2 wurde gestoppt, bevor es rausging. Nichts wurde verschickt."
    )
    assert (await _broadcasts(app))[1].status is BroadcastStatus.CANCELLED
    await run_broadcasts(app.job_context(), now=utcnow() + timedelta(days=400))
    assert await _deliveries(app, 2) == {}


async def test_settings_switch_categories_off_and_on(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],
    fake_api: FakeBotAPI,
) -> None:
    ben = people["Ben"]
    [panel] = await driver.send(ben, "/einstellungen")
    assert panel.text.startswith("Welche Nachrichten möchtest du von mir bekommen?")
    assert "✅ Ankündigungen" in panel.text
    await _press(driver, ben, panel, "Ankündigungen abschalten")
    assert driver.last_answer()["text"] == "Ankündigungen sind jetzt abgeschaltet."
    assert "🔕 Ankündigungen" in panel.text
    async with app.session_pool() as session:
        stored = list(
            await session.scalars(select(OptOut.category).where(OptOut.member_id == ben.id))
        )
    assert stored == [Category.ANNOUNCEMENTS]

    compose = await _compose(driver, admin_user)
    assert "2 Mitglieder haben Ankündigungen abgeschaltet." in compose.text
    await _press(driver, admin_user, compose, "Jetzt senden", "Ja, senden")
    await _drain(app)
    assert fake_api.sent_to(ben.id) == [panel]

    [privacy] = await driver.send(ben, "/datenschutz")
    [mine] = await driver.press(ben, privacy, _button(privacy, "Meine Daten anzeigen"))
    assert "Abgeschaltet: Ankündigungen (seit " in mine.text

    # Back on, from the button under a broadcast copy someone else got.
    await _press(driver, ben, panel, "Ankündigungen einschalten")
    assert "✅ Ankündigungen" in panel.text
    [copy] = fake_api.sent_to(people["Anna"].id)
    [opened] = await driver.press(people["Anna"], copy, _button(copy, "Welche Nachrichten"))
    assert opened.text.startswith("Welche Nachrichten möchtest du")
    await driver.press(ben, panel, "set1:toggle:everything")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    del app


async def test_members_say_they_come_and_attendees_get_a_broadcast(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],
    fake_api: FakeBotAPI,
) -> None:
    anna, ben = people["Anna"], people["Ben"]
    [dates] = await driver.send(anna, "/termine")
    assert dates.text.startswith("Die nächsten Treffen")
    first = dates.buttons[0]
    assert first[0].endswith("· Stammtisch Mitte")
    card = await driver.rsvp(anna, dates, 0)
    assert driver.last_answer()["text"] == "Bis dann! Ich habe notiert, dass du kommst."
    assert "Du kommst." in card.text
    [dates] = await driver.send(anna, "/termine")
    assert dates.buttons[0][0].startswith("✅ ")
    [ben_dates] = await driver.send(ben, "/termine")
    await driver.rsvp(ben, ben_dates, 0)
    await driver.rsvp(ben, ben_dates, 1)  # the week after, too
    # Anna can't make it after all.
    [no] = [data for _label, data in card.buttons if data.startswith("rv1:n:")]
    await driver.press(anna, card, no)
    assert driver.last_answer()["text"] == "Notiert: Du kommst nicht."
    [dates] = await driver.send(anna, "/termine")
    assert dates.buttons[0][0].startswith("❌ ")

    # A meeting that doesn't exist, an id past 2^63: refused, nothing stored.
    for data in ("rv1:y:999:0", "rv1:s:999:0"):
        await driver.press(anna, dates, data)
        assert driver.last_answer()["text"].startswith("Dieses Treffen steht nicht mehr")
    await driver.press(anna, dates, "rv1:y:99999999999999999999:0")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    # Someone who never agreed sees the dates without buttons, and a forged press is refused.
    fritz = people["Fritz"]
    [plain] = await driver.send(fritz, "/termine")
    assert plain.buttons == []
    assert "Sobald du in /start zugestimmt hast" in plain.text
    await driver.press(fritz, plain, first[1])
    assert (
        driver.last_answer()["text"] == "Um auf Treffen zu antworten, stimme zuerst in /start zu."
    )

    panel = await _compose(driver, admin_user, "Bringt Kuchen mit")
    await _press(driver, admin_user, panel, "Teilnehmende")
    labels = [text for text, _data in panel.buttons]
    assert labels[0].endswith("· Stammtisch Mitte (1)")
    await driver.press(admin_user, panel, panel.buttons[0][1])
    await _press(driver, admin_user, panel, "Zurück")
    assert "Teilnehmende eines Treffens: " in panel.text
    assert "Empfänger:innen: 1" in panel.text
    await _press(driver, admin_user, panel, "Jetzt senden", "Ja, senden")
    await _drain(app)
    assert [m.text for m in fake_api.sent_to(ben.id)][-1] == "Bringt Kuchen mit"
    assert [m.text for m in fake_api.sent_to(anna.id)][-1] != "Bringt Kuchen mit"

    # What Ben said is part of his data, and erased with it.
    [privacy] = await driver.send(ben, "/datenschutz")
    [mine] = await driver.press(ben, privacy, _button(privacy, "Meine Daten anzeigen"))
    assert "Deine Antworten zu Treffen" in mine.text.splitlines()
    assert ": ja, geantwortet am " in mine.text
    [ask] = await driver.press(ben, privacy, _button(privacy, "Alles löschen"))
    async with app.session_pool() as session:
        session.add(OptOut(member_id=ben.id, category=Category.REMINDERS))
        await session.commit()
    await _press(driver, ben, ask, "Ja, alles löschen")
    async with app.session_pool() as session:
        assert (
            list(await session.scalars(select(Attendance).where(Attendance.member_id == ben.id)))
            == []
        )
        assert list(await session.scalars(select(OptOut).where(OptOut.member_id == ben.id))) == []


async def test_a_broadcast_to_two_thousand_with_faults_reaches_everyone_once(
    fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    """10% of sends fail (502s and timeouts) and 5% of members blocked the bot meanwhile."""
    people = [fake_api.add_user(first_name=f"M{n}", language_code="de") for n in range(2000)]
    blocked = {person.id for person in people[::20]}
    fake_api.block_many(blocked)
    async with app.session_pool() as session:
        for person in people:
            member = Member(id=person.id, first_name=person.first_name)
            member.profile = Profile(member_id=person.id)
            session.add(member)
        await session.commit()
    source = (await admin_user.send_message("Mitgliederversammlung am 12.12."))["message"]
    async with app.session_pool() as session:
        broadcast = await broadcasts.schedule(
            session,
            author_id=admin_user.id,
            source_chat_id=admin_user.id,
            source_message_id=source["message_id"],
            content_type="text",
            summary="Mitgliederversammlung",
            category=Category.ANNOUNCEMENTS,
            audience=Audience(),
            scheduled_at=utcnow(),
        )
        await session.commit()
    await run_broadcasts(app.job_context())

    settings = app.settings.model_copy(update={"paid_broadcast": True, "send_rate": 1000.0})
    worker = DeliveryWorker(
        JobContext(app.session_pool, app.bot, app.i18n, settings),
        Pacer(PacingLimits(global_per_second=1000.0, paid=True)),
        renderers=RENDERERS,
    )
    fake_api.inject_faults(rate=0.1, kinds=("5xx", "timeout"), seed=11, timeout_seconds=0.2)
    now = utcnow()
    for _ in range(20):  # each round: everything due, then time moves past the backoffs
        while await worker.run_once(now=now):
            pass
        rows = await _deliveries(app, broadcast.id)
        if all(
            row.status not in {DeliveryStatus.PENDING, DeliveryStatus.SENDING}
            for row in rows.values()
        ):
            break
        now += timedelta(minutes=10)
    fake_api.stop_faults()
    assert fake_api.injected["5xx"] + fake_api.injected["timeout"] > 100

    for person in people:
        copies = [m for m in fake_api.sent_to(person.id) if m.method == "copyMessage"]
        assert len(copies) == (0 if person.id in blocked else 1), person
        expected = DeliveryStatus.BLOCKED if person.id in blocked else DeliveryStatus.SENT
        assert rows[person.id].status is expected
    async with app.session_pool() as session:
        unreachable = set(
            await session.scalars(select(Member.id).where(Member.reachable.is_(False)))
        )
    assert unreachable == blocked

    before = len(fake_api.sent_to(admin_user.id))
    await run_broadcasts(app.job_context())
    [report] = fake_api.sent_to(admin_user.id)[before:]
    assert "Zugestellt: 1.900 von 2.000" in report.text
    assert "Nicht erreichbar (Bot blockiert): 100" in report.text
    assert fake_api.limit_breaches() == []


async def test_each_audience_page_shows_what_it_reaches(
    driver: BotDriver, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    del people
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Stadtteil")
    assert "Damit erreichst du 3 Mitglieder." in panel.text  # Anna, Ben, Cem
    await _press(driver, admin_user, panel, "Mitte")
    assert "Damit erreichst du 2 Mitglieder." in panel.text  # Anna, Cem
    await _press(driver, admin_user, panel, "Zurück", "Thema", "Bildung")
    assert panel.text.startswith("Thema: tippe zum Auswählen")
    assert "Damit erreichst du 1 Mitglied." in panel.text  # Cem
    # Buttons say what they set: a double tap on a chosen value unchooses it once.
    chosen = _button(panel, "✅ Bildung")
    assert BroadcastCallback.unpack(chosen).action is BroadcastAction.REMOVE
    await driver.press(admin_user, panel, chosen)
    assert "Damit erreichst du 2 Mitglieder." in panel.text
    await driver.press(admin_user, panel, chosen)
    assert "Damit erreichst du 2 Mitglieder." in panel.text
    assert not driver.last_answer().get("show_alert")
    for page in ("Gruppenmitglieder", "Mitmachform", "Teilnehmende"):
        await _press(driver, admin_user, panel, "Zurück", page)
        assert "Damit erreichst du 2 Mitglieder." in panel.text, page


async def test_the_kind_of_message_is_chosen_on_its_own_page(
    driver: BotDriver, app: Application, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    del people
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Art: Ankündigungen")
    assert panel.text.startswith("Art der Nachricht")
    assert "✅ Ankündigungen: Neuigkeiten und Einladungen aus dem KV" in panel.text
    assert [label for label, _data in panel.buttons] == [
        "✅ Ankündigungen",
        "Erinnerungen",
        "Hilferufe",
        "« Zurück",
    ]
    assert "Damit erreichst du 3 Mitglieder." in panel.text  # Dora switched announcements off
    reminders = _button(panel, "Erinnerungen")
    await driver.press(admin_user, panel, reminders)
    assert "✅ Erinnerungen" in [label for label, _data in panel.buttons]
    assert "Damit erreichst du 4 Mitglieder." in panel.text
    edits = panel.edits
    # Pressed again (late or twice): the same kind, no change, no alert.
    await driver.press(admin_user, panel, reminders)
    assert panel.edits == edits
    assert not driver.last_answer().get("show_alert")
    await _press(driver, admin_user, panel, "Zurück")
    assert "Art: Erinnerungen" in panel.text
    assert "Empfänger:innen: 4" in panel.text
    await _press(driver, admin_user, panel, "Jetzt senden", "Ja, senden")
    [broadcast] = await _broadcasts(app)
    assert broadcast.category is Category.REMINDERS


async def test_plural_forms_in_german(
    driver: BotDriver, app: Application, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    async with app.session_pool() as session:
        session.add(OptOut(member_id=people["Anna"].id, category=Category.ANNOUNCEMENTS))
        await session.commit()
    panel = await _compose(driver, admin_user)
    # Ben and Cem; Anna and Dora switched announcements off.
    assert "2 Mitglieder haben Ankündigungen abgeschaltet." in panel.text
    assert "1 Mitglied ist nicht erreichbar (hat den Bot blockiert)." in panel.text
    await _press(driver, admin_user, panel, "Jetzt senden")
    assert "jetzt an 2 Mitglieder senden?" in panel.text
    await _press(driver, admin_user, panel, "Zurück", "Stadtteil", "Nord", "Zurück")
    assert "Empfänger:innen: 1" in panel.text
    assert "Ausgelassen" not in panel.text
    await _press(driver, admin_user, panel, "Jetzt senden")
    assert "jetzt an 1 Mitglied senden?" in panel.text
    await _press(driver, admin_user, panel, "Zurück", "Planen")
    [confirm] = await driver.send(admin_user, "24.12. 18:00")
    assert "24. Dez., 18:00 an 1 Mitglied senden?" in confirm.text


async def test_broadcast_lists_running_and_recent_first(
    driver: BotDriver, app: Application, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    del people
    # Nothing running or sent: straight to the message.
    [prompt] = await driver.send(admin_user, "/rundschreiben")
    assert prompt.text.startswith("Schicke mir die Nachricht")
    await driver.send(admin_user, "/abbrechen")
    panel = await _compose(driver, admin_user, "Später")
    await _press(driver, admin_user, panel, "Planen")
    [confirm] = await driver.send(admin_user, "24.12. 18:00")
    await _press(driver, admin_user, confirm, "Ja, senden")

    [listing] = await driver.send(admin_user, "/rundschreiben")
    assert listing.text.startswith("Geplante und laufende Rundschreiben")
    assert [label for label, _data in listing.buttons] == ["#1 stoppen", "Neues Rundschreiben"]
    # Not waiting for a message yet: text is not taken for a broadcast.
    [stray] = await driver.send(admin_user, "Hallo an alle")
    assert stray.text.startswith("Ich verstehe Befehle und Knöpfe.")
    [prompt] = await driver.press(admin_user, listing, _button(listing, "Neues Rundschreiben"))
    assert prompt.text.startswith("Schicke mir die Nachricht")
    # /abbrechen ends the new draft before it has a message.
    [cancelled] = await driver.send(admin_user, "/abbrechen")
    assert cancelled.text.startswith("Abgebrochen.")
    [stray] = await driver.send(admin_user, "Hallo an alle")
    assert stray.text.startswith("Ich verstehe Befehle und Knöpfe.")

    # Stopped before it went out: not listed any more. One sent now: listed with its report.
    [ask] = await driver.press(admin_user, listing, _button(listing, "#1 stoppen"))
    await _press(driver, admin_user, ask, "Ja, stoppen")
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Jetzt senden", "Ja, senden")
    await _drain(app)
    await run_broadcasts(app.job_context())
    [listing] = await driver.send(admin_user, "/rundschreiben")
    assert listing.text.startswith("Kürzlich verschickt")
    assert [label for label, _data in listing.buttons] == ["Bericht #2", "Neues Rundschreiben"]
    # Finished more than a week ago: no longer recent, so straight to a new draft.
    async with app.session_pool() as session:
        for broadcast in await session.scalars(select(Broadcast)):
            broadcast.finished_at = utcnow() - timedelta(days=8)
        await session.commit()
    [prompt] = await driver.send(admin_user, "/rundschreiben")
    assert prompt.text.startswith("Schicke mir die Nachricht")


async def test_forged_actions_are_no_longer_valid_not_refused(
    driver: BotDriver, app: Application, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    del people
    [prompt] = await driver.send(admin_user, "/rundschreiben")
    # An action that does not exist, with and without an open draft: the fallback's answer,
    # not the refusal meant for members who may not broadcast.
    await driver.press(admin_user, prompt, "bc1:frobnicate::0")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    panel = await _compose(driver, admin_user)
    for data in ("bc1:frobnicate::0", "bc1:kind::7", "bc1:dim::0", "bc1:go:d"):
        await driver.press(admin_user, panel, data)
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr.", data
    # An unknown broadcast: a quiet note.
    await driver.press(admin_user, panel, "bc1:who::999")
    assert driver.last_answer()["text"] == "Dieses Rundschreiben kenne ich nicht."
    assert not driver.last_answer().get("show_alert")
    # The draft is still open and unchanged.
    await _press(driver, admin_user, panel, "Jetzt senden")
    assert "jetzt an 3 Mitglieder senden?" in panel.text
    assert await _broadcasts(app) == []


async def test_an_organiser_whose_role_is_taken_mid_draft_is_refused(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI, kv: None
) -> None:
    del kv
    olga = fake_api.add_user(first_name="Olga", language_code="de")
    await _signed_up(app, olga, role=Role.ORGANISER)
    panel = await _compose(driver, olga)
    async with app.session_pool() as session:
        await session.execute(delete(MemberRole).where(MemberRole.member_id == olga.id))
        await session.commit()
    await _press(driver, olga, panel, "Jetzt senden")
    refusal = "Entschuldige, Rundschreiben können nur Organisator:innen verschicken."
    assert driver.last_answer()["text"] == refusal
    assert driver.last_answer()["show_alert"] is True
    # A step of the draft gets the refusal and ends it.
    await _press(driver, olga, panel, "Planen")
    [reply] = await driver.send(olga, "24.12. 18:00")
    assert reply.text == refusal
    [stray] = await driver.send(olga, "24.12. 18:00")
    assert stray.text.startswith("Ich verstehe Befehle und Knöpfe.")
    assert await _broadcasts(app) == []


async def test_send_from_an_older_confirmation_shows_the_current_one_first(
    driver: BotDriver, app: Application, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    # Draft A's confirmation, for Mitte.
    first = await _compose(driver, admin_user, "Erster Entwurf")
    await _press(driver, admin_user, first, "Stadtteil", "Mitte", "Zurück", "Jetzt senden")
    assert "jetzt an 2 Mitglieder senden?" in first.text
    send_a = _button(first, "Ja, senden")
    # A new draft B for everyone replaces A; A's confirmation keeps its button.
    second = await _compose(driver, admin_user, "Zweiter Entwurf")
    await driver.press(admin_user, first, send_a)
    # Nothing was sent: A's message now shows B's confirmation, and says why.
    assert await _broadcasts(app) == []
    answer = driver.last_answer()
    assert answer["text"] == (
        "Der Entwurf hat sich seitdem geändert: Bitte prüf ihn und bestätige noch einmal."
    )
    assert not answer.get("show_alert")
    assert "jetzt an 3 Mitglieder senden?" in first.text
    assert second.buttons  # B's panel stays as it was
    # Confirmed on the screen that shows it, B goes out, once.
    send_b = _button(first, "Ja, senden")
    await driver.press(admin_user, first, send_b)
    await driver.press(admin_user, first, send_b)
    [broadcast] = await _broadcasts(app)
    assert broadcast.total == 4  # B's everyone, not A's Mitte (3, see above)
    assert first.text.startswith("Rundschreiben #1 geht raus")


async def test_send_after_the_draft_changed_under_its_confirmation_asks_again(
    driver: BotDriver, app: Application, admin_user: FakeUser, people: dict[str, FakeUser]
) -> None:
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Jetzt senden")
    send = _button(panel, "Ja, senden")
    # The draft changes (Mitte only) on this message; a late "Send" of the confirmation shown
    # before must not send the changed draft unseen.
    await _press(driver, admin_user, panel, "Zurück", "Stadtteil", "Mitte")
    await driver.press(admin_user, panel, send)
    assert await _broadcasts(app) == []
    assert "jetzt an 2 Mitglieder senden?" in panel.text
