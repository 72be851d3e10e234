"""Simultaneous answers never overbook: many members press yes at the same moment.

Each press runs as a handler's does: its own session and transaction, committed at the end. On
PostgreSQL every press has its own connection and all start together (the meeting's row lock
puts them in line); SQLite runs one writer at a time. The PostgreSQL variant skips without
TEST_DATABASE_URL (see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.db.session import SessionPool
from bot.services import meeting_notices, rsvp, schedule
from models import Attendance, Delivery, Group, GroupType, Member, Profile, RsvpAnswer

NOW = datetime(2030, 1, 8, 10, 0, tzinfo=UTC)
MEMBERS = 40
CAPACITY = 10


async def _setup(pool: SessionPool, members: int) -> int:
    async with pool() as session:
        group = Group(key="stammtisch", name="Stammtisch Mitte", type=GroupType.STAMMTISCH)
        session.add(group)
        for member_id in range(1, members + 1):
            member = Member(id=member_id, first_name=f"M{member_id}")
            member.profile = Profile(member_id=member_id)
            session.add(member)
        await session.flush()
        meeting = await schedule.add_one_off(
            session,
            group_id=group.id,
            starts_at=NOW + timedelta(days=2),
            now=NOW,
            capacity=CAPACITY,
        )
        await session.commit()
        return meeting.id


def _pool_for(engine: AsyncEngine, fallback: SessionPool) -> tuple[SessionPool, AsyncEngine | None]:
    """On PostgreSQL a connection per press, so that all of them really wait at the same time."""
    if engine.dialect.name != "postgresql":
        return fallback, None
    wide = create_async_engine(engine.url, pool_size=MEMBERS + 5, max_overflow=0)
    return async_sessionmaker(wide, expire_on_commit=False), wide


async def _press_all(
    pool: SessionPool, meeting_id: int, presses: list[tuple[int, RsvpAnswer]], now: datetime
) -> None:
    start = asyncio.Event()

    async def press(member_id: int, answer: RsvpAnswer, nth: int) -> None:
        async with pool() as session:
            await start.wait()
            await rsvp.answer(
                session,
                meeting_id=meeting_id,
                member_id=member_id,
                consented=True,
                answer=answer,
                # A millisecond apart, as utcnow() in each handler would be.
                now=now + timedelta(milliseconds=nth),
            )
            await session.commit()

    tasks = [
        asyncio.create_task(press(member_id, answer, nth))
        for nth, (member_id, answer) in enumerate(presses)
    ]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*tasks)


async def _state(pool: SessionPool, meeting_id: int) -> tuple[list[int], list[int]]:
    """Confirmed members, and the waiting ones in the waiting list's order."""
    async with pool() as session:
        rows = list(
            await session.scalars(
                select(Attendance)
                .where(Attendance.meeting_id == meeting_id, Attendance.answer == RsvpAnswer.YES)
                .order_by(Attendance.queued_at, Attendance.member_id)
            )
        )
        positions = [await rsvp.waiting_position(session, row) for row in rows if row.waitlisted]
    assert positions == list(range(1, len(positions) + 1))
    return (
        [row.member_id for row in rows if not row.waitlisted],
        [row.member_id for row in rows if row.waitlisted],
    )


async def test_simultaneous_yes_presses_never_overbook(
    session_pool: SessionPool, engine: AsyncEngine
) -> None:
    meeting_id = await _setup(session_pool, MEMBERS + 10)
    pool, wide = _pool_for(engine, session_pool)
    try:
        everyone = list(range(1, MEMBERS + 1))
        await _press_all(pool, meeting_id, [(m, RsvpAnswer.YES) for m in everyone], NOW)
        confirmed, waiting = await _state(session_pool, meeting_id)
        assert len(confirmed) == CAPACITY
        assert len(waiting) == MEMBERS - CAPACITY
        assert sorted(confirmed + waiting) == everyone

        # Five confirmed say no while ten newcomers say yes, all at once: the first five in
        # line move up, the newcomers queue behind everyone who waited before.
        leaving = confirmed[:5]
        newcomers = list(range(MEMBERS + 1, MEMBERS + 11))
        presses = [(m, RsvpAnswer.NO) for m in leaving] + [(m, RsvpAnswer.YES) for m in newcomers]
        await _press_all(pool, meeting_id, presses, NOW + timedelta(minutes=1))
        after, still_waiting = await _state(session_pool, meeting_id)
        assert len(after) == CAPACITY
        assert set(after) == (set(confirmed) - set(leaving)) | set(waiting[:5])
        assert still_waiting[: len(waiting) - 5] == waiting[5:]
        assert sorted(still_waiting[len(waiting) - 5 :]) == newcomers
        async with session_pool() as session:
            told = list(
                await session.scalars(
                    select(Delivery.recipient_id).where(
                        Delivery.kind == meeting_notices.RSVP_PROMOTED
                    )
                )
            )
        assert sorted(told) == sorted(waiting[:5])
    finally:
        if wide is not None:
            await wide.dispose()
