"""Dispatcher tests of /meine_gruppen: hosts see who comes and manage their meetings; others
are refused politely; a handover needs an organiser."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import Application
from bot.services import meeting_notices, rsvp, schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.telegram.callbacks import HostAction, HostCallback
from models import (
    AuditEntry,
    Broadcast,
    CancelReason,
    Delivery,
    Group,
    GroupHost,
    GroupMembership,
    GroupPause,
    HostNotice,
    HostPreference,
    Meeting,
    MeetingStatus,
    Member,
    Role,
    RsvpAnswer,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

ZONE = ZoneInfo("Europe/Berlin")

SETUP = """
name: KV Testhausen
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    meets: every Thursday 19:00
    place: Café Rosa
    hosts: [{hanna}]
  - key: ag-frieden
    name: AG Frieden
    type: ag
    meets: every Tuesday 18:00
    hosts: [{otto}]
telegram_groups:
  - chat_id: -100123
    title: Stammtisch Mitte Chat
    group: stammtisch-mitte
"""


@dataclass
class World:
    hanna: FakeUser  # hosts Stammtisch Mitte, German
    otto: FakeUser  # hosts AG Frieden, English
    max: FakeUser  # a member of Stammtisch Mitte
    lena: FakeUser  # a member of Stammtisch Mitte
    mitte: int
    frieden: int


@pytest.fixture
async def world(app: Application, fake_api: FakeBotAPI) -> World:
    hanna = fake_api.add_user(first_name="Hanna", username="hanna_host", language_code="de")
    otto = fake_api.add_user(first_name="Otto", language_code="en")
    max_ = fake_api.add_user(first_name="Max", language_code="de")
    lena = fake_api.add_user(first_name="Lena", language_code="de")
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP.format(hanna=hanna.id, otto=otto.id)))
        await session.commit()
    await signed_up(app.session_pool, hanna, role=Role.HOST)
    await signed_up(app.session_pool, otto, role=Role.HOST)
    await signed_up(app.session_pool, max_, group="Stammtisch Mitte")
    await signed_up(app.session_pool, lena, group="Stammtisch Mitte")
    async with app.session_pool() as session:
        await schedule.extend_horizon(session, now=utcnow(), zone=ZONE)
        await session.commit()
        ids = dict((await session.execute(select(Group.name, Group.id))).all())
    return World(hanna, otto, max_, lena, ids["Stammtisch Mitte"], ids["AG Frieden"])


def press(action: HostAction, *, group_id: int = 0, meeting_id: int = 0, value: int = 0) -> str:
    return HostCallback(action=action, group_id=group_id, meeting_id=meeting_id, value=value).pack()


def button(message: SentMessage, start: str) -> str:
    [data] = [data for text, data in message.buttons if text.startswith(start)]
    return data


async def meetings_of(app: Application, group_id: int) -> list[Meeting]:
    async with app.session_pool() as session:
        rows = await session.scalars(
            select(Meeting).where(Meeting.group_id == group_id).order_by(Meeting.starts_at)
        )
        return list(rows.unique())


async def answer(
    app: Application, user: FakeUser, meeting_id: int, kind: RsvpAnswer, guests: int = 0
) -> None:
    async with app.session_pool() as session:
        await rsvp.answer(
            session,
            meeting_id=meeting_id,
            member_id=user.id,
            consented=True,
            answer=kind,
            guests=guests,
            now=utcnow(),
        )
        await session.commit()


async def changes_queued(app: Application, meeting_id: int) -> list[tuple[int, dict]]:
    async with app.session_pool() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.kind == meeting_notices.MEETING_CHANGED)
        )
        return [
            (row.recipient_id, row.payload)
            for row in rows
            if row.payload.get("meeting_id") == meeting_id
        ]


async def open_meeting(driver: BotDriver, user: FakeUser, meeting_id: int) -> SentMessage:
    """The host's view of one meeting, as a screen to press on."""
    [groups] = await driver.send(user, "/meine_gruppen")
    await driver.press(user, groups, press(HostAction.MEETING, meeting_id=meeting_id))
    return groups


# --- seeing who comes ------------------------------------------------------------------------


