"""Gedenktage: days by rule against a table computed with the calendar module (2020-2045), the
event's local time across DST, the dates' horizon, answers, and reminders queued once with a
fixed clock (reruns, a restart, a second instance), the grace window and opt-outs.

Every test with a database runs on SQLite and (with TEST_DATABASE_URL) on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.db.session import SessionPool
from bot.services import memorials
from bot.services.memorials import MemorialError, Queued
from bot.services.preferences import set_opted_out
from bot.services.recurrence import parse_rule, to_rrule
from models import (
    Category,
    Delivery,
    DeliveryStatus,
    Member,
    MemberRole,
    Memorial,
    MemorialAnswer,
    MemorialDate,
    Profile,
    Role,
    RsvpAnswer,
)

ZONE = ZoneInfo("Europe/Berlin")
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
GRACE = timedelta(hours=24)
# Monday 2030-08-19, noon in Berlin; the 2nd Sunday of September 2030 is the 8th.
NOW = datetime(2030, 8, 19, 10, 0, tzinfo=UTC)
SEPT_DAY = date(2030, 9, 8)


def _memorial(rule: str, *, key: str = "m", event: time | None = None, **extra: object) -> Memorial:
    return Memorial(
        key=key,
        name=extra.pop("name", f"Gedenktag {key}"),
        rule=rule,
        rrule=to_rrule(parse_rule(rule)),
        event_time=event,
        **extra,
    )


# --- the table -------------------------------------------------------------------------------


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 the last) `weekday` of the month, by the calendar module."""
    weeks = calendar.Calendar().monthdatescalendar(year, month)
    days = [d for week in weeks for d in week if d.month == month and d.weekday() == weekday]
    return days[n - 1] if n > 0 else days[n]


YEARS = range(2020, 2046)
TABLE = {
    "27.01.": [date(year, 1, 27) for year in YEARS],
    "8.5.": [date(year, 5, 8) for year in YEARS],
    "2. Sonntag im September": [_nth_weekday(y, 9, calendar.SUNDAY, 2) for y in YEARS],
    "10.11.": [date(year, 11, 10) for year in YEARS],
    "letzter Sonntag im November": [_nth_weekday(y, 11, calendar.SUNDAY, -1) for y in YEARS],
}


@pytest.mark.parametrize("rule", sorted(TABLE))
def test_rule_days_2020_to_2045_match_the_calendar_table(rule: str) -> None:
    days = memorials.memorial_days(
        _memorial(rule), zone=ZONE, first=date(2020, 1, 1), last=date(2045, 12, 31)
    )
    assert days == TABLE[rule]


