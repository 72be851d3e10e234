"""The organisers' newcomer digest for a large KV: the Monday job, its rendering, paging.

    .venv/bin/python -m bench.newcomer_digest
    .venv/bin/python -m bench.newcomer_digest --database postgresql+asyncpg://postgres@127.0.0.1:5432/test

N members (default 100,000) in a scratch database, as the issue measured: 62 % of them newcomers
within the digest's weeks without a group, 20 % newcomers with a group, 18 % older members;
12 Stadtteile, one in eight without one. Then, each in its own session as the bot runs it:
- the Monday job (queue_newcomer_digest: counts, organisers, the outbox row, the audit entry);
- the worker's rendering of one organiser's row (digest_page 0 and the view, in German);
- an organiser's press on "Older »" (page 1), on a middle page and on the last page.
Figures: the wall time of each (best of --repeat runs), the process's RSS growth over the
whole series, the statements each ran and the most parameters any one bound. Targets from
issue 14: each <= 2 s and <= 50 MB extra RSS; no statement binds more than a few thousand.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.updates import _database
from bot.db.engine import create_engine
from bot.db.session import create_session_pool
from bot.i18n import create_i18n
from bot.services import newcomer_digest
from bot.telegram.views.newcomers import newcomer_digest as render
from models import District, Group, GroupMembership, GroupType, Member, MemberRole, Profile, Role
from models.base import utcnow

FIRST_ID = 10_000_000_000
CHUNK = 1_000
DAYS = 14


def _rss_mb() -> float:
    """The process's resident set size now (not its peak), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _seed(engine: AsyncEngine, members: int) -> None:
    pool = create_session_pool(engine)
    now = utcnow()
    async with pool() as session:
        await session.execute(
            insert(District),
            [{"key": f"d{i}", "name": f"Stadtteil {i}", "position": i} for i in range(12)],
        )
        session.add(Group(id=1, key="g1", name="Stammtisch", type=GroupType.STAMMTISCH))
        session.add(Member(id=1, first_name="Olga", roles=[MemberRole(role=Role.ORGANISER)]))
        await session.flush()
        window = newcomer_digest.DIGEST_WEEKS * newcomer_digest.WEEK
        for start in range(0, members, CHUNK):
            rows, profiles, joined = [], [], []
            for index in range(start, min(start + CHUNK, members)):
                member_id = FIRST_ID + index
                share = index % 50
                if share < 31:  # 62 %: a newcomer in the digest's weeks, no group
                    age = timedelta(days=DAYS) + window * (index / members)
                elif share < 41:  # 20 %: a newcomer who joined a group
                    age = timedelta(days=DAYS + 3)
                    joined.append({"group_id": 1, "member_id": member_id})
                else:  # 18 %: with us for longer
                    age = timedelta(days=400)
                rows.append(
                    {
                        "id": member_id,
                        "first_name": f"Mitglied {index}",
                        "created_at": now - age,
                        "last_seen_at": now,
                        "reachable": True,
                    }
                )
                profiles.append(
                    {
                        "member_id": member_id,
                        "district_id": None if index % 8 == 0 else index % 12 + 1,
                        "consent_at": now,
                        "consent_version": 1,
                        "outside_districts": False,
                        "free_time": [],
                        "intake_completed_at": now,
                    }
                )
            await session.execute(insert(Member), rows)
            await session.execute(insert(Profile), profiles)
            if joined:
                await session.execute(insert(GroupMembership), joined)
        await session.commit()
    if engine.dialect.name == "postgresql":
        # Statistics, as autovacuum keeps them in a running database; right after a bulk load
        # the planner would take 62,000 rows for one. SQLite keeps none unless asked, as in
        # production.
        async with pool() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()


async def _run(url: str, *, members: int, repeat: int) -> None:
    engine = create_engine(url)
    pool = create_session_pool(engine)
    binds: list[int] = []

    def count(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
        binds.append(len(parameters) if parameters else 0)

    try:
        started = time.perf_counter()
        await _seed(engine, members)
        print(f"seeded {members:,} members in {time.perf_counter() - started:.1f} s")
        i18n = create_i18n("de")
        now = utcnow()
        async with pool() as session:
            waiting = await newcomer_digest.count_waiting(session, now=now, days=DAYS)
        pages = -(-waiting // newcomer_digest.PAGE_SIZE)
        print(f"newcomers waiting: {waiting:,} ({pages:,} pages)")

        async def job() -> None:
            async with pool() as session:
                # Rolled back, so each run queues anew (the row is once per organiser and day).
                await newcomer_digest.queue_newcomer_digest(
                    session, now=now, days=DAYS, admin_ids=[]
                )
                await session.flush()
                await session.rollback()

        def page(number: int) -> Callable[[], Awaitable[None]]:
            async def show() -> None:
                async with pool() as session:
                    shown = await newcomer_digest.digest_page(
                        session, now=now, days=DAYS, page=number
                    )
                with i18n.context(), i18n.use_locale("de"):
                    render(shown)

            return show

        operations: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("Monday job (queue)", job),
            ("render the row (page 1)", page(0)),
            ('"Older »" (page 2)', page(1)),
            ("a middle page", page(pages // 2)),
            ("the last page", page(pages - 1)),
        ]
        before = _rss_mb()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        for name, operation in operations:
            binds.clear()
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                await operation()
                times.append(time.perf_counter() - started)
            statements = len(binds) // repeat
            print(
                f"{name:26} best {min(times) * 1000:7.1f} ms  worst {max(times) * 1000:7.1f} ms"
                f"  {statements} statements, at most {max(binds)} parameters"
            )
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        print(f"RSS growth over all of it: {_rss_mb() - before:+.1f} MB (now {_rss_mb():.0f} MB)")
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL; default a temporary SQLite file")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    async with _database(args.database) as url:
        print(f"database: {url.split('://')[0]}")
        await _run(url, members=args.members, repeat=args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
