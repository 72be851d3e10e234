"""Shift reminders: queued by the job with a fixed clock (no sleeping), once across reruns,
restarts and two instances; after downtime only the latest, or dropped and counted once the shift
started; rendered with the others' first names and the material, withdrawn when no longer true.

The job gets `now=`; the renderer checks "has it started" against the real clock, so the shift
lies several days ahead of the real now.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import Application
from bot.context import JobContext
from bot.db.session import SessionPool
from bot.outbox.renderers import RENDERERS
from bot.outbox.rendering import Rendered
from bot.services import field_actions, shift_reminders, shifts
from bot.services.field_actions import PlannedShift
from bot.services.locales import member_locale
from bot.services.shift_reminders import (
    BEFORE,
    EVENING,
    SHIFT_REMINDER,
    ReminderPlan,
    latest_due,
    moments,
)
from bot.telegram.callbacks import ActionAct, ActionCallback
from bot.telegram.views.shift_reminders import shift_reminder
from jobs.field_actions import extend_horizon, queue_shift_reminders
from models import (
    ActionDate,
    ActionKind,
    ActionStatus,
    Category,
    Delivery,
    DeliveryStatus,
    FieldAction,
    Member,
    OptOut,
    Profile,
    Shift,
)
from models.base import utcnow
from tests.fakebotapi import FakeBotAPI

ZONE = ZoneInfo("Europe/Berlin")
REAL_NOW = utcnow().replace(second=0, microsecond=0)
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
PLAN = ReminderPlan(evening_hour=19, minutes=60)
DAY_OF_SHIFT = REAL_NOW.astimezone(ZONE).date() + timedelta(days=4)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


# --- the moments, without a database ---------------------------------------------------------


def test_the_evening_before_and_an_hour_before_in_local_time_across_dst() -> None:
    # Sunday 2030-03-31 is the first day of summer time in Berlin; the evening before is winter.
    start = _local(date(2030, 3, 31), 10)
    assert moments(start, PLAN, ZONE) == [
        (EVENING, datetime(2030, 3, 30, 18, 0, tzinfo=UTC)),
        (BEFORE, datetime(2030, 3, 31, 7, 0, tzinfo=UTC)),
    ]
    assert moments(start, ReminderPlan(None, 60), ZONE) == [(BEFORE, start - HOUR)]
    assert moments(start, ReminderPlan(19, 0), ZONE) == [
        (EVENING, datetime(2030, 3, 30, 18, 0, tzinfo=UTC))
    ]


def test_no_evening_reminder_for_a_shift_starting_soon_after_that_evening() -> None:
    start = _local(date(2030, 1, 12), 1, 30)  # 01:30, two and a half hours after 23:00
    assert [which for which, _ in moments(start, ReminderPlan(23, 60), ZONE)] == [BEFORE]
    start = _local(date(2030, 1, 12), 2)  # three hours after: still worth it
    assert [which for which, _ in moments(start, ReminderPlan(23, 60), ZONE)] == [EVENING, BEFORE]


def test_only_the_latest_due_moment_and_only_after_signing_up() -> None:
    start = _local(date(2030, 1, 12), 10)
    evening = _local(date(2030, 1, 11), 19)
    early = start - 3 * DAY
    assert latest_due(start, PLAN, ZONE, signed_at=early, now=evening - MINUTE) is None
    assert latest_due(start, PLAN, ZONE, signed_at=early, now=evening) == (EVENING, evening)
    assert latest_due(start, PLAN, ZONE, signed_at=early, now=start - MINUTE) == (
        BEFORE,
        start - HOUR,
    )
    # Signed up at 21:00 the evening before: no evening reminder of it.
    late = evening + 2 * HOUR
    assert latest_due(start, PLAN, ZONE, signed_at=late, now=late + HOUR) is None
    assert latest_due(start, PLAN, ZONE, signed_at=late, now=start - HOUR) == (
        BEFORE,
        start - HOUR,
    )


# --- the job ---------------------------------------------------------------------------------


async def _member(
    pool: SessionPool, member_id: int, name: str | None, *, language: str = "de", **extra: bool
) -> int:
    async with pool() as session:
        member = Member(
            id=member_id, first_name=name, language=language, reachable=extra.get("reachable", True)
        )
        member.profile = Profile(member_id=member_id)
        session.add(member)
        await session.commit()
    return member_id


async def _shift(
    pool: SessionPool, *, day: date = DAY_OF_SHIFT, hour: int = 10, needed: int = 3
) -> Shift:
    async with pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title="Heiße Getränke <Marktplatz>",
            place="Marktplatz & Brunnen",
            shifts=(PlannedShift(time(hour, 0), time(hour + 2, 0), needed, "Aufbau"),),
            on_day=day,
            now=REAL_NOW,
            zone=ZONE,
            material="Thermoskannen, Flyer",
        )
        await session.commit()
        [row] = await field_actions.upcoming_dates(
            session, now=REAL_NOW, until=REAL_NOW + 30 * DAY, action_ids=[action.id]
        )
        return row.shifts[0]


async def _sign_up(pool: SessionPool, shift: Shift, member_id: int) -> None:
    async with pool() as session:
        await shifts.sign_up(session, shift.id, member_id, now=REAL_NOW)
        await session.commit()


def _ctx(app: Application) -> JobContext:
    """A job context of its own: a second one is what a restart or a second instance has."""
    return JobContext(app.session_pool, app.bot, app.i18n, app.settings)


async def _remind(app: Application, at: datetime) -> shift_reminders.Queued:
    return await queue_shift_reminders(_ctx(app), now=at)


async def _rows(app: Application) -> list[Delivery]:
    async with app.session_pool() as session:
        return list(
            await session.scalars(
                select(Delivery).where(Delivery.kind == SHIFT_REMINDER).order_by(Delivery.id)
            )
        )


async def _render(app: Application, row: Delivery) -> Rendered:
    async with app.session_pool() as session:
        member = await session.get(Member, row.recipient_id)
        locale = member_locale(member, available=app.i18n.available_locales, default="de")
        with app.i18n.context(), app.i18n.use_locale(locale):
            return await RENDERERS[row.kind](session, row, member)


async def test_each_reminder_is_queued_once_across_reruns_and_restarts(app: Application) -> None:
    pool = app.session_pool
    shift = await _shift(pool, needed=4)
    start = shift.starts_at
    evening = _local(DAY_OF_SHIFT - timedelta(days=1), 19)
    for member_id, name in ((1, "Anna"), (2, "Ben"), (3, "Cem"), (4, "Dora")):
        await _member(pool, member_id, name, reachable=member_id != 4)
        await _sign_up(pool, shift, member_id)
    async with pool() as session:
        session.add(OptOut(member_id=3, category=Category.REMINDERS))
        await session.commit()

    assert await _remind(app, evening - MINUTE) == shift_reminders.Queued(0, 0)
    assert await _remind(app, evening) == shift_reminders.Queued(2, 0)
    # The same minute again, a minute later, and a "restarted" job: nothing new.
    assert await _remind(app, evening) == shift_reminders.Queued(0, 0)
    assert await _remind(app, evening + MINUTE) == shift_reminders.Queued(0, 0)
    assert await _remind(app, start - HOUR - MINUTE) == shift_reminders.Queued(0, 0)
    assert await _remind(app, start - HOUR) == shift_reminders.Queued(2, 0)
    assert await _remind(app, start - 30 * MINUTE) == shift_reminders.Queued(0, 0)
    assert await _remind(app, start + MINUTE) == shift_reminders.Queued(0, 0)
    rows = await _rows(app)
    stamp = int(start.timestamp())
    assert sorted(row.dedupe_key or "" for row in rows) == sorted(
        f"srem:{shift.id}:{stamp}:{which}:{member}"
        for which in (EVENING, BEFORE)
        for member in (1, 2)
    )
    assert all(row.category == Category.REMINDERS.value for row in rows)
    assert {row.due_at for row in rows} == {evening, start - HOUR}


async def test_two_instances_racing_queue_each_reminder_once(app: Application) -> None:
    """Meaningful on PostgreSQL; SQLite runs one writer at a time, so there it checks the same
    rule without a real race."""
    pool = app.session_pool
    shift = await _shift(pool, needed=30)
    for member_id in range(10, 40):
        await _member(pool, member_id, f"P{member_id}")
        await _sign_up(pool, shift, member_id)
    for at in (_local(DAY_OF_SHIFT - timedelta(days=1), 19), shift.starts_at - HOUR):
        results = await asyncio.gather(
            *(queue_shift_reminders(_ctx(app), now=at) for _instance in range(3))
        )
        assert sum(result.queued for result in results) == 30
    rows = await _rows(app)
    assert len(rows) == 60
    assert len({row.dedupe_key for row in rows}) == 60


async def test_after_downtime_only_the_latest_due_reminder_goes_out_late(
    app: Application,
) -> None:
    pool = app.session_pool
    shift = await _shift(pool)
    await _member(pool, 1, "Anna")
    await _sign_up(pool, shift, 1)
    # Down from before the evening until half an hour before the start.
    assert await _remind(app, shift.starts_at - 30 * MINUTE) == shift_reminders.Queued(1, 0)
    [row] = await _rows(app)
    assert row.payload["which"] == BEFORE
    assert row.due_at == shift.starts_at - HOUR


async def test_after_downtime_past_the_start_reminders_are_dropped_and_counted(
    app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    pool = app.session_pool
    shift = await _shift(pool)
    for member_id in (1, 2):
        await _member(pool, member_id, "X")
        await _sign_up(pool, shift, member_id)
    with caplog.at_level(logging.INFO, logger="jobs.field_actions"):
        assert await _remind(app, shift.starts_at + 10 * MINUTE) == shift_reminders.Queued(0, 2)
        assert await _remind(app, shift.starts_at + 11 * MINUTE) == shift_reminders.Queued(0, 0)
    [line] = [r.getMessage() for r in caplog.records if r.name == "jobs.field_actions"]
    assert line == "shift reminders: 0 queued, 2 dropped (the shift started during downtime)"
    rows = await _rows(app)
    assert {row.status for row in rows} == {DeliveryStatus.CANCELLED}
    assert {row.payload["which"] for row in rows} == {BEFORE}


async def test_the_reminder_names_the_others_and_the_material_in_each_language(
    app: Application, fake_api: FakeBotAPI
) -> None:
    pool = app.session_pool
    shift = await _shift(pool, needed=4)
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await _member(pool, anna.id, "Anna")
    await _member(pool, ben.id, "Ben <3", language="en")
    await _member(pool, 5, None)  # a member whose first name the bot doesn't keep
    for member_id in (anna.id, ben.id, 5):
        await _sign_up(pool, shift, member_id)
    at = shift.starts_at - HOUR
    assert await _remind(app, at) == shift_reminders.Queued(3, 0)
    assert await app.worker.run_once(now=at) == 3
    [for_anna] = fake_api.sent_to(anna.id)
    assert for_anna.text is not None
    assert for_anna.text.startswith("⏰ Erinnerung: Deine Schicht beginnt in ")
    assert "Heiße Getränke <Marktplatz> (Infostand)" in for_anna.text
    assert "Marktplatz & Brunnen" in for_anna.text
    assert "Aufbau" in for_anna.text
    assert "Material: Thermoskannen, Flyer" in for_anna.text
    assert "Außer dir sind 2 Personen in der Schicht: ein Mitglied und Ben <3" in for_anna.text
    assert "Es fehlt noch 1 Person." in for_anna.text
    buttons = [button for row in for_anna.reply_markup["inline_keyboard"] for button in row]
    assert [button["callback_data"] for button in buttons] == [
        ActionCallback(act=ActionAct.DATE, date_id=shift.action_date_id).pack(),
        ActionCallback(act=ActionAct.CANCEL, shift_id=shift.id).pack(),
    ]
    [for_ben] = fake_api.sent_to(ben.id)
    assert for_ben.text is not None
    assert for_ben.text.startswith("⏰ Reminder: your shift starts in ")
    assert "2 other people are on this shift: a member and Anna" in for_ben.text
    assert "1 more person is needed." in for_ben.text


async def test_the_evening_reminder_says_tomorrow_and_a_lone_member_hears_so(
    app: Application,
) -> None:
    pool = app.session_pool
    shift = await _shift(pool, needed=1)
    await _member(pool, 1, "Anna", language="en")
    await _sign_up(pool, shift, 1)
    evening = _local(DAY_OF_SHIFT - timedelta(days=1), 19)
    result = await _remind(app, evening)
    assert result.queued == 1
    [row] = await _rows(app)
    assert isinstance(await _render(app, row), tuple)

    async def text_at(now: datetime) -> str:
        async with pool() as session:
            member = await session.get(Member, 1)
            reminder = await shift_reminders.still_due(session, row.payload, member, now=REAL_NOW)
            assert reminder is not None
            with app.i18n.context(), app.i18n.use_locale("en"):
                return shift_reminder(reminder, ZONE, now=now)[0]

    text = await text_at(evening)
    assert text.startswith("⏰ <b>Reminder:</b> your shift is tomorrow.")
    assert "So far you are the only one on this shift." in text
    assert "more person" not in text
    # Sent late after downtime, on the morning of the shift: how soon, not "tomorrow".
    late = await text_at(shift.starts_at - 2 * HOUR)
    assert late.startswith("⏰ <b>Reminder:</b> your shift starts in 2 hours.")


async def test_reminders_are_withdrawn_when_the_member_left_the_date_was_called_off_or_it_moved(
    app: Application,
) -> None:
    pool = app.session_pool
    first = await _shift(pool, hour=8)
    second = await _shift(pool, day=DAY_OF_SHIFT + timedelta(days=1))
    third = await _shift(pool, day=DAY_OF_SHIFT + timedelta(days=2))
    await _member(pool, 1, "Anna")
    for shift in (first, second, third):
        await _sign_up(pool, shift, 1)
    for shift in (first, second, third):
        assert await _remind(app, shift.starts_at - HOUR) == shift_reminders.Queued(1, 0)
    by_shift = {row.payload["shift_id"]: row for row in await _rows(app)}
    for row in by_shift.values():
        assert isinstance(await _render(app, row), tuple)
    # Anna leaves the first shift; the second's date is called off; the third moves.
    async with pool() as session:
        await shifts.cancel(session, first.id, 1, now=REAL_NOW)
        await field_actions.cancel_date(session, second.action_date_id, now=REAL_NOW)
        await session.execute(
            update(Shift).where(Shift.id == third.id).values(starts_at=third.starts_at + HOUR)
        )
        await session.commit()
    for row in by_shift.values():
        assert await _render(app, row) is None
    # And one that is still true is withdrawn once the shift has started.
    async with pool() as session:
        await session.execute(
            update(Shift).where(Shift.id == third.id).values(starts_at=third.starts_at)
        )
        await session.commit()
        row = by_shift[third.id]
        member = await session.get(Member, 1)
        assert await shift_reminders.still_due(session, row.payload, member, now=REAL_NOW)
        late = third.starts_at + MINUTE
        assert await shift_reminders.still_due(session, row.payload, member, now=late) is None


async def test_the_horizon_job_tells_the_people_of_a_date_the_plan_no_longer_gives(
    app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    pool = app.session_pool
    shift = await _shift(pool)
    await _member(pool, 1, "Anna")
    await _sign_up(pool, shift, 1)
    async with pool() as session:
        date_row = await session.get(ActionDate, shift.action_date_id)
        assert date_row is not None
        # The action is re-planned for another day: the old date has Anna on it.
        await session.execute(
            update(FieldAction)
            .where(FieldAction.id == date_row.action_id)
            .values(on_day=DAY_OF_SHIFT + timedelta(days=7))
        )
        await session.commit()
    with caplog.at_level(logging.INFO, logger="jobs.field_actions"):
        result = await extend_horizon(_ctx(app), now=REAL_NOW)
        again = await extend_horizon(_ctx(app), now=REAL_NOW)
    assert result.cancelled == (shift.action_date_id,)
    assert (result.added, again.added, again.cancelled) == (1, 0, ())
    async with pool() as session:
        row = await session.get(ActionDate, shift.action_date_id)
        assert row is not None
        assert row.status == ActionStatus.CANCELLED
        notices = list(
            await session.scalars(select(Delivery).where(Delivery.kind == "action_cancelled"))
        )
    assert [(n.recipient_id, n.payload) for n in notices] == [(1, {"date_id": row.id})]
    assert caplog.records[0].getMessage() == (
        "action horizon: 1 dates added, 1 withdrawn (1 called off, 1 people told)"
    )