def test_the_table_itself_is_right_where_known() -> None:
    # Tag der Erinnerung und Mahnung / Totensonntag, looked up by hand.
    assert TABLE["2. Sonntag im September"][:3] == [
        date(2020, 9, 13),
        date(2021, 9, 12),
        date(2022, 9, 11),
    ]
    assert TABLE["letzter Sonntag im November"][4] == date(2024, 11, 24)


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "America/New_York", "Pacific/Auckland"])
def test_rule_days_are_local_dates_in_any_zone(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    days = memorials.memorial_days(
        _memorial("2. Sonntag im September"),
        zone=zone,
        first=date(2020, 1, 1),
        last=date(2045, 12, 31),
    )
    assert days == TABLE["2. Sonntag im September"]


def test_a_window_is_inclusive_at_both_ends() -> None:
    memorial = _memorial("27.01.")
    assert memorials.memorial_days(
        memorial, zone=ZONE, first=date(2031, 1, 27), last=date(2031, 1, 27)
    ) == [date(2031, 1, 27)]
    assert (
        memorials.memorial_days(
            memorial, zone=ZONE, first=date(2031, 1, 28), last=date(2032, 1, 26)
        )
        == []
    )


@pytest.mark.parametrize(
    ("day", "utc"),
    [
        (date(2026, 3, 28), datetime(2026, 3, 28, 17, 0, tzinfo=UTC)),  # CET, the day before
        (date(2026, 3, 29), datetime(2026, 3, 29, 16, 0, tzinfo=UTC)),  # the spring switch
        (date(2026, 10, 24), datetime(2026, 10, 24, 16, 0, tzinfo=UTC)),  # CEST
        (date(2026, 10, 25), datetime(2026, 10, 25, 17, 0, tzinfo=UTC)),  # the autumn switch
    ],
)
def test_the_event_keeps_its_local_time_across_dst(day: date, utc: datetime) -> None:
    memorial = _memorial("27.01.", event=time(18, 0))
    starts_at = memorials.event_start(memorial, day, ZONE)
    assert starts_at == utc
    assert starts_at is not None
    assert starts_at.astimezone(ZONE).time() == time(18, 0)


def test_reminders_go_out_at_ten_local_in_summer_and_winter() -> None:
    assert memorials.reminder_moment(date(2030, 9, 8), 7, ZONE) == datetime(
        2030, 9, 1, 8, 0, tzinfo=UTC
    )
    assert memorials.reminder_moment(date(2030, 1, 27), 1, ZONE) == datetime(
        2030, 1, 26, 9, 0, tzinfo=UTC
    )


# --- the horizon -----------------------------------------------------------------------------


async def _add(pool: SessionPool, *memorial: Memorial) -> list[int]:
    async with pool() as session:
        session.add_all(memorial)
        await session.commit()
        return [m.id for m in memorial]


async def _dates(pool: SessionPool, memorial_id: int | None = None) -> list[MemorialDate]:
    async with pool() as session:
        query = select(MemorialDate).order_by(MemorialDate.day)
        if memorial_id is not None:
            query = query.where(MemorialDate.memorial_id == memorial_id)
        return list((await session.scalars(query)).unique())


async def _horizon(pool: SessionPool, now: datetime = NOW) -> memorials.Horizon:
    async with pool() as session:
        result = await memorials.extend_horizon(session, now=now, zone=ZONE)
        await session.commit()
        return result


async def test_the_horizon_makes_each_date_once_with_the_event_in_local_time(
    session_pool: SessionPool,
) -> None:
    [sept, jan, nov] = await _add(
        session_pool,
        _memorial("2. Sonntag im September", key="sept", event=time(18), event_place="Mahnmal"),
        _memorial("27.01.", key="jan", event=time(18)),
        _memorial("letzter Sonntag im November", key="nov"),
    )
    first = await _horizon(session_pool)
    assert first == memorials.Horizon(added=4, updated=0, removed=0)
    # A second run, and a "second instance" with a session of its own: nothing new.
    assert await _horizon(session_pool) == memorials.Horizon(0, 0, 0)
    assert await _horizon(session_pool, NOW + HOUR) == memorials.Horizon(0, 0, 0)
    rows = await _dates(session_pool, sept)
    assert [row.day for row in rows] == [date(2030, 9, 8), date(2031, 9, 14)]
    assert {row.event_place for row in rows} == {"Mahnmal"}
    # 18:00 in Berlin in September (CEST) and January (CET) alike.
    for row in [*rows, *await _dates(session_pool, jan)]:
        assert row.event_starts_at is not None
        assert row.event_starts_at.astimezone(ZONE).time() == time(18, 0)
    assert [row.day for row in await _dates(session_pool, jan)] == [date(2031, 1, 27)]
    november = await _dates(session_pool, nov)
    assert [(row.day, row.event_starts_at) for row in november] == [(date(2030, 11, 24), None)]


async def test_the_horizon_follows_the_event_and_the_rule_and_skips_retired_memorials(
    session_pool: SessionPool,
) -> None:
    [memorial_id] = await _add(session_pool, _memorial("10.11.", key="nov"))
    await _horizon(session_pool)
    assert [row.event_starts_at for row in await _dates(session_pool)] == [None]
    async with session_pool() as session:
        memorial = await session.get(Memorial, memorial_id)
        assert memorial is not None
        memorial.event_time, memorial.event_place = time(17, 30), "Synagogenplatz"
        await session.commit()
    assert await _horizon(session_pool) == memorials.Horizon(0, 1, 0)
    [row] = await _dates(session_pool)
    assert row.event_starts_at == datetime(2030, 11, 10, 16, 30, tzinfo=UTC)
    assert row.event_place == "Synagogenplatz"
    # The rule changes: the old future date goes (nobody answered), the new one comes.
    async with session_pool() as session:
        memorial = await session.get(Memorial, memorial_id)
        assert memorial is not None
        memorial.rule, memorial.rrule = "9.11.", to_rrule(parse_rule("9.11."))
        await session.commit()
    assert await _horizon(session_pool) == memorials.Horizon(1, 0, 1)
    assert [row.day for row in await _dates(session_pool)] == [date(2030, 11, 9)]
    async with session_pool() as session:
        memorial = await session.get(Memorial, memorial_id)
        assert memorial is not None
        memorial.active = False
        await session.commit()
    assert await _horizon(session_pool, NOW + 400 * DAY) == memorials.Horizon(0, 0, 0)


# --- answers ---------------------------------------------------------------------------------


async def _members(pool: SessionPool, *ids: int, consent: bool = True) -> None:
    async with pool() as session:
        for member_id in ids:
            member = Member(id=member_id, first_name=f"M{member_id}")
            if consent:
                member.profile = Profile(member_id=member_id)
            session.add(member)
        await session.commit()


async def _one_date(
    pool: SessionPool, rule: str = "2. Sonntag im September", event: time | None = time(18)
) -> int:
    await _add(pool, _memorial(rule, event=event, event_place="Mahnmal" if event else None))
    await _horizon(pool)
    return (await _dates(pool))[0].id


async def _answer(
    pool: SessionPool, date_id: int, member_id: int, answer: RsvpAnswer, *, now: datetime = NOW
) -> memorials.Answered:
    async with pool() as session:
        result = await memorials.answer(
            session, date_id=date_id, member_id=member_id, consented=True, answer=answer, now=now
        )
        await session.commit()
        return result


async def test_answers_change_until_the_event_and_a_second_tap_changes_nothing(
    session_pool: SessionPool,
) -> None:
    date_id = await _one_date(session_pool)
    await _members(session_pool, 1, 2)
    assert (await _answer(session_pool, date_id, 1, RsvpAnswer.YES)).changed
    assert not (await _answer(session_pool, date_id, 1, RsvpAnswer.YES)).changed
    assert (await _answer(session_pool, date_id, 1, RsvpAnswer.MAYBE)).changed
    await _answer(session_pool, date_id, 2, RsvpAnswer.NO)
    async with session_pool() as session:
        assert await memorials.counts(session, date_id) == memorials.Counts(0, 1, 1)
        assert await session.scalar(select(func.count()).select_from(MemorialAnswer)) == 2
    starts = datetime(2030, 9, 8, 16, 0, tzinfo=UTC)
    with pytest.raises(MemorialError) as refused:
        await _answer(session_pool, date_id, 1, RsvpAnswer.NO, now=starts)
    assert refused.value.reason == "past"
    await _answer(session_pool, date_id, 1, RsvpAnswer.NO, now=starts - MINUTE)


@pytest.mark.parametrize("date_id", [0, -1, 10**30, 2**31, 999])
async def test_forged_dates_are_refused(session_pool: SessionPool, date_id: int) -> None:
    await _one_date(session_pool)
    await _members(session_pool, 1)
    with pytest.raises(MemorialError) as refused:
        await _answer(session_pool, date_id, 1, RsvpAnswer.YES)
    assert refused.value.reason == "unknown"


async def test_no_consent_and_no_event_are_refused(session_pool: SessionPool) -> None:
    date_id = await _one_date(session_pool, event=None)
    await _members(session_pool, 1)
    async with session_pool() as session:
        with pytest.raises(MemorialError) as refused:
            await memorials.answer(
                session,
                date_id=date_id,
                member_id=1,
                consented=False,
                answer=RsvpAnswer.YES,
                now=NOW,
            )
        assert refused.value.reason == "no_consent"
    with pytest.raises(MemorialError) as refused:
        await _answer(session_pool, date_id, 1, RsvpAnswer.YES)
    assert refused.value.reason == "no_event"


async def test_last_years_attendance_counts_the_yes_answers_of_the_previous_date(
    session_pool: SessionPool,
) -> None:
    last_year = NOW - 365 * DAY
    await _add(session_pool, _memorial("2. Sonntag im September", event=time(18)))
    await _members(session_pool, 1, 2, 3)
    async with session_pool() as session:
        await memorials.extend_horizon(session, now=last_year, zone=ZONE)
        await session.commit()
    [previous, this_year] = await _dates(session_pool)
    async with session_pool() as session:
        assert await memorials.last_attendance(session, previous) is None  # no record
    for member_id, answer in ((1, RsvpAnswer.YES), (2, RsvpAnswer.YES), (3, RsvpAnswer.NO)):
        await _answer(session_pool, previous.id, member_id, answer, now=last_year)
    async with session_pool() as session:
        assert await memorials.last_attendance(session, this_year) == 2


# --- reminders -------------------------------------------------------------------------------


async def _queue(pool: SessionPool, at: datetime, *, grace: timedelta = GRACE) -> Queued:
    """One run of the job, in a session of its own (what a restart or a second instance has)."""
    async with pool() as session:
        result = await memorials.queue_due(
            session, now=at, zone=ZONE, reminder_days=(7, 1), organiser_days=21, grace=grace
        )
        await session.commit()
        return result


async def _rows(pool: SessionPool, kind: str = memorials.MEMORIAL_REMINDER) -> list[Delivery]:
    async with pool() as session:
        return list(
            await session.scalars(
                select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)
            )
        )