async def test_host_sees_groups_meetings_and_who_comes(
    driver: BotDriver, app: Application, world: World
) -> None:
    first = (await meetings_of(app, world.mitte))[0]
    await answer(app, world.max, first.id, RsvpAnswer.YES, guests=2)
    await answer(app, world.lena, first.id, RsvpAnswer.MAYBE)

    [groups] = await driver.send(world.hanna, "/meine_gruppen")
    assert groups.text.startswith("Deine Gruppen\n")
    assert "Von Zu- und Absagen erfährst du: einmal am Tag zusammengefasst." in groups.text
    labels = [text for text, _ in groups.buttons]
    assert labels == ["Stammtisch Mitte", "🔔 Wie ich dir Antworten melde"]

    await driver.press(world.hanna, groups, button(groups, "Stammtisch Mitte"))
    assert groups.text.startswith("Stammtisch Mitte\nTrifft sich: every Thursday 19:00")
    first_label = groups.buttons[0][0]
    assert first_label.endswith("· ✅ 3 🤔 1")
    labels = [text for text, _ in groups.buttons]
    assert "➕ Termin eintragen" in labels
    assert "⏸ Reihe pausieren" in labels
    assert "🤝 Gruppe übergeben" in labels

    await driver.press(world.hanna, groups, groups.buttons[0][1])
    lines = groups.text.splitlines()
    assert lines[0] == "Stammtisch Mitte"
    assert lines[2] == "📍 Café Rosa"
    assert "✅ 1 (+2 Gäste) · 🤔 1 · ❌ 0" in groups.text
    assert "✅ Kommen: Max (+2) 🆕" in lines
    assert "🤔 Vielleicht: Lena 🆕" in lines
    assert "🆕 = zum ersten Mal bei dieser Gruppe" in lines
    # The group has a chat the bot serves: the post button is there.
    assert button(groups, "📣 Im Gruppenchat posten") == press(HostAction.POST, meeting_id=first.id)


async def test_english_host_and_no_post_button_without_a_chat(
    driver: BotDriver, app: Application, world: World
) -> None:
    [groups] = await driver.send(world.otto, "/my_groups")
    assert groups.text.startswith("Your groups\n")
    assert "You hear of answers: a daily summary." in groups.text
    await driver.press(world.otto, groups, button(groups, "AG Frieden"))
    assert "Meets: every Tuesday 18:00" in groups.text
    await driver.press(world.otto, groups, groups.buttons[0][1])
    assert "Nobody has answered yet." in groups.text
    labels = [text for text, _ in groups.buttons]
    assert "📣 Post in the group chat" not in labels
    assert "✉️ Write to everyone coming" in labels


async def test_help_and_menu_show_the_host_command(
    driver: BotDriver, world: World, fake_api: FakeBotAPI
) -> None:
    [help_text] = await driver.send(world.hanna, "/hilfe")
    assert "/meine_gruppen – Deine Gruppen als Gastgeber:in" in help_text.text
    [help_text] = await driver.send(world.max, "/hilfe")
    assert "meine_gruppen" not in help_text.text
    [help_text] = await driver.send(world.otto, "/help")
    assert "/my_groups – Your groups as host: dates, who is coming" in help_text.text


# --- refusals --------------------------------------------------------------------------------


async def test_a_member_without_a_group_is_refused(driver: BotDriver, world: World) -> None:
    [reply] = await driver.send(world.max, "/meine_gruppen")
    assert reply.text.startswith("Du bist noch bei keiner Gruppe Gastgeber:in.")
    [screen] = await driver.send(world.max, "/termine")
    await driver.press(world.max, screen, press(HostAction.GROUP, group_id=world.mitte))
    answer_ = driver.last_answer()
    assert answer_["text"] == (
        "Entschuldige, das können nur die Gastgeber:innen dieser Gruppe und die Organisator:innen."
    )
    assert answer_["show_alert"] is True


async def test_another_groups_host_and_forged_ids_are_refused(
    driver: BotDriver, app: Application, world: World
) -> None:
    mitte_meeting = (await meetings_of(app, world.mitte))[0]
    await answer(app, world.max, mitte_meeting.id, RsvpAnswer.YES)
    [groups] = await driver.send(world.otto, "/my_groups")
    refusal = "Sorry, only this group's hosts and the organisers can do that."
    for data in (
        press(HostAction.GROUP, group_id=world.mitte),
        press(HostAction.MEETING, meeting_id=mitte_meeting.id),
        press(HostAction.CANCEL_OK, meeting_id=mitte_meeting.id),
        press(HostAction.END_OK, group_id=world.mitte),
        press(HostAction.ADD_TIME, group_id=world.mitte, value=10**9),
        press(HostAction.MESSAGE, meeting_id=mitte_meeting.id),
        press(HostAction.HANDOVER, group_id=world.mitte),
    ):
        assert await driver.press(world.otto, groups, data) == []
        assert driver.last_answer()["text"] == refusal, data
    unknown = "This group or meeting is no longer there. /my_groups shows the current ones."
    for data in (
        press(HostAction.MEETING, meeting_id=4242),
        press(HostAction.ADD_DAY, group_id=world.frieden, value=10**12),
    ):
        await driver.press(world.otto, groups, data)
        assert driver.last_answer()["text"] == unknown, data
    # Ids past any row's (or negative) are answered like a stale button.
    for data in (f"ho1:meeting:0:{2**40}:0", f"ho1:group:{2**62}:0:0", "ho1:cancelok:0:-1:0"):
        await driver.press(world.otto, groups, data)
        assert driver.last_answer()["text"] == "This button is no longer valid.", data
    # Nothing changed.
    [meeting] = [m for m in await meetings_of(app, world.mitte) if m.id == mitte_meeting.id]
    assert meeting.status == MeetingStatus.SCHEDULED
    assert await changes_queued(app, mitte_meeting.id) == []
    assert groups.text.startswith("Your groups")


