"""Many newcomers at once for the digest's tests: bulk inserts, no ORM object per member."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import District, Member, Profile

FIRST_ID = 10_000_000_000
# Rows per INSERT: a few thousand parameters at most, like the bot's own statements.
CHUNK = 500


async def add_districts(session: AsyncSession, names: Sequence[str]) -> list[int]:
    """Stadtteile by name, in this order; their ids."""
    rows = [
        {"key": f"d{index}", "name": name, "position": index} for index, name in enumerate(names)
    ]
    await session.execute(insert(District), rows)
    ids = dict(list(await session.execute(select(District.name, District.id))))
    return [ids[name] for name in names]


async def add_newcomers(
    session: AsyncSession,
    count: int,
    *,
    now: datetime,
    age: timedelta | None = None,
    spread: timedelta = timedelta(0),
    districts: Sequence[int | None] = (None,),
    first_id: int = FIRST_ID,
    name: str = "Neu",
    consented: bool = True,
    departed: bool = False,
) -> list[int]:
    """`count` members who joined `age` ago (default 20 days), the later ones `spread` longer
    ago each step (the first is the newest), their Stadtteile taken in turn; their ids."""
    age = timedelta(days=20) if age is None else age
    ids = [first_id + index for index in range(count)]
    members = [
        {
            "id": member_id,
            "first_name": f"{name} {index}",
            "created_at": now - age - spread * index,
            "last_seen_at": now,
            "reachable": True,
            "departed_at": now if departed else None,
        }
        for index, member_id in enumerate(ids)
    ]
    profiles = [
        {
            "member_id": member_id,
            "district_id": districts[index % len(districts)],
            "consent_at": now,
            "consent_version": 1,
            "outside_districts": False,
            "free_time": [],
            "intake_completed_at": now,
        }
        for index, member_id in enumerate(ids)
    ]
    for start in range(0, count, CHUNK):
        await session.execute(insert(Member), members[start : start + CHUNK])
        if consented:
            await session.execute(insert(Profile), profiles[start : start + CHUNK])
    return ids