def _moment(days: int, day: date = SEPT_DAY) -> datetime:
    return memorials.reminder_moment(day, days, ZONE)


async def test_reminders_are_queued_once_per_member_date_and_offset(
    session_pool: SessionPool,
) -> None:
    date_id = await _one_date(session_pool)
    await _members(session_pool, 1, 2)
    await _members(session_pool, 3, consent=False)  # never agreed: not reminded
    async with session_pool() as session:
        unreachable = Member(id=4, reachable=False)
        unreachable.profile = Profile(member_id=4)
        session.add(unreachable)
        await set_opted_out(session, 2, Category.MEMORIALS, opted_out=True)
        await session.commit()

    assert await _queue(session_pool, _moment(7) - MINUTE) == Queued(0, 0, 0)
    assert await _queue(session_pool, _moment(7)) == Queued(1, 0, 0)
    # The same moment again, later, and from a "restarted" or second instance: nothing new.
    assert await _queue(session_pool, _moment(7)) == Queued(0, 0, 0)
    assert await _queue(session_pool, _moment(7) + 5 * MINUTE) == Queued(0, 0, 0)
    assert await _queue(session_pool, _moment(1) - MINUTE) == Queued(0, 0, 0)
    assert await _queue(session_pool, _moment(1)) == Queued(1, 0, 0)
    assert await _queue(session_pool, _moment(1) + HOUR) == Queued(0, 0, 0)
    rows = await _rows(session_pool)
    assert [row.dedupe_key for row in rows] == [f"gd:{date_id}:7:1", f"gd:{date_id}:1:1"]
    assert [row.due_at for row in rows] == [_moment(7), _moment(1)]
    assert {row.category for row in rows} == {Category.MEMORIALS.value}
    assert {row.status for row in rows} == {DeliveryStatus.PENDING}