async def test_organisers_manage_every_group(
    driver: BotDriver, app: Application, world: World, fake_api: FakeBotAPI
) -> None:
    olga = fake_api.add_user(first_name="Olga", language_code="de")
    await signed_up(app.session_pool, olga, role=Role.ORGANISER)
    [groups] = await driver.send(olga, "/meine_gruppen")
    assert groups.text.startswith("Alle Gruppen\n")
    assert [text for text, _ in groups.buttons][:2] == ["Stammtisch Mitte", "AG Frieden"]
    await driver.press(olga, groups, button(groups, "AG Frieden"))
    assert groups.text.startswith("AG Frieden")
    # Nothing to hand over: she doesn't host it herself.
    assert "🤝 Gruppe übergeben" not in [text for text, _ in groups.buttons]


# --- new meetings ----------------------------------------------------------------------------


async def test_add_a_meeting_with_buttons(
    driver: BotDriver, app: Application, world: World
) -> None:
    [groups] = await driver.send(world.hanna, "/meine_gruppen")
    await driver.press(world.hanna, groups, press(HostAction.ADD, group_id=world.mitte))
    assert groups.text == "Stammtisch Mitte: an welchem Tag? Oder tippe Datum und Uhrzeit."
    days = [data for _, data in groups.buttons if HostAction.ADD_DAY.value in data]
    assert len(days) == 14
    # Five days ahead, at 20:00 (the series meets at 19:00 on Thursdays only).
    await driver.press(world.hanna, groups, days[5])
    times = [text for text, _ in groups.buttons]
    assert times[:5] == ["18:00", "18:30", "19:00", "19:30", "20:00"]
    before = len(await meetings_of(app, world.mitte))
    eight = button(groups, "20:00")
    await driver.press(world.hanna, groups, eight)
    assert driver.last_answer()["text"].startswith("Eingetragen: Stammtisch Mitte am ")
    # A double tap: the meeting is there already; the screen shows it, nothing is added.
    shown = groups.text
    assert await driver.press(world.hanna, groups, eight) == []
    answer = driver.last_answer()
    assert answer["text"] == "Die Gruppe trifft sich zu dieser Zeit schon."
    assert not answer.get("show_alert")
    assert groups.text == shown
    meetings = await meetings_of(app, world.mitte)
    assert len(meetings) == before + 1
    [added] = [m for m in meetings if m.one_off]
    local = added.starts_at.astimezone(ZONE)
    assert (local.hour, local.minute) == (20, 0)
    assert local.date() == utcnow().astimezone(ZONE).date() + timedelta(days=5)
    assert groups.text.startswith("Stammtisch Mitte\n🗓 ")
    assert "Noch hat niemand geantwortet." in groups.text


def _next_spring_forward(today: date) -> date:
    """The next last Sunday of March (Europe/Berlin skips 02:00-03:00) after today."""
    year = today.year if today < date(today.year, 3, 20) else today.year + 1
    day = date(year, 3, 31)
    while day.weekday() != 6:
        day -= timedelta(days=1)
    return day


