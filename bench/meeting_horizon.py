"""The meetings-horizon job against a database: 200 groups' series made into meeting rows.

    .venv/bin/python -m bench.meeting_horizon
    .venv/bin/python -m bench.meeting_horizon --database postgresql+asyncpg://postgres@127.0.0.1:5432/test

A KV of N groups (default 200, the same mix of rules as bench.meetings_expand) in a scratch
database. schedule.extend_horizon, as the hourly job runs it, in one transaction:
- first: every group's dates for the next eight weeks become rows;
- again: the steady state of the hourly job (nothing new, every date checked);
- a week later: the horizon moves on by a week;
- rules changed: a quarter of the groups get a new rule, their old future dates are withdrawn.
Figures: rows added and withdrawn, and the wall time of each run. No targets.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bench.meetings_expand import _rules
from bench.updates import _database
from bot.db.engine import create_engine
from bot.db.session import SessionPool, create_session_pool
from bot.services import schedule
from bot.services.recurrence import Rule, format_rule, to_rrule
from models import Group, GroupType, Meeting

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


async def _groups(pool: SessionPool, rules: list[Rule]) -> None:
    async with pool() as session:
        for index, rule in enumerate(rules):
            session.add(
                Group(
                    key=f"g{index}",
                    name=f"Gruppe {index}",
                    type=GroupType.STAMMTISCH,
                    rule=format_rule(rule),
                    rrule=to_rrule(rule),
                    position=index,
                    active=True,
                )
            )
        await session.commit()


async def _run(pool: SessionPool, zone: ZoneInfo, now: datetime) -> tuple[schedule.Horizon, float]:
    started = time.perf_counter()
    async with pool() as session:
        result = await schedule.extend_horizon(session, now=now, zone=zone)
        await session.commit()
    return result, time.perf_counter() - started


async def _rechange(pool: SessionPool, rules: list[Rule]) -> None:
    """A quarter of the groups move to another weekday, as a changed setup file would."""
    async with pool() as session:
        groups = list((await session.scalars(select(Group).order_by(Group.id))).unique())
        for group, rule in list(zip(groups, rules, strict=True))[::4]:
            if rule.weekday is not None and rule.kind in ("weekly", "monthly"):
                moved = Rule(
                    rule.kind, rule.time, weekday=(rule.weekday + 1) % 7, ordinals=rule.ordinals
                )
                group.rule, group.rrule = format_rule(moved), to_rrule(moved)
        await session.commit()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--zone", default="Europe/Berlin")
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    zone = ZoneInfo(args.zone)
    rules = _rules(args.groups, seed=10)
    async with _database(args.database) as url:
        engine = create_engine(url)
        try:
            pool = create_session_pool(engine)
            await _groups(pool, rules)
            backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(
                f"meeting_horizon on {backend}: {args.groups} groups, "
                f"{schedule.HORIZON.days // 7} weeks ahead, {args.zone}"
            )
            runs = [
                ("first run", NOW),
                ("again (steady state)", NOW + timedelta(minutes=60)),
                ("a week later", NOW + timedelta(days=7)),
            ]
            for label, now in runs:
                result, seconds = await _run(pool, zone, now)
                figures = f"+{result.added:>5} −{result.withdrawn:>4}  {seconds * 1000:8.1f} ms"
                print(f"  {label:<28} {figures}")
            await _rechange(pool, rules)
            result, seconds = await _run(pool, zone, NOW + timedelta(days=7, minutes=60))
            print(
                f"  {'rules changed (1/4 groups)':<28} +{result.added:>5} −{result.withdrawn:>4}"
                f"  {seconds * 1000:8.1f} ms"
            )
            async with pool() as session:
                rows = await session.scalar(select(func.count()).select_from(Meeting))
            print(f"  meeting rows in the database: {rows}")
        finally:
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
