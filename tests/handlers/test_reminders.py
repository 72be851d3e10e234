"""Meeting reminders and hosts' notices: queued by the jobs with a fixed clock (no sleeping), once
across reruns, restarts and two instances; sent by the outbox in the member's language.

The jobs get `now=`; the renderers check "has it started" against the real clock, so meetings
lie a few days ahead of the real now.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import Application
from bot.context import JobContext
from bot.outbox.renderers import RENDERERS
from bot.outbox.rendering import Rendered
from bot.services import host_notices, reminders, rsvp, schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.services.locales import member_locale
from bot.services.meeting_notices import MEETING_REMINDER
from bot.services.preferences import set_opted_out
from models import (
    Attendance,
    AuditEntry,
    Category,
    Delivery,
    DeliveryStatus,
    Group,
    HostNotice,
    HostPreference,
    Member,
    Profile,
    RsvpAnswer,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser
from tests.members import signed_up

ZONE = ZoneInfo("Europe/Berlin")
# Real time, whole minutes: the jobs run at fixed moments around meetings three days ahead.
NOW = utcnow().replace(second=0, microsecond=0)
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


@dataclass
class People:
    anna: FakeUser  # German
    ben: FakeUser  # English
    hana: FakeUser  # the host


@pytest.fixture
async def people(app: Application, fake_api: FakeBotAPI) -> People:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    hana = fake_api.add_user(first_name="Hana", language_code="de")
    setup = f"""
name: KV Testhausen
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    meets: ~
    place: Café Rosa
    hosts: ['{hana.id}']
"""
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(setup))
        await session.commit()
    for user in (anna, ben, hana):
        await signed_up(app.session_pool, user)
    async with app.session_pool() as session:
        await session.execute(update(Member).where(Member.id == ben.id).values(language="en"))
        await session.commit()
    return People(anna, ben, hana)


def _ctx(app: Application) -> JobContext:
    """A job context of its own: a second one is what a restart or a second instance has."""
    return JobContext(app.session_pool, app.bot, app.i18n, app.settings)


async def _meeting(app: Application, starts_at: datetime, *, capacity: int | None = None) -> int:
    async with app.session_pool() as session:
        group_id = await session.scalar(select(Group.id))
        assert group_id is not None
        meeting = await schedule.add_one_off(
            session, group_id=group_id, starts_at=starts_at, now=NOW, capacity=capacity
        )
        await session.commit()
        return meeting.id


async def _answer(
    app: Application,
    meeting_id: int,
    user: FakeUser,
    answer: RsvpAnswer = RsvpAnswer.YES,
    *,
    at: datetime = NOW,
    guests: int | None = None,
) -> None:
    async with app.session_pool() as session:
        await rsvp.answer(
            session,
            meeting_id=meeting_id,
            member_id=user.id,
            consented=True,
            answer=answer,
            guests=guests,
            now=at,
        )
        await session.commit()


async def _rows(app: Application, kind: str = MEETING_REMINDER) -> list[Delivery]:
    async with app.session_pool() as session:
        return list(
            await session.scalars(
                select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)
            )
        )


async def _render(app: Application, row: Delivery) -> Rendered:
    """What the outbox would send for `row` now, in its recipient's language (several messages
    to one chat this way, without the outbox's one-per-second pacing)."""
    async with app.session_pool() as session:
        member = await session.get(Member, row.recipient_id)
        locale = member_locale(member, available=app.i18n.available_locales, default="de")
        with app.i18n.context(), app.i18n.use_locale(locale):
            return await RENDERERS[row.kind](session, row, member)


async def _text(app: Application, row: Delivery) -> str:
    rendered = await _render(app, row)
    assert isinstance(rendered, tuple)
    return rendered[0]


async def _audit(app: Application) -> list[tuple[int | None, str, int, str | None]]:
    async with app.session_pool() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(row.actor_id, row.action, row.count, row.subject) for row in rows]


async def _remind(app: Application, at: datetime) -> reminders.Queued:
    from jobs.meetings import queue_reminders

    return await queue_reminders(_ctx(app), now=at)


# --- reminders -------------------------------------------------------------------------------