async def test_typed_times_past_impossible_dst_gap_and_clash(
    driver: BotDriver, app: Application, world: World
) -> None:
    [groups] = await driver.send(world.hanna, "/meine_gruppen")
    [ask] = await driver.press(
        world.hanna, groups, press(HostAction.ADD_TYPED, group_id=world.mitte)
    )
    assert ask.text.startswith("Wann soll sich Stammtisch Mitte treffen?")
    assert ask.text.endswith("/abbrechen beendet das.")

    [reply] = await driver.send(world.hanna, "1.1.2020 19:00")
    assert reply.text == (
        "01.01.2020 19:00 liegt in der Vergangenheit. Versuche es noch einmal oder /abbrechen."
    )
    [reply] = await driver.send(world.hanna, "31.2. 19:00")
    assert "unmögliches Datum" in reply.text or "gibt es nicht" in reply.text
    gap = _next_spring_forward(utcnow().astimezone(ZONE).date())
    [reply] = await driver.send(world.hanna, f"{gap:%d.%m.%Y} 02:30")
    assert "gibt es in Europe/Berlin nicht" in reply.text
    assert "von 02:00 auf 03:00" in reply.text

    series = next(m for m in await meetings_of(app, world.mitte) if not m.one_off)
    local = series.starts_at.astimezone(ZONE)
    [reply] = await driver.send(world.hanna, f"{local:%d.%m.%Y %H:%M}")
    assert reply.text == "Die Gruppe trifft sich zu dieser Zeit schon."
    assert not any(m.one_off for m in await meetings_of(app, world.mitte))

    [added, screen] = await driver.send(world.hanna, f"{local:%d.%m.%Y} 21:15")
    assert added.text.startswith("Eingetragen: Stammtisch Mitte am ")
    assert "21:15" in screen.text
    # The step is over: further text is no longer read as a time.
    assert len([m for m in await meetings_of(app, world.mitte) if m.one_off]) == 1


async def test_english_typed_time_after_a_picked_day(
    driver: BotDriver, app: Application, world: World
) -> None:
    [groups] = await driver.send(world.otto, "/my_groups")
    tomorrow = utcnow().astimezone(ZONE).date() + timedelta(days=1)
    await driver.press(
        world.otto,
        groups,
        press(HostAction.ADD_DAY, group_id=world.frieden, value=tomorrow.toordinal()),
    )
    [ask] = await driver.press(world.otto, groups, button(groups, "⌨️ Type the time"))
    assert ask.text.startswith("At what time on ")
    [reply] = await driver.send(world.otto, "25:00")
    assert reply.text.endswith("Try again, or /cancel.")
    [added, _screen] = await driver.send(world.otto, "17:45")
    assert added.text.startswith("Added: AG Frieden on ")
    [one_off] = [m for m in await meetings_of(app, world.frieden) if m.one_off]
    assert one_off.starts_at.astimezone(ZONE).date() == tomorrow


async def test_cancel_typing_with_abbrechen(driver: BotDriver, world: World) -> None:
    [groups] = await driver.send(world.hanna, "/meine_gruppen")
    await driver.press(world.hanna, groups, press(HostAction.ADD_TYPED, group_id=world.mitte))
    [done] = await driver.send(world.hanna, "/abbrechen")
    assert done.text.startswith("Abgebrochen.")
    replies = await driver.send(world.hanna, "morgen 21 Uhr")
    assert all(not reply.text.startswith("Eingetragen") for reply in replies)


# --- changing one meeting --------------------------------------------------------------------


async def test_cancel_a_date_asks_first_and_tells_the_yes_and_maybe(
    driver: BotDriver, app: Application, world: World
) -> None:
    meeting = (await meetings_of(app, world.mitte))[0]
    await answer(app, world.max, meeting.id, RsvpAnswer.YES)
    await answer(app, world.lena, meeting.id, RsvpAnswer.NO)
    screen = await open_meeting(driver, world.hanna, meeting.id)
    await driver.press(world.hanna, screen, button(screen, "❌ Termin absagen"))
    assert screen.text.startswith("Stammtisch Mitte am ")
    assert screen.text.endswith("absagen? 1 Person mit Zusage oder Vielleicht erfährt es.")
    assert (await meetings_of(app, world.mitte))[0].status == MeetingStatus.SCHEDULED

    await driver.press(world.hanna, screen, button(screen, "Ja, absagen"))
    assert driver.last_answer()["text"].startswith("Abgesagt: ")
    cancelled = (await meetings_of(app, world.mitte))[0]
    assert cancelled.status == MeetingStatus.CANCELLED
    assert cancelled.cancel_reason == CancelReason.CANCELLED
    assert await changes_queued(app, meeting.id) == [
        (
            world.max.id,
            {
                "meeting_id": meeting.id,
                "change": "cancelled",
                "to": int(meeting.starts_at.timestamp()),
            },
        )
    ]
    assert "abgesagt" in screen.text
    # Pressed again (a second tap): refused, nobody told twice.
    await driver.press(world.hanna, screen, press(HostAction.CANCEL_OK, meeting_id=meeting.id))
    assert driver.last_answer()["text"] == "Dieses Treffen wurde abgesagt."
    assert len(await changes_queued(app, meeting.id)) == 1


