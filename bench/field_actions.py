"""The field actions' jobs against a database: horizon, calls for help and shift reminders for a
large KV.

    .venv/bin/python -m bench.field_actions
    .venv/bin/python -m bench.field_actions --database postgresql+asyncpg://postgres@127.0.0.1:5432/test

A KV of 12 Stadtteile in a ring (each the neighbour of the next), N members (default 20,000)
with a Stadtteil, ways to take part, free time and, for one in ten, calls for help switched
off, and A actions (default 60: half weekly Infostände, half one-day door-to-door rounds, four
shifts each) in a scratch database. Each job as the scheduler runs it, in one transaction:
- horizon: the actions' dates and shifts for the next eight weeks (first run, then again);
- calls for help: every shift within 48 h that lacks people, its candidates found and called
  (first run, then again: the cooldown leaves nobody to call);
- shift reminders: with a third of the places taken, the reminders due the evening before
  Friday's shifts.
Figures: rows made, members called, reminders queued, and the wall time of each run. No targets.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time as clock
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.updates import _database
from bot.db.engine import create_engine
from bot.db.session import SessionPool, create_session_pool
from bot.services import field_actions, help_calls, shift_reminders
from models import (
    ActionDate,
    ActionKind,
    ActivityType,
    District,
    FieldAction,
    Member,
    OptOut,
    Profile,
    Shift,
    ShiftSignup,
)
from models.broadcast import Category
from models.kv import district_neighbours
from models.profile import profile_activity_types

# Wednesday 2 December 2026, 18:30 in Berlin: Thursday's and Friday's shifts are within the
# 48 hours of calls for help.
NOW = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)
DISTRICTS = 12
SLOTS = ("weekday_evening", "weekday_daytime", "weekend")
PLAN = (
    field_actions.PlannedShift(time(9, 30), time(10), 2, "Aufbau"),
    field_actions.PlannedShift(time(10), time(12), 3),
    field_actions.PlannedShift(time(12), time(14), 3),
    field_actions.PlannedShift(time(14), time(14, 30), 2, "Abbau"),
)
CHUNK = 2000
_T = TypeVar("_T")


async def _kv(pool: SessionPool, members: int, seed: int) -> None:
    rng = random.Random(seed)
    async with pool() as session:
        districts = [
            District(key=f"d{i}", name=f"Stadtteil {i}", position=i) for i in range(DISTRICTS)
        ]
        stand = ActivityType(key="infostaende", name="Infostände", action_kind="infostand")
        doors = ActivityType(key="haustuer", name="Haustürgespräche", action_kind="door_to_door")
        other = ActivityType(key="social", name="Social Media")
        session.add_all([*districts, stand, doors, other])
        await session.flush()
        pairs = []
        for index, district in enumerate(districts):
            neighbour = districts[(index + 1) % DISTRICTS]
            pairs += [
                {"district_id": district.id, "neighbour_id": neighbour.id},
                {"district_id": neighbour.id, "neighbour_id": district.id},
            ]
        await session.execute(insert(district_neighbours), pairs)
        kinds = [stand.id, doors.id, other.id]
        for start in range(0, members, CHUNK):
            ids = range(1_000_000 + start, 1_000_000 + min(start + CHUNK, members))
            await session.execute(
                insert(Member), [{"id": i, "first_name": f"M{i}", "reachable": True} for i in ids]
            )
            await session.execute(
                insert(Profile),
                [
                    {
                        "member_id": i,
                        "district_id": rng.choice(districts).id,
                        "free_time": rng.sample(SLOTS, rng.randint(0, 3)),
                        "reminder_offsets": [1440, 120],
                    }
                    for i in ids
                ],
            )
            links = [
                {"member_id": i, "activity_type_id": kind}
                for i in ids
                for kind in rng.sample(kinds, rng.randint(0, 2))
            ]
            if links:
                await session.execute(insert(profile_activity_types), links)
            quiet = [
                {"member_id": i, "category": Category.CALLS_FOR_HELP}
                for i in ids
                if rng.random() < 0.1
            ]
            if quiet:
                await session.execute(insert(OptOut), quiet)
        await session.commit()


async def _actions(pool: SessionPool, count: int, zone: ZoneInfo, seed: int) -> None:
    rng = random.Random(seed)
    async with pool() as session:
        districts = list(await session.scalars(select(District.id).order_by(District.id)))
        for index in range(count):
            weekly = index % 2 == 0
            await field_actions.create(
                session,
                kind=ActionKind.INFOSTAND if weekly else ActionKind.DOOR_TO_DOOR,
                title=f"Aktion {index}",
                place=f"Ort {index}",
                shifts=PLAN,
                now=NOW - timedelta(days=1),
                zone=zone,
                rule="jeden Samstag" if weekly else None,
                on_day=None
                if weekly
                else (NOW + timedelta(days=1 + index % 10)).astimezone(zone).date(),
                district_id=rng.choice(districts),
            )
        # create() makes the dates at once; the horizon's first run is what is measured.
        await session.execute(delete(ActionDate))
        await session.commit()


async def _timed(
    pool: SessionPool, run: Callable[[AsyncSession], Awaitable[_T]]
) -> tuple[_T, float]:
    started = clock.perf_counter()
    async with pool() as session:
        result = await run(session)
        await session.commit()
    return result, clock.perf_counter() - started


async def _take_places(pool: SessionPool, share: float, seed: int) -> int:
    """Sign up members for a share of every shift's places (at random, no overlaps checked:
    the reminders job reads what is stored)."""
    rng = random.Random(seed)
    async with pool() as session:
        members = list(await session.scalars(select(Profile.member_id).order_by(Profile.member_id)))
        shift_rows = (
            await session.execute(select(Shift.id, Shift.needed).order_by(Shift.id))
        ).all()
        signed = NOW - timedelta(days=3)
        rows = [
            {"shift_id": shift_id, "member_id": member_id, "signed_at": signed, "via_call": False}
            for shift_id, needed in shift_rows
            for member_id in rng.sample(members, max(1, int(needed * share)))
        ]
        for start in range(0, len(rows), CHUNK):
            await session.execute(insert(ShiftSignup), rows[start : start + CHUNK])
        await session.commit()
        return len(rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--actions", type=int, default=60)
    parser.add_argument("--zone", default="Europe/Berlin")
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    zone = ZoneInfo(args.zone)
    async with _database(args.database) as url:
        engine = create_engine(url)
        try:
            pool = create_session_pool(engine)
            await _kv(pool, args.members, seed=11)
            await _actions(pool, args.actions, zone, seed=12)
            backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(
                f"field_actions on {backend}: {args.members} members, {args.actions} actions, "
                f"{args.zone}"
            )

            def horizon(now: datetime) -> Callable[[AsyncSession], Awaitable[object]]:
                return lambda session: field_actions.extend_horizon(session, now=now, zone=zone)

            for label, now in (
                ("first run", NOW),
                ("again (steady state)", NOW + timedelta(hours=1)),
            ):
                result, seconds = await _timed(pool, horizon(now))
                print(f"  horizon {label:<24} +{result.added:>5} dates  {seconds * 1000:8.1f} ms")
            async with pool() as session:
                shifts = await session.scalar(select(func.count()).select_from(Shift))
                actions = await session.scalar(select(func.count()).select_from(FieldAction))
            print(f"  shift rows: {shifts} (of {actions} actions)")

            def calls(now: datetime) -> Callable[[AsyncSession], Awaitable[help_calls.Calls]]:
                return lambda session: help_calls.queue_calls(
                    session,
                    now=now,
                    zone=zone,
                    shortfall=timedelta(hours=48),
                    cooldown=timedelta(days=7),
                )

            for label, now in (
                ("first run", NOW),
                ("again (cooldown)", NOW + timedelta(minutes=5)),
            ):
                result, seconds = await _timed(pool, calls(now))
                print(
                    f"  calls {label:<26} {result.shifts:>4} short shifts"
                    f"  {result.called:>6} called"
                    f"  {seconds * 1000:8.1f} ms"
                )
            taken = await _take_places(pool, 1 / 3, seed=13)
            plan = shift_reminders.ReminderPlan(evening_hour=19, minutes=60)
            # Thursday 19:30: the evening reminders for Friday's shifts are due.
            evening = NOW + timedelta(hours=25)
            result, seconds = await _timed(
                pool,
                lambda session: shift_reminders.queue_due(
                    session, now=evening, zone=zone, plan=plan
                ),
            )
            print(
                f"  reminders ({taken} sign-ups)     {result.queued:>6} queued"
                f"  {seconds * 1000:8.1f} ms"
            )
        finally:
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