async def test_after_downtime_a_reminder_is_sent_within_its_grace_window_else_dropped(
    session_pool: SessionPool,
) -> None:
    await _one_date(session_pool)
    await _members(session_pool, 1, 2)
    # Down from before the 7-day moment until 23 hours after it: still sent, late.
    assert await _queue(session_pool, _moment(7) + 23 * HOUR) == Queued(2, 0, 0)
    # Down from then until 25 hours after the 1-day moment (past the grace, the day has come):
    # dropped and counted once.
    assert await _queue(session_pool, _moment(1) + 25 * HOUR) == Queued(0, 0, 2)
    assert await _queue(session_pool, _moment(1) + 26 * HOUR) == Queued(0, 0, 0)
    rows = await _rows(session_pool)
    assert [(row.payload["days"], row.status) for row in rows] == [
        (7, DeliveryStatus.PENDING),
        (7, DeliveryStatus.PENDING),
        (1, DeliveryStatus.CANCELLED),
        (1, DeliveryStatus.CANCELLED),
    ]


async def test_a_long_downtime_sends_only_the_latest_due_reminder(
    session_pool: SessionPool,
) -> None:
    await _one_date(session_pool)
    await _members(session_pool, 1)
    # Down from three weeks before until an hour after the 1-day moment.
    assert await _queue(session_pool, _moment(1) + HOUR) == Queued(1, 0, 0)
    [row] = await _rows(session_pool)
    assert row.payload["days"] == 1
    # The missed 7-day reminder is not sent after it, nor anything twice.
    await _queue(session_pool, _moment(1) + 2 * HOUR)
    assert len(await _rows(session_pool)) == 1


async def test_a_reminder_past_the_event_is_dropped_even_within_the_grace(
    session_pool: SessionPool,
) -> None:
    await _one_date(session_pool, event=time(9, 0))
    await _members(session_pool, 1)
    # 9:00 on the day: the 1-day reminder (10:00 the day before) is 23 h late, but the event
    # has started.
    assert await _queue(session_pool, _moment(1) + 23 * HOUR) == Queued(0, 0, 1)