async def test_move_a_date(driver: BotDriver, app: Application, world: World) -> None:
    meeting = (await meetings_of(app, world.mitte))[0]
    await answer(app, world.lena, meeting.id, RsvpAnswer.MAYBE)
    screen = await open_meeting(driver, world.hanna, meeting.id)
    [ask] = await driver.press(world.hanna, screen, button(screen, "🕒 Verschieben"))
    assert ask.text.startswith("Wann findet der Termin am ")
    [reply] = await driver.send(world.hanna, "1.1.2020 19:00")
    assert "liegt in der Vergangenheit" in reply.text
    new_day = meeting.starts_at.astimezone(ZONE).date() + timedelta(days=1)
    [moved, _screen] = await driver.send(world.hanna, f"{new_day:%d.%m.%Y} 18:30")
    assert moved.text.startswith("Verschoben auf ")
    assert moved.text.endswith("1 Person mit Zusage oder Vielleicht erfährt es.")
    [row] = [m for m in await meetings_of(app, world.mitte) if m.id == meeting.id]
    local = row.starts_at.astimezone(ZONE)
    assert (local.date(), local.hour, local.minute) == (new_day, 18, 30)
    [(recipient, payload)] = await changes_queued(app, meeting.id)
    assert recipient == world.lena.id
    assert payload["change"] == "moved"


async def test_capacity_and_note(driver: BotDriver, app: Application, world: World) -> None:
    meeting = (await meetings_of(app, world.mitte))[0]
    screen = await open_meeting(driver, world.hanna, meeting.id)
    [ask] = await driver.press(world.hanna, screen, button(screen, "👥 Plätze"))
    assert ask.text.startswith("Wie viele Plätze gibt es am ")
    [reply] = await driver.send(world.hanna, "viele")
    assert reply.text == "Schicke eine Zahl von 1 bis 1000 oder „keine“ für unbegrenzt."
    [reply] = await driver.send(world.hanna, "5000")
    assert reply.text == "Schicke eine Zahl von 1 bis 1000 oder „keine“ für unbegrenzt."
    [reply, view] = await driver.send(world.hanna, "12")
    assert reply.text == "Eingestellt: 12 Plätze."
    assert "👥 Plätze: 12" in view.text
    assert "12 Plätze frei" in view.text

    await driver.press(world.hanna, view, button(view, "📝 Notiz"))
    [reply] = await driver.send(world.hanna, "x" * 501)
    assert reply.text.startswith("Das ist 1 Zeichen zu viel; eine Notiz hat höchstens 500.")
    [reply, view] = await driver.send(world.hanna, "Bring <Freunde> & Ideen mit")
    assert reply.text == "Notiz gespeichert."
    assert "📝 Bring <Freunde> & Ideen mit" in view.text
    assert "&lt;Freunde&gt; &amp; Ideen" in (view.html or "")

    await driver.press(world.hanna, view, button(view, "👥 Plätze"))
    [reply, view] = await driver.send(world.hanna, "keine")
    assert reply.text == "Die Plätze sind jetzt unbegrenzt."
    await driver.press(world.hanna, view, button(view, "📝 Notiz"))
    [reply, view] = await driver.send(world.hanna, "-")
    assert reply.text == "Notiz entfernt."
    [row] = [m for m in await meetings_of(app, world.mitte) if m.id == meeting.id]
    assert (row.capacity, row.note) == (None, None)


async def test_more_places_let_the_waiting_list_in(
    driver: BotDriver, app: Application, world: World
) -> None:
    meeting = (await meetings_of(app, world.mitte))[0]
    async with app.session_pool() as session:
        await schedule.set_capacity(session, meeting.id, 1, now=utcnow())
        await session.commit()
    await answer(app, world.max, meeting.id, RsvpAnswer.YES)
    await answer(app, world.lena, meeting.id, RsvpAnswer.YES)
    screen = await open_meeting(driver, world.hanna, meeting.id)
    assert "⏳ Warteliste: Lena 🆕" in screen.text
    await driver.press(world.hanna, screen, button(screen, "👥 Plätze"))
    [reply, view] = await driver.send(world.hanna, "2")
    assert reply.text == (
        "Eingestellt: 2 Plätze. 1 Person ist von der Warteliste nachgerückt und erfährt es."
    )
    assert "✅ Kommen: Max 🆕, Lena 🆕" in view.text


# --- the series ------------------------------------------------------------------------------