async def test_each_due_offset_is_queued_once_across_reruns_and_restarts(
    app: Application, people: People
) -> None:
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    await _answer(app, meeting, people.anna)
    await _answer(app, meeting, people.ben, RsvpAnswer.MAYBE)
    await _answer(app, meeting, people.hana, RsvpAnswer.NO)

    assert await _remind(app, NOW) == reminders.Queued(0, 0)
    assert await _remind(app, start - DAY - MINUTE) == reminders.Queued(0, 0)
    assert await _remind(app, start - DAY) == reminders.Queued(2, 0)
    # The same minute again, a minute later, and a "restarted" job: nothing new.
    assert await _remind(app, start - DAY) == reminders.Queued(0, 0)
    assert await _remind(app, start - DAY + MINUTE) == reminders.Queued(0, 0)
    assert await _remind(app, start - 3 * HOUR) == reminders.Queued(0, 0)
    assert await _remind(app, start - 2 * HOUR) == reminders.Queued(2, 0)
    assert await _remind(app, start - HOUR) == reminders.Queued(0, 0)
    rows = await _rows(app)
    stamp = int(start.timestamp())
    assert sorted(row.dedupe_key or "" for row in rows) == sorted(
        f"rem:{meeting}:{stamp}:{offset}:{user.id}"
        for offset in (1440, 120)
        for user in (people.anna, people.ben)
    )
    assert {row.recipient_id for row in rows} == {people.anna.id, people.ben.id}
    assert all(row.category == Category.REMINDERS.value for row in rows)
    assert {row.due_at for row in rows} == {start - DAY, start - 2 * HOUR}


async def test_the_reminder_carries_the_card_and_its_buttons_in_the_members_language(
    app: Application, fake_api: FakeBotAPI, people: People, driver: BotDriver
) -> None:
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start, capacity=1)
    await _answer(app, meeting, people.anna)
    await _answer(app, meeting, people.ben, at=NOW + MINUTE)  # waits: the place is Anna's
    assert await _remind(app, start - DAY) == reminders.Queued(2, 0)
    assert await app.worker.run_once(now=start - DAY) == 2
    [anna_sees] = fake_api.sent_to(people.anna.id)
    assert anna_sees.text is not None
    assert anna_sees.text.startswith("⏰ Erinnerung: Dieser Termin beginnt in ")
    assert "Stammtisch Mitte" in anna_sees.text
    assert "Café Rosa" in anna_sees.text
    assert "Du kommst." in anna_sees.text
    labels = [label for label, _data in anna_sees.buttons]
    assert labels[:3] == ["• ✅ Ja •", "🤔 Vielleicht", "❌ Nein"]
    [ben_sees] = fake_api.sent_to(people.ben.id)
    assert ben_sees.text is not None
    assert ben_sees.text.startswith("⏰ Reminder: this meeting starts in ")
    assert "You are on the waiting list" in ben_sees.text
    assert "Tap “No” so someone else can have your place." in ben_sees.text

    # Anna's "no" under her reminder frees the place: Ben moves up and is told.
    no = dict(anna_sees.buttons)["❌ Nein"]
    await driver.press(people.anna, anna_sees, no)
    async with app.session_pool() as session:
        row = await session.get(Attendance, (meeting, people.ben.id))
        assert row is not None
        assert row.waitlisted is False