async def test_a_short_grace_window_drops_sooner(session_pool: SessionPool) -> None:
    await _one_date(session_pool)
    await _members(session_pool, 1)
    assert await _queue(session_pool, _moment(7) + 2 * HOUR, grace=HOUR) == Queued(0, 0, 1)


async def test_organisers_get_a_note_three_weeks_ahead_once(session_pool: SessionPool) -> None:
    date_id = await _one_date(session_pool)
    await _members(session_pool, 1, 2)
    async with session_pool() as session:
        session.add(MemberRole(member_id=2, role=Role.ORGANISER))
        await session.commit()
    assert await _queue(session_pool, _moment(21) - MINUTE) == Queued(0, 0, 0)
    assert await _queue(session_pool, _moment(21)) == Queued(0, 1, 0)
    assert await _queue(session_pool, _moment(21) + HOUR) == Queued(0, 0, 0)
    [note] = await _rows(session_pool, memorials.MEMORIAL_PLANNING)
    assert note.recipient_id == 2
    assert note.dedupe_key == f"gdo:{date_id}:21:2"
    assert note.category is None
    async with session_pool() as session:
        organiser = await session.get(Member, 2)
        member = await session.get(Member, 1)
        due = await memorials.still_due(
            session, note.payload, organiser, now=_moment(21), zone=ZONE, organiser=True
        )
        assert due is not None
        assert due.last_year is None
        # A member who is no organiser gets no note (a stale row is withdrawn).
        assert (
            await memorials.still_due(
                session, note.payload, member, now=_moment(21), zone=ZONE, organiser=True
            )
            is None
        )


async def test_a_queued_reminder_is_withdrawn_when_the_member_erased_or_the_date_is_over(
    session_pool: SessionPool,
) -> None:
    date_id = await _one_date(session_pool)
    await _members(session_pool, 1)
    await _members(session_pool, 2, consent=False)
    payload = {"date_id": date_id, "days": 1}
    async with session_pool() as session:
        member = await session.get(Member, 1)
        stranger = await session.get(Member, 2)
        due = await memorials.still_due(session, payload, member, now=_moment(1), zone=ZONE)
        assert due is not None
        assert due.row.id == date_id
        assert due.answer is None
        assert (
            await memorials.still_due(session, payload, stranger, now=_moment(1), zone=ZONE) is None
        )
        over = datetime(2030, 9, 8, 16, 0, tzinfo=UTC)
        assert await memorials.still_due(session, payload, member, now=over, zone=ZONE) is None
        for bad in ({}, {"date_id": "x"}, {"date_id": 10**40}):
            assert (
                await memorials.still_due(session, bad, member, now=_moment(1), zone=ZONE) is None
            )


async def test_two_instances_at_once_make_each_date_and_reminder_once(
    session_pool: SessionPool,
) -> None:
    await _add(session_pool, _memorial("2. Sonntag im September", event=time(18)))
    await _members(session_pool, 1, 2, 3)
    start = asyncio.Event()

    async def instance() -> tuple[memorials.Horizon, Queued]:
        await start.wait()
        async with session_pool() as session:
            horizon = await memorials.extend_horizon(session, now=_moment(7), zone=ZONE)
            await session.commit()
        return horizon, await _queue(session_pool, _moment(7))

    tasks = [asyncio.create_task(instance()) for _ in range(2)]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sum(horizon.added for horizon, _queued in results) == 2
    assert sum(queued.reminders for _horizon, queued in results) == 3
    assert len(await _dates(session_pool)) == 2
    rows = await _rows(session_pool)
    assert sorted(row.recipient_id for row in rows) == [1, 2, 3]


async def test_simultaneous_double_taps_leave_one_answer(session_pool: SessionPool) -> None:
    date_id = await _one_date(session_pool)
    await _members(session_pool, 1)
    start = asyncio.Event()

    async def tap(answer: RsvpAnswer) -> None:
        await start.wait()
        await _answer(session_pool, date_id, 1, answer)

    tasks = [asyncio.create_task(tap(answer)) for answer in (RsvpAnswer.YES, RsvpAnswer.YES)]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*tasks)
    async with session_pool() as session:
        rows = list(await session.scalars(select(MemorialAnswer)))
    assert [(row.member_id, row.answer) for row in rows] == [(1, RsvpAnswer.YES)]