async def test_pause_the_series(driver: BotDriver, app: Application, world: World) -> None:
    today = utcnow().astimezone(ZONE).date()
    first, second, *rest = list(await meetings_of(app, world.mitte))
    await answer(app, world.max, first.id, RsvpAnswer.YES)
    end = second.starts_at.astimezone(ZONE).date()
    [groups] = await driver.send(world.hanna, "/meine_gruppen")
    await driver.press(world.hanna, groups, press(HostAction.GROUP, group_id=world.mitte))
    [ask] = await driver.press(world.hanna, groups, button(groups, "⏸ Reihe pausieren"))
    assert ask.text.startswith("Von wann bis wann pausiert Stammtisch Mitte?")
    [reply] = await driver.send(world.hanna, "31.8.-1.7.2020")
    assert reply.text.endswith("Versuche es noch einmal oder /abbrechen.")
    [label] = await driver.send(world.hanna, f"{today:%d.%m.}-{end:%d.%m.%Y}")
    assert label.text.startswith("Eine Pause vom ")
    [done, screen] = await driver.send(world.hanna, "Sommerpause")
    assert done.text.endswith(
        "2 Termine sind abgesagt; wer zu- oder vielleicht zugesagt hat, erfährt es."
    )
    assert "⏸ Pause: Sommerpause: " in screen.text
    meetings = {m.id: m for m in await meetings_of(app, world.mitte)}
    assert meetings[first.id].cancel_reason == CancelReason.PAUSE
    assert meetings[second.id].cancel_reason == CancelReason.PAUSE
    assert all(meetings[m.id].status == MeetingStatus.SCHEDULED for m in rest)
    assert [r for r, _ in await changes_queued(app, first.id)] == [world.max.id]
    async with app.session_pool() as session:
        [pause] = list(await session.scalars(select(GroupPause)))
    assert (pause.label, pause.starts_on, pause.ends_on) == ("Sommerpause", today, end)


async def test_pause_without_a_name_in_english(
    driver: BotDriver, app: Application, world: World
) -> None:
    [groups] = await driver.send(world.otto, "/my_groups")
    await driver.press(world.otto, groups, press(HostAction.PAUSE, group_id=world.frieden))
    today = utcnow().astimezone(ZONE).date()
    [label] = await driver.send(world.otto, f"{today + timedelta(days=1):%d.%m.%Y}")
    assert label.text.startswith("A break from ")
    [done, _screen] = await driver.press(world.otto, label, button(label, "No name"))
    assert done.text.startswith("The series pauses from ")
    async with app.session_pool() as session:
        [pause] = list(await session.scalars(select(GroupPause)))
    assert pause.label is None


async def test_end_the_series(driver: BotDriver, app: Application, world: World) -> None:
    meetings = await meetings_of(app, world.mitte)
    await answer(app, world.lena, meetings[2].id, RsvpAnswer.MAYBE)
    [groups] = await driver.send(world.hanna, "/meine_gruppen")
    await driver.press(world.hanna, groups, press(HostAction.END, group_id=world.mitte))
    assert groups.text.startswith("Die Terminreihe von Stammtisch Mitte beenden?")
    assert all(m.status == MeetingStatus.SCHEDULED for m in await meetings_of(app, world.mitte))
    await driver.press(world.hanna, groups, button(groups, "Ja, beenden"))
    assert groups.text.startswith(f"Die Terminreihe ist beendet. {len(meetings)} Termine sind")
    after = await meetings_of(app, world.mitte)
    assert all(m.cancel_reason == CancelReason.SERIES_ENDED for m in after)
    assert [r for r, _ in await changes_queued(app, meetings[2].id)] == [world.lena.id]
    async with app.session_pool() as session:
        group = await session.get(Group, world.mitte)
        assert group is not None
        assert group.series_ends_on == utcnow().astimezone(ZONE).date()
    assert "⏸ Reihe pausieren" not in [text for text, _ in groups.buttons]
    await driver.press(world.hanna, groups, press(HostAction.END_OK, group_id=world.mitte))
    assert driver.last_answer()["text"] == "Diese Gruppe hat keine Terminreihe (mehr)."


# --- notices ---------------------------------------------------------------------------------


async def test_notice_preference(driver: BotDriver, app: Application, world: World) -> None:
    [groups] = await driver.send(world.hanna, "/meine_gruppen")
    await driver.press(world.hanna, groups, button(groups, "🔔"))
    assert groups.text.startswith("Wie soll ich dir von Zu- und Absagen")
    assert [text for text, _ in groups.buttons][:3] == [
        "Jede Antwort sofort",
        "✓ Einmal am Tag zusammengefasst",
        "Nur die Liste am Vortag",
    ]
    await driver.press(world.hanna, groups, button(groups, "Jede Antwort"))
    assert driver.last_answer()["text"] == "Gespeichert."
    assert "✓ Jede Antwort sofort" in [text for text, _ in groups.buttons]
    async with app.session_pool() as session:
        preference = await session.get(HostPreference, world.hanna.id)
        assert preference is not None
        assert preference.notice == HostNotice.EACH

    [groups] = await driver.send(world.otto, "/my_groups")
    await driver.press(world.otto, groups, press(HostAction.NOTICE_SET, value=2))
    assert "✓ Only the list the day before" in [text for text, _ in groups.buttons]
    # A member who hosts nothing can't store one.
    await driver.press(world.max, groups, press(HostAction.NOTICE_SET, value=0))
    async with app.session_pool() as session:
        assert await session.get(HostPreference, world.max.id) is None