async def test_after_downtime_only_the_latest_due_reminder_goes_out_late(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    await _answer(app, meeting, people.anna)
    # The bot was down from before the 24-hour point until an hour before the start.
    assert await _remind(app, start - HOUR) == reminders.Queued(1, 0)
    [row] = await _rows(app)
    assert row.payload["offset"] == 120
    assert row.due_at == start - 2 * HOUR
    assert await _remind(app, start - HOUR + MINUTE) == reminders.Queued(0, 0)
    assert await app.worker.run_once(now=start - HOUR) == 1
    assert len(fake_api.sent_to(people.anna.id)) == 1


async def test_after_downtime_past_the_start_reminders_are_dropped_and_counted(
    app: Application, fake_api: FakeBotAPI, people: People, caplog: pytest.LogCaptureFixture
) -> None:
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    await _answer(app, meeting, people.anna)
    await _answer(app, meeting, people.ben)
    with caplog.at_level(logging.INFO, logger="jobs.meetings"):
        assert await _remind(app, start + 30 * MINUTE) == reminders.Queued(0, 2)
        # Counted once: a rerun or a second instance finds them recorded.
        assert await _remind(app, start + 31 * MINUTE) == reminders.Queued(0, 0)
    [line] = [r.getMessage() for r in caplog.records if r.name == "jobs.meetings"]
    assert line == "meeting reminders: 0 queued, 2 dropped (the meeting started during downtime)"
    assert str(people.anna.id) not in line
    rows = await _rows(app)
    assert {row.status for row in rows} == {DeliveryStatus.CANCELLED}
    assert {row.payload["offset"] for row in rows} == {120}
    assert await app.worker.run_once(now=start + HOUR) == 0
    assert fake_api.sent_to(people.anna.id) == []


async def test_a_reminder_queued_before_the_start_but_sent_after_it_is_withdrawn(
    app: Application, people: People
) -> None:
    async with app.session_pool() as session:
        payload = {"meeting_id": 1, "start": 0, "offset": 120}
        member = await session.get(Member, people.anna.id)
        assert await reminders.still_due(session, payload, member, now=NOW) is None
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    await _answer(app, meeting, people.anna)
    await _remind(app, start - DAY)
    [row] = await _rows(app)
    async with app.session_pool() as session:
        member = await session.get(Member, people.anna.id)
        assert await reminders.still_due(session, row.payload, member, now=start - DAY)
        assert await reminders.still_due(session, row.payload, member, now=start) is None


async def test_cancelled_dates_get_no_reminders_and_queued_ones_are_withdrawn(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    await _answer(app, meeting, people.anna)
    assert await _remind(app, start - DAY) == reminders.Queued(1, 0)
    async with app.session_pool() as session:
        await schedule.cancel(session, meeting, now=start - DAY)
        await session.commit()
    assert await _remind(app, start - 2 * HOUR) == reminders.Queued(0, 0)
    assert await _remind(app, start + HOUR) == reminders.Queued(0, 0)  # nothing "dropped"
    await app.worker.run_once(now=start - DAY)
    [row] = await _rows(app)
    assert row.status is DeliveryStatus.CANCELLED
    assert row.last_error == "withdrawn"
    assert not any(
        "Erinnerung" in (message.text or "") for message in fake_api.sent_to(people.anna.id)
    )


async def test_a_moved_date_gets_new_reminders_and_the_old_ones_are_withdrawn(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    start = NOW + 3 * DAY
    later = start + DAY + 2 * HOUR
    meeting = await _meeting(app, start)
    await _answer(app, meeting, people.anna)
    assert await _remind(app, start - DAY) == reminders.Queued(1, 0)
    async with app.session_pool() as session:
        await schedule.move(session, meeting, starts_at=later, now=start - DAY + MINUTE)
        await session.commit()
    # The old 2-hour point brings nothing: the meeting no longer starts then.
    assert await _remind(app, start - 2 * HOUR) == reminders.Queued(0, 0)
    assert await _remind(app, later - DAY) == reminders.Queued(1, 0)
    assert await _remind(app, later - 2 * HOUR) == reminders.Queued(1, 0)
    rows = await _rows(app)
    assert [(row.payload["start"], row.payload["offset"]) for row in rows] == [
        (int(start.timestamp()), 1440),
        (int(later.timestamp()), 1440),
        (int(later.timestamp()), 120),
    ]
    old, new_day, new_hours = [await _render(app, row) for row in rows]
    assert old is None
    assert new_day is not None
    assert new_hours is not None


async def test_no_reminders_for_who_opted_out_said_no_or_chose_none(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    for user in (people.anna, people.ben, people.hana):
        await _answer(app, meeting, user)
    async with app.session_pool() as session:
        await set_opted_out(session, people.anna.id, Category.REMINDERS, opted_out=True)
        await session.execute(
            update(Profile).where(Profile.member_id == people.ben.id).values(reminder_offsets=[])
        )
        await session.commit()
    assert await _remind(app, start - DAY) == reminders.Queued(1, 0)
    [row] = await _rows(app)
    assert row.recipient_id == people.hana.id
    # Hana opts out after it was queued: the outbox checks again when sending.
    async with app.session_pool() as session:
        await set_opted_out(session, people.hana.id, Category.REMINDERS, opted_out=True)
        await session.commit()
    await app.worker.run_once(now=start - DAY)
    [row] = await _rows(app)
    assert row.status is DeliveryStatus.CANCELLED
    assert row.last_error == "opted out"
    # An answer changed to "no" after the reminder was queued withdraws it too.
    async with app.session_pool() as session:
        await set_opted_out(session, people.hana.id, Category.REMINDERS, opted_out=False)
        await session.commit()
    assert await _remind(app, start - 2 * HOUR) == reminders.Queued(1, 0)
    await _answer(app, meeting, people.hana, RsvpAnswer.NO, at=start - 2 * HOUR)
    await app.worker.run_once(now=start - 2 * HOUR)
    assert [row.last_error for row in await _rows(app)] == ["opted out", "withdrawn"]
    assert fake_api.sent_to(people.hana.id) == []


async def test_who_answers_after_a_reminder_point_is_not_reminded_of_it_at_once(
    app: Application, people: People
) -> None:
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    await _answer(app, meeting, people.anna, at=start - 5 * HOUR)
    assert await _remind(app, start - 5 * HOUR + MINUTE) == reminders.Queued(0, 0)
    assert await _remind(app, start - 2 * HOUR) == reminders.Queued(1, 0)


async def test_two_instances_racing_queue_each_reminder_once(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    """Meaningful on PostgreSQL (its variant skips without TEST_DATABASE_URL); SQLite runs one
    writer at a time, so there it checks the same rule without a real race."""
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    crowd = [fake_api.add_user(first_name=f"P{n}", language_code="de") for n in range(30)]
    for user in crowd:
        await signed_up(app.session_pool, user)
        await _answer(app, meeting, user)
    from jobs.meetings import queue_reminders

    for at in (start - DAY, start - 2 * HOUR):
        results = await asyncio.gather(
            *(queue_reminders(_ctx(app), now=at) for _instance in range(3))
        )
        assert sum(result.queued for result in results) == len(crowd)
    rows = await _rows(app)
    assert len(rows) == 2 * len(crowd)
    assert len({row.dedupe_key for row in rows}) == len(rows)


# --- hosts -----------------------------------------------------------------------------------


async def _choose(app: Application, host: FakeUser, notice: HostNotice) -> None:
    async with app.session_pool() as session:
        session.add(HostPreference(member_id=host.id, notice=notice))
        await session.commit()


def _evening(day_offset: int) -> datetime:
    """18:00 in Berlin, `day_offset` days after today (local)."""
    day = NOW.astimezone(ZONE).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(18, 0), tzinfo=ZONE)


async def test_a_host_without_a_choice_gets_the_daily_summary(
    app: Application, people: People
) -> None:
    async with app.session_pool() as session:
        assert await host_notices.notice_for(session, people.hana.id) is HostNotice.DAILY
        assert await host_notices.notices_for(session, [people.anna.id, people.hana.id]) == {
            people.anna.id: HostNotice.DAILY,
            people.hana.id: HostNotice.DAILY,
        }
    await _choose(app, people.hana, HostNotice.EACH)
    async with app.session_pool() as session:
        assert await host_notices.notice_for(session, people.hana.id) is HostNotice.EACH


async def test_hosts_who_chose_each_hear_of_every_answer_once(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    from jobs.meetings import queue_host_answers

    await _choose(app, people.hana, HostNotice.EACH)
    start = NOW + 3 * DAY
    meeting = await _meeting(app, start, capacity=3)
    await _answer(app, meeting, people.anna, guests=1)
    await _answer(app, meeting, people.hana)  # her own answer is no news to her
    assert await queue_host_answers(_ctx(app), now=NOW) == 1
    assert await queue_host_answers(_ctx(app), now=NOW) == 0
    await _answer(app, meeting, people.ben, at=NOW + MINUTE)  # full: he waits
    assert await queue_host_answers(_ctx(app), now=NOW + MINUTE) == 1
    await _answer(app, meeting, people.anna, RsvpAnswer.NO, at=NOW + 2 * MINUTE)
    # Ben moved up: the promotion is news too, though his answer's time stayed, and it is not
    # his doing, so it isn't capped. Anna changed her answer within the hour: the hosts hear
    # of it once the hour since they last heard of her is over (notice_caps).
    assert await queue_host_answers(_ctx(app), now=NOW + 2 * MINUTE) == 1
    assert await queue_host_answers(_ctx(app), now=NOW + 3 * MINUTE) == 0
    await _answer(app, meeting, people.anna, RsvpAnswer.YES, at=NOW + 4 * MINUTE)
    await _answer(app, meeting, people.anna, RsvpAnswer.NO, at=NOW + 5 * MINUTE)
    assert await queue_host_answers(_ctx(app), now=NOW + 30 * MINUTE) == 0
    # Her latest answer, once.
    assert await queue_host_answers(_ctx(app), now=NOW + HOUR) == 1
    assert await queue_host_answers(_ctx(app), now=NOW + HOUR + MINUTE) == 0
    rows = await _rows(app, host_notices.HOST_ANSWER)
    assert {row.recipient_id for row in rows} == {people.hana.id}
    texts = [await _text(app, row) for row in rows]
    assert [text.splitlines()[0] for text in texts] == [
        "🔔 Anna kommt, mit 1 Gast.",
        "🔔 Ben steht auf der Warteliste.",
        "🔔 Ben kommt.",
        "🔔 Anna kann nicht kommen.",
    ]
    assert len(texts) == 4
    assert "🌱 Es wäre das erste Mal." in texts[0]
    assert "Stammtisch Mitte" in texts[0]
    async with app.session_pool() as session:
        flags = await session.scalars(select(Attendance.host_notified))
        assert set(flags) == {True}


async def test_english_hosts_read_their_notices_in_english(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    from jobs.meetings import queue_host_answers

    async with app.session_pool() as session:
        await session.execute(
            update(Member).where(Member.id == people.hana.id).values(language="en")
        )
        await session.commit()
    await _choose(app, people.hana, HostNotice.EACH)
    meeting = await _meeting(app, NOW + 3 * DAY)
    await _answer(app, meeting, people.anna, guests=2)
    await _answer(app, meeting, people.ben, RsvpAnswer.MAYBE)
    assert await queue_host_answers(_ctx(app), now=NOW) == 2
    texts = [await _text(app, row) for row in await _rows(app, host_notices.HOST_ANSWER)]
    assert texts[0].splitlines()[:2] == [
        "🔔 Anna is coming, with 2 guests.",
        "🌱 It would be their first time.",
    ]
    assert texts[1].splitlines()[0] == "🔔 Ben said maybe."
    assert "<b>Stammtisch Mitte</b> · " in texts[1]
    assert "✅ 1 (+2 guests) · 🤔 1 · ❌ 0" in texts[1]


async def test_daily_hosts_get_one_summary_an_evening_of_what_changed(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    from jobs.meetings import queue_host_answers, queue_host_evening

    evening = _evening(2)
    meeting = await _meeting(app, evening + 2 * DAY)
    await _answer(app, meeting, people.anna, at=evening - 3 * HOUR, guests=1)
    await _answer(app, meeting, people.ben, RsvpAnswer.MAYBE, at=evening - 2 * HOUR)
    # Answers a host who chose DAILY hears of only in the summary.
    assert await queue_host_answers(_ctx(app), now=evening - HOUR) == 0
    assert await queue_host_evening(_ctx(app), now=evening - MINUTE) == host_notices.Evening(0, 0)
    assert await queue_host_evening(_ctx(app), now=evening + 5 * MINUTE) == host_notices.Evening(
        1, 0
    )
    assert await queue_host_evening(_ctx(app), now=evening + HOUR) == host_notices.Evening(0, 0)
    # Next evening: nothing changed since, so no summary.
    assert await queue_host_evening(_ctx(app), now=evening + DAY) == host_notices.Evening(0, 0)
    await app.worker.run_once(now=evening + HOUR)
    [summary] = fake_api.sent_to(people.hana.id)
    assert summary.text is not None
    lines = summary.text.splitlines()
    assert lines[0] == "Neue Antworten seit gestern Abend"
    assert "✅ Anna (+1) 🌱" in lines
    assert "🤔 Ben 🌱" in lines
    assert lines[-1] == "🌱 zum ersten Mal"
    [row] = await _rows(app, host_notices.HOST_SUMMARY)
    assert row.dedupe_key == f"hsum:{evening.date().isoformat()}:{people.hana.id}"
    # Sent to a host on the KV's behalf: in the audit log once, the bot as the actor.
    assert await _audit(app) == [(None, "host_summary", 2, "Stammtisch Mitte")]


async def test_a_late_evening_run_after_downtime_still_sends_that_evenings_summary(
    app: Application, people: People
) -> None:
    from jobs.meetings import queue_host_evening

    evening = _evening(2)
    meeting = await _meeting(app, evening + 2 * DAY)
    await _answer(app, meeting, people.anna, at=evening - HOUR)
    # Down from 17:00 until 01:00: the first run after midnight sends yesterday evening's.
    assert await queue_host_evening(_ctx(app), now=evening + 7 * HOUR) == host_notices.Evening(1, 0)
    assert await queue_host_evening(_ctx(app), now=evening + DAY) == host_notices.Evening(0, 0)


async def test_day_before_hosts_get_the_list_the_evening_before(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    from jobs.meetings import queue_host_evening

    await _choose(app, people.hana, HostNotice.DAY_BEFORE)
    evening = _evening(2)
    tomorrow = evening + DAY + HOUR  # 19:00 the next day
    later = evening + 3 * DAY
    meeting = await _meeting(app, tomorrow)
    await _meeting(app, later)
    await _answer(app, meeting, people.anna, at=evening - 3 * DAY, guests=2)
    await _answer(app, meeting, people.ben, RsvpAnswer.NO, at=evening - 3 * DAY)
    assert await queue_host_evening(_ctx(app), now=evening - MINUTE) == host_notices.Evening(0, 0)
    # No summary for a host who chose the list, only the list; once.
    assert await queue_host_evening(_ctx(app), now=evening) == host_notices.Evening(0, 1)
    assert await queue_host_evening(_ctx(app), now=evening + HOUR) == host_notices.Evening(0, 0)
    await app.worker.run_once(now=evening)
    [listing] = fake_api.sent_to(people.hana.id)
    assert listing.text is not None
    lines = listing.text.splitlines()
    assert lines[0] == "Morgen: Stammtisch Mitte"
    assert "📍 Café Rosa" in lines
    assert "✅ Anna (+2) 🌱" in lines
    assert not any("Ben" in line for line in lines)  # a "no" is in the counts only
    assert "✅ 1 (+2 Gäste) · 🤔 0 · ❌ 1" in lines
    assert await _audit(app) == [(None, "host_list", 1, f"Stammtisch Mitte #{meeting}")]
    # The evening before the other meeting: its list, saying nobody answered yet.
    assert await queue_host_evening(_ctx(app), now=later - DAY + MINUTE) == host_notices.Evening(
        0, 1
    )


async def test_a_cancelled_meeting_gets_no_list_and_a_queued_one_is_withdrawn(
    app: Application, fake_api: FakeBotAPI, people: People
) -> None:
    from jobs.meetings import queue_host_evening

    await _choose(app, people.hana, HostNotice.DAY_BEFORE)
    evening = _evening(2)
    meeting = await _meeting(app, evening + DAY + HOUR)
    assert await queue_host_evening(_ctx(app), now=evening) == host_notices.Evening(0, 1)
    async with app.session_pool() as session:
        await schedule.cancel(session, meeting, now=evening + MINUTE)
        await session.commit()
    await app.worker.run_once(now=evening + MINUTE)
    [row] = await _rows(app, host_notices.HOST_LIST)
    assert row.status is DeliveryStatus.CANCELLED
    assert fake_api.sent_to(people.hana.id) == []


async def test_a_pruned_reminder_is_not_queued_again(app: Application, people: People) -> None:
    """Pruning removes the rows whose dedupe keys guard against a second send; by then no job
    looks at their occasion any more (bot.services.retention)."""
    from jobs.housekeeping import prune_retention

    start = NOW + 3 * DAY
    meeting = await _meeting(app, start)
    await _answer(app, meeting, people.anna)
    assert await _remind(app, start - DAY) == reminders.Queued(1, 0)
    async with app.session_pool() as session:
        await session.execute(
            update(Delivery).values(status=DeliveryStatus.SENT, sent_at=start - DAY)
        )
        await session.commit()
    later = start + 91 * DAY
    retained = await prune_retention(_ctx(app), now=later)
    assert retained.deliveries == 1
    assert await _rows(app) == []
    for at in (later, later + HOUR, later + DAY):
        assert await _remind(app, at) == reminders.Queued(0, 0)
    assert await _rows(app) == []
