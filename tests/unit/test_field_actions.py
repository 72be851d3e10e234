"""Field actions and shifts: planning, dates on the horizon, sign-up rules, swaps, and
simultaneous presses that never overfill a shift.

Every test runs on SQLite and (with TEST_DATABASE_URL) on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.db.session import SessionPool
from bot.services import field_actions, shifts
from bot.services.field_actions import ActionError, PlannedShift
from bot.services.shifts import ShiftError
from models import (
    ActionDate,
    ActionKind,
    ActionStatus,
    Campaign,
    Member,
    Profile,
    Shift,
    ShiftSignup,
    SwapStatus,
)

ZONE = ZoneInfo("Europe/Berlin")
# Tuesday 2030-01-08, 11:00 in Berlin.
NOW = datetime(2030, 1, 8, 10, 0, tzinfo=UTC)
SATURDAY = date(2030, 1, 12)
PLAN = (
    PlannedShift(time(9, 30), time(10, 0), 2, "Aufbau"),
    PlannedShift(time(10, 0), time(12, 0), 3),
    PlannedShift(time(12, 0), time(14, 0), 3),
)


async def _members(pool: SessionPool, count: int, *, first: int = 1) -> list[int]:
    ids = list(range(first, first + count))
    async with pool() as session:
        for member_id in ids:
            member = Member(id=member_id, first_name=f"M{member_id}")
            member.profile = Profile(member_id=member_id)
            session.add(member)
        await session.commit()
    return ids


async def _one_day(
    pool: SessionPool, day: date = SATURDAY, plan: tuple[PlannedShift, ...] = PLAN
) -> list[int]:
    async with pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title="Infostand Marktplatz",
            place="Marktplatz",
            shifts=plan,
            on_day=day,
            now=NOW,
            zone=ZONE,
        )
        await session.commit()
        rows = await field_actions.upcoming_dates(
            session, now=NOW, until=NOW + timedelta(days=60), action_ids=[action.id]
        )
        return [shift.id for shift in rows[0].shifts]


async def test_one_day_action_gets_its_shifts_in_local_time(session_pool: SessionPool) -> None:
    shift_ids = await _one_day(session_pool)
    async with session_pool() as session:
        first = await session.get(Shift, shift_ids[0])
        assert first is not None
        assert first.label == "Aufbau"
        # 09:30 in Berlin in winter is 08:30 UTC.
        assert first.starts_at == datetime(2030, 1, 12, 8, 30, tzinfo=UTC)
        row = await field_actions.get_date(session, first.action_date_id)
        assert [s.needed for s in row.shifts] == [2, 3, 3]


async def test_plan_is_checked_before_anything_is_stored(session_pool: SessionPool) -> None:
    cases = {
        "shifts": (PlannedShift(time(10), time(9), 2),),
        "needed": (PlannedShift(time(9), time(10), 0),),
        "past": PLAN,
    }
    async with session_pool() as session:
        for reason, plan in cases.items():
            day = date(2030, 1, 1) if reason == "past" else SATURDAY
            with pytest.raises(ActionError) as caught:
                await field_actions.create(
                    session,
                    kind=ActionKind.INFOSTAND,
                    title="X",
                    place="Y",
                    shifts=plan,
                    on_day=day,
                    now=NOW,
                    zone=ZONE,
                )
            assert caught.value.reason == reason
        overlapping = (PlannedShift(time(9), time(11), 1), PlannedShift(time(10), time(12), 1))
        with pytest.raises(ActionError, match="shifts"):
            field_actions.check_shift_plan(overlapping)
        assert await session.scalar(select(func.count()).select_from(ActionDate)) == 0


async def test_series_stays_within_the_campaign(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        campaign = Campaign(
            key="kaelte",
            name="Heiße Getränke",
            starts_on=date(2030, 1, 1),
            ends_on=date(2030, 1, 31),
        )
        session.add(campaign)
        await session.flush()
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title="Heiße Getränke am Bahnhof",
            place="Bahnhofsvorplatz",
            shifts=PLAN,
            rule="jeden Samstag",
            campaign_id=campaign.id,
            now=NOW,
            zone=ZONE,
        )
        await session.commit()
        days = [
            row.day
            for row in await field_actions.upcoming_dates(
                session, now=NOW, until=NOW + timedelta(days=90), action_ids=[action.id]
            )
        ]
    assert days == [date(2030, 1, 12), date(2030, 1, 19), date(2030, 1, 26)]


async def test_horizon_is_idempotent_and_follows_a_changed_plan(
    session_pool: SessionPool,
) -> None:
    members = await _members(session_pool, 1)
    async with session_pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.DOOR_TO_DOOR,
            title="Haustür Nord",
            place="Lindenweg und Umgebung",
            shifts=PLAN,
            rule="jeden Samstag",
            now=NOW,
            zone=ZONE,
        )
        await session.commit()
        again = await field_actions.extend_horizon(session, now=NOW, zone=ZONE)
        assert again.added == 0
        dates = await field_actions.upcoming_dates(
            session, now=NOW, until=NOW + timedelta(days=60), action_ids=[action.id]
        )
        held = dates[0].shifts[1].id
        await shifts.sign_up(session, held, members[0], now=NOW)
        action.shift_plan = [PlannedShift(time(15), time(17), 4).as_json()]
        await session.commit()
        await field_actions.extend_horizon(session, now=NOW, zone=ZONE)
        await session.commit()
        dates = await field_actions.upcoming_dates(
            session, now=NOW, until=NOW + timedelta(days=60), action_ids=[action.id]
        )
    # The date with a sign-up keeps its shifts; the others follow the new plan.
    assert len(dates[0].shifts) == 3
    assert [(s.starts_at.hour, s.needed) for s in dates[1].shifts] == [(14, 4)]


async def test_withdrawn_series_dates_are_cancelled_when_people_signed_up(
    session_pool: SessionPool,
) -> None:
    members = await _members(session_pool, 1)
    async with session_pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title="Stand",
            place="Markt",
            shifts=PLAN,
            rule="jeden Samstag",
            now=NOW,
            zone=ZONE,
        )
        dates = await field_actions.upcoming_dates(
            session, now=NOW, until=NOW + timedelta(days=60), action_ids=[action.id]
        )
        await shifts.sign_up(session, dates[0].shifts[0].id, members[0], now=NOW)
        action.rrule = field_actions.rule_text("jeden Sonntag")
        result = await field_actions.extend_horizon(session, now=NOW, zone=ZONE)
        await session.commit()
        assert result.cancelled == (dates[0].id,)
        kept = await session.get(ActionDate, dates[0].id)
        assert kept is not None
        assert kept.status == ActionStatus.CANCELLED
        assert await session.get(ActionDate, dates[1].id) is None


async def test_sign_up_rules(session_pool: SessionPool) -> None:
    setup, main, lunch = await _one_day(session_pool)
    a, b, c = await _members(session_pool, 3)
    async with session_pool() as session:
        first = await shifts.sign_up(session, setup, a, now=NOW)
        assert (first.filled, first.already) == (1, False)
        again = await shifts.sign_up(session, setup, a, now=NOW)
        assert (again.filled, again.already) == (1, True)
        await shifts.sign_up(session, setup, b, now=NOW)
        with pytest.raises(ShiftError, match="full"):
            await shifts.sign_up(session, setup, c, now=NOW)
        # Adjacent shifts don't overlap.
        await shifts.sign_up(session, main, a, now=NOW)
        await session.commit()
    async with session_pool() as session:
        # Another action at the same time.
        other = await field_actions.create(
            session,
            kind=ActionKind.DOOR_TO_DOOR,
            title="Runde",
            place="Nord",
            shifts=(PlannedShift(time(11), time(13), 2),),
            on_day=SATURDAY,
            now=NOW,
            zone=ZONE,
        )
        rows = await field_actions.upcoming_dates(
            session, now=NOW, until=NOW + timedelta(days=30), action_ids=[other.id]
        )
        with pytest.raises(ShiftError) as caught:
            await shifts.sign_up(session, rows[0].shifts[0].id, a, now=NOW)
        assert caught.value.reason == "overlap"
        assert caught.value.clash is not None
        assert caught.value.clash.id == main
        with pytest.raises(ShiftError, match="unknown"):
            await shifts.sign_up(session, 2**40, a, now=NOW)
        with pytest.raises(ShiftError, match="started"):
            await shifts.sign_up(session, lunch, c, now=datetime(2030, 1, 12, 11, 30, tzinfo=UTC))
        with pytest.raises(ShiftError, match="consent"):
            await shifts.sign_up(session, lunch, 999, now=NOW)
        left = await shifts.cancel(session, setup, b, now=NOW)
        assert (left.filled, left.held, left.emptied) == (1, True, False)
        twice = await shifts.cancel(session, setup, b, now=NOW)
        assert not twice.held
        emptied = await shifts.cancel(session, setup, a, now=NOW)
        assert emptied.emptied
        await field_actions.cancel_date(session, emptied.shift.action_date_id, now=NOW)
        with pytest.raises(ShiftError, match="cancelled"):
            await shifts.sign_up(session, lunch, c, now=NOW)


async def test_swap_moves_the_place_in_one_step(session_pool: SessionPool) -> None:
    setup, main, _lunch = await _one_day(session_pool)
    a, b, c = await _members(session_pool, 3)
    async with session_pool() as session:
        await shifts.sign_up(session, main, a, now=NOW)
        await shifts.sign_up(session, setup, c, now=NOW)
        offer = await shifts.offer_swap(session, main, a, now=NOW)
        assert (await shifts.offer_swap(session, main, a, now=NOW)).id == offer.id
        with pytest.raises(ShiftError, match="not_held"):
            await shifts.offer_swap(session, main, b, now=NOW)
        with pytest.raises(ShiftError, match="own"):
            await shifts.take_swap(session, offer.id, a, now=NOW)
        with pytest.raises(ShiftError, match="unknown"):
            await shifts.withdraw_swap(session, offer.id, b, now=NOW)
        taken = await shifts.take_swap(session, offer.id, b, now=NOW)
        assert (taken.status, taken.to_member_id) == (SwapStatus.TAKEN, b)
        with pytest.raises(ShiftError, match="taken"):
            await shifts.take_swap(session, offer.id, c, now=NOW)
        await session.commit()
        holders = await shifts.holder_ids(session, [main])
        assert holders[main] == {b}
        held = await shifts.held_shifts(session, a, now=NOW)
        assert held == []


def _pool_for(
    engine: AsyncEngine, fallback: SessionPool, size: int
) -> tuple[SessionPool, AsyncEngine | None]:
    if engine.dialect.name != "postgresql":
        return fallback, None
    wide = create_async_engine(engine.url, pool_size=size + 5, max_overflow=0)
    return async_sessionmaker(wide, expire_on_commit=False), wide


async def test_simultaneous_sign_ups_never_overfill(
    engine: AsyncEngine, session_pool: SessionPool
) -> None:
    shift_ids = await _one_day(session_pool)
    members = await _members(session_pool, 30)
    pool, wide = _pool_for(engine, session_pool, len(members))
    start = asyncio.Event()
    outcomes: list[str] = []

    async def press(member_id: int, shift_id: int) -> None:
        await start.wait()
        async with pool() as session:
            try:
                await shifts.sign_up(session, shift_id, member_id, now=NOW)
                await session.commit()
                outcomes.append("ok")
            except ShiftError as error:
                await session.rollback()
                outcomes.append(error.reason)

    # Every member presses two overlapping shifts at once: the 10-12 and the 12-14 one are
    # adjacent, so each member may get both, but never more than a shift needs.
    tasks = [
        asyncio.create_task(press(member_id, shift_id))
        for member_id in members
        for shift_id in shift_ids[1:]
    ]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*tasks)
    if wide is not None:
        await wide.dispose()
    async with session_pool() as session:
        counts = dict(
            (
                await session.execute(
                    select(ShiftSignup.shift_id, func.count()).group_by(ShiftSignup.shift_id)
                )
            ).all()
        )
    assert counts == {shift_ids[1]: 3, shift_ids[2]: 3}
    assert outcomes.count("ok") == 6
    assert set(outcomes) == {"ok", "full"}


async def test_actions_planned_in_the_chat_get_unique_keys(session_pool: SessionPool) -> None:
    keys = []
    async with session_pool() as session:
        for _ in range(3):
            action = await field_actions.create(
                session,
                kind=ActionKind.INFOSTAND,
                title="Infostand Südstadt",
                place="Markt",
                shifts=PLAN,
                on_day=SATURDAY,
                now=NOW,
                zone=ZONE,
            )
            keys.append(action.key)
        await session.commit()
    assert keys == ["infostand-suedstadt", "infostand-suedstadt-2", "infostand-suedstadt-3"]


def test_the_chat_refuses_what_the_setup_file_refuses() -> None:
    winter = Campaign(key="w", name="Winter", starts_on=date(2030, 1, 1), ends_on=date(2030, 2, 28))
    cases = {
        "when": field_actions.When(),
        "rule_time": field_actions.When(rule="jeden Samstag 10 Uhr"),
        "rule": field_actions.When(rule="wenn es passt"),
        "period": field_actions.When(
            rule="jeden Samstag", starts_on=date(2030, 2, 1), ends_on=date(2030, 1, 1)
        ),
        "campaign": field_actions.When(on_day=date(2030, 3, 2)),
    }
    for reason, when in cases.items():
        with pytest.raises(ActionError) as caught:
            field_actions.check_when(when, campaign=winter)
        assert caught.value.reason == reason
    with pytest.raises(ActionError, match="when"):
        field_actions.check_when(
            field_actions.When(on_day=SATURDAY, starts_on=SATURDAY), campaign=None
        )
    field_actions.check_when(field_actions.When(on_day=SATURDAY), campaign=winter)
    field_actions.check_when(field_actions.When(rule="jeden Samstag"), campaign=winter)


async def test_dropped_actions_lose_their_dates_ahead(session_pool: SessionPool) -> None:
    members = await _members(session_pool, 1)
    async with session_pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title="Stand",
            place="Markt",
            shifts=PLAN,
            rule="jeden Samstag",
            now=NOW,
            zone=ZONE,
        )
        dates = await field_actions.upcoming_dates(
            session, now=NOW, until=NOW + timedelta(days=60), action_ids=[action.id]
        )
        await shifts.sign_up(session, dates[0].shifts[0].id, members[0], now=NOW)
        # The setup file no longer has it.
        action.active = False
        result = await field_actions.extend_horizon(session, now=NOW, zone=ZONE)
        await session.commit()
        assert result.cancelled == (dates[0].id,)
        assert result.withdrawn == len(dates)
        kept = await field_actions.find_date(session, dates[0].id, retired_too=True)
        assert kept is not None
        assert kept.cancelled
        # Members no longer see it; the notice to its people still can.
        assert await field_actions.find_date(session, dates[0].id) is None
        remaining = await session.scalar(select(func.count()).select_from(ActionDate))
        assert remaining == 1