# --- writing to everyone coming --------------------------------------------------------------


async def test_write_to_everyone_coming(
    driver: BotDriver, app: Application, world: World, fake_api: FakeBotAPI
) -> None:
    meeting = (await meetings_of(app, world.mitte))[0]
    screen = await open_meeting(driver, world.hanna, meeting.id)
    await driver.press(world.hanna, screen, button(screen, "✉️"))
    assert driver.last_answer()["text"].startswith("Noch hat niemand zu- oder vielleicht")

    await answer(app, world.max, meeting.id, RsvpAnswer.YES)
    await answer(app, world.lena, meeting.id, RsvpAnswer.NO)
    [ask] = await driver.press(world.hanna, screen, button(screen, "✉️"))
    assert ask.text.startswith("Schicke mir die Nachricht für die 1 Person")
    [first] = await driver.send(world.hanna, "Wir sitzen heute im Garten!")
    # She writes it anew: the first confirmation's "Send" must not send the second message.
    [_ask] = await driver.press(world.hanna, screen, button(screen, "✉️"))
    [confirm] = await driver.send(world.hanna, "Wir sitzen heute im Hinterzimmer!")
    assert confirm.text.startswith("Deine Nachricht an 1 Person schicken")
    assert await driver.press(world.hanna, first, button(first, "Senden")) == []
    assert driver.last_answer()["text"] == "Diese Nachricht wurde schon verschickt oder verworfen."
    assert first.buttons == []
    async with app.session_pool() as session:
        assert list(await session.scalars(select(Broadcast))) == []
    # Another group's host can't send it.
    await driver.press(world.otto, confirm, button(confirm, "Senden"))
    async with app.session_pool() as session:
        assert list(await session.scalars(select(Broadcast))) == []
    await driver.press(world.hanna, confirm, button(confirm, "Senden"))
    async with app.session_pool() as session:
        [broadcast] = list(await session.scalars(select(Broadcast)))
        recipients = list(
            await session.scalars(
                select(Delivery.recipient_id).where(Delivery.batch_id == broadcast.id)
            )
        )
    assert broadcast.author_id == world.hanna.id
    assert broadcast.audience["meetings"] == [meeting.id]
    assert recipients == [world.max.id]
    assert broadcast.total == 1
    # In the audit log as the host's broadcast.
    async with app.session_pool() as session:
        entries = list(await session.scalars(select(AuditEntry)))
    assert [(e.actor_id, e.action, e.count, e.subject) for e in entries][-1] == (
        world.hanna.id,
        "broadcast_sent",
        1,
        f"#{broadcast.id}",
    )
    # The send button again: nothing more.
    await driver.press(world.hanna, confirm, press(HostAction.MESSAGE_SEND, meeting_id=meeting.id))
    assert driver.last_answer()["text"] == "Diese Nachricht wurde schon verschickt oder verworfen."
    # The host follows their own broadcast (the report button), not others'.
    await driver.press(world.hanna, confirm, f"bc1:report::{broadcast.id}")
    report = fake_api.sent_to(world.hanna.id)[-1]
    assert f"#{broadcast.id}" in (report.text or "")
    await driver.press(world.otto, confirm, f"bc1:report::{broadcast.id}")
    assert driver.last_answer()["text"] == "Sorry, only organisers can send broadcasts."


# --- handing over ----------------------------------------------------------------------------


