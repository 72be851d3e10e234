"""Quiet members for the re-engagement tests, written straight to the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models import Category, Member, OptOut, Profile

LONG_AGO = timedelta(days=400)


async def add_member(
    session: AsyncSession,
    member_id: int,
    *,
    now: datetime,
    seen: timedelta = LONG_AGO,
    consented: timedelta | None = LONG_AGO,
    frequency: str | None = None,
    district_id: int | None = None,
    departed: bool = False,
    reachable: bool = True,
    paused_until: datetime | None = None,
    opted_out: bool = False,
    name: str = "Quiet",
    language: str | None = None,
) -> int:
    """A member last seen `seen` before `now` who agreed `consented` before it (None: never)."""
    member = Member(
        id=member_id,
        first_name=f"{name} {member_id}",
        created_at=now - LONG_AGO,
        last_seen_at=now - seen,
        reachable=reachable,
        departed_at=now if departed else None,
        paused_until=paused_until,
        telegram_language=language,
    )
    if consented is not None:
        member.profile = Profile(
            member_id=member_id,
            consent_at=now - consented,
            district_id=district_id,
            contact_frequency=frequency,
            intake_completed_at=now - consented,
        )
    session.add(member)
    await session.flush()
    if opted_out:
        session.add(OptOut(member_id=member_id, category=Category.CHECK_INS))
        await session.flush()
    return member_id