async def test_handover_with_an_organisers_confirmation(
    driver: BotDriver, app: Application, world: World, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    [groups] = await driver.send(world.hanna, "/meine_gruppen")
    await driver.press(world.hanna, groups, press(HostAction.GROUP, group_id=world.mitte))
    await driver.press(world.hanna, groups, button(groups, "🤝"))
    assert groups.text.startswith("Wer soll ab jetzt Gastgeber:in von Stammtisch Mitte sein?")
    assert [text for text, _ in groups.buttons][:2] == ["Lena", "Max"]
    [reply] = await driver.send(world.hanna, "@niemand_da")
    assert reply.text.startswith("Ich kenne niemanden mit diesem Namen")

    async with app.session_pool() as session:
        await session.execute(
            update(Member).where(Member.id == world.max.id).values(username="max_m")
        )
        await session.commit()
    [requested] = await driver.send(world.hanna, "@Max_M")
    assert requested.text.startswith("Ich habe die Organisator:innen gebeten, Max (@max_m)")
    [question] = fake_api.sent_to(admin_user.id)[-1:]
    assert question.text.startswith("Übergabe: Hanna (@hanna_host) möchte Stammtisch Mitte an Max")

    # Not an organiser: refused, nothing changes.
    await driver.press(world.hanna, question, button(question, "Bestätigen"))
    assert driver.last_answer()["text"] == "Nur Organisator:innen können eine Übergabe bestätigen."
    async with app.session_pool() as session:
        hosts = list(
            await session.scalars(
                select(GroupHost.telegram_id).where(GroupHost.group_id == world.mitte)
            )
        )
    assert hosts == [world.hanna.id]

    await driver.press(admin_user, question, button(question, "Bestätigen"))
    assert question.text.startswith("Erledigt: Max (@max_m) ist jetzt Gastgeber:in")
    async with app.session_pool() as session:
        hosts = list(
            await session.scalars(
                select(GroupHost.telegram_id).where(GroupHost.group_id == world.mitte)
            )
        )
        max_member = await session.get(Member, world.max.id)
        hanna_member = await session.get(Member, world.hanna.id)
        assert max_member is not None
        assert hanna_member is not None
        assert Role.HOST in max_member.role_set
        assert Role.HOST not in hanna_member.role_set
    assert hosts == [world.max.id]
    assert fake_api.sent_to(world.max.id)[-1].text.startswith(
        "Du bist jetzt Gastgeber:in von Stammtisch Mitte."
    )
    assert fake_api.sent_to(world.hanna.id)[-1].text.startswith(
        "Übergeben: Max (@max_m) ist jetzt Gastgeber:in von Stammtisch Mitte."
    )
    # The new host manages the group now; the old one no longer does.
    [groups] = await driver.send(world.max, "/meine_gruppen")
    assert next(text for text, _ in groups.buttons) == "Stammtisch Mitte"
    [reply] = await driver.send(world.hanna, "/meine_gruppen")
    assert reply.text.startswith("Du bist noch bei keiner Gruppe Gastgeber:in.")
    # Confirmed once only.
    await driver.press(admin_user, question, press(HostAction.HANDOVER_NO, value=1))
    assert driver.last_answer()["text"] == "Über diese Übergabe wurde schon entschieden."


async def test_handover_declined_by_picking_in_english(
    driver: BotDriver, app: Application, world: World, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    async with app.session_pool() as session:
        # Lena joins AG Frieden, Otto's group.
        session.add(GroupMembership(group_id=world.frieden, member_id=world.lena.id))
        await session.commit()
    [groups] = await driver.send(world.otto, "/my_groups")
    await driver.press(world.otto, groups, press(HostAction.HANDOVER, group_id=world.frieden))
    assert groups.text.startswith("Who shall host AG Frieden from now on?")
    [requested] = await driver.press(world.otto, groups, button(groups, "Lena"))
    assert requested.text.startswith("I asked the organisers to make Lena host of AG Frieden.")
    question = fake_api.sent_to(admin_user.id)[-1]
    await driver.press(admin_user, question, button(question, "Ablehnen"))
    assert question.text.startswith("Abgelehnt: Lena übernimmt AG Frieden nicht.")
    assert fake_api.sent_to(world.otto.id)[-1].text == (
        "The organisers declined handing AG Frieden over to Lena."
    )
    async with app.session_pool() as session:
        hosts = list(
            await session.scalars(
                select(GroupHost.telegram_id).where(GroupHost.group_id == world.frieden)
            )
        )
    assert hosts == [world.otto.id]


async def test_opening_who_comes_is_in_the_audit_log(
    driver: BotDriver, app: Application, world: World
) -> None:
    first = (await meetings_of(app, world.mitte))[0]
    await answer(app, world.max, first.id, RsvpAnswer.YES)
    await answer(app, world.lena, first.id, RsvpAnswer.MAYBE)
    await open_meeting(driver, world.hanna, first.id)
    async with app.session_pool() as session:
        entries = list(await session.scalars(select(AuditEntry)))
    assert [(e.actor_id, e.action, e.count, e.subject) for e in entries] == [
        (world.hanna.id, "attendee_list", 2, f"Stammtisch Mitte #{first.id}")
    ]
    # Another group's host sees no list and leaves no entry.
    [groups] = await driver.send(world.otto, "/meine_gruppen")
    await driver.press(world.otto, groups, press(HostAction.MEETING, meeting_id=first.id))
    async with app.session_pool() as session:
        assert len(list(await session.scalars(select(AuditEntry)))) == 1
