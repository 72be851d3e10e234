"""Members who went through /start and the intake, written straight to the database.

For tests about what comes after onboarding (broadcasts, meetings); onboarding itself is tested
through the dispatcher in tests/handlers/test_onboarding.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db.session import SessionPool
from bot.services import schedule
from models import (
    ActivityType,
    Category,
    District,
    Group,
    GroupMembership,
    Member,
    MemberRole,
    OptOut,
    Profile,
    Role,
    Topic,
)
from models.base import utcnow
from tests.fakebotapi import FakeUser


async def signed_up(
    session_pool: SessionPool,
    user: FakeUser,
    *,
    district: str | None = None,
    topics: Iterable[str] = (),
    activities: Iterable[str] = (),
    group: str | None = None,
    reachable: bool = True,
    opted_out: Iterable[Category] = (),
    role: Role | None = None,
) -> None:
    """Store `user` as a member who agreed and answered the intake."""
    async with session_pool() as session:
        district_id = None
        if district:
            district_id = await session.scalar(select(District.id).where(District.name == district))
        topic_rows = list(await session.scalars(select(Topic).where(Topic.name.in_(list(topics)))))
        activity_rows = list(
            await session.scalars(
                select(ActivityType).where(ActivityType.name.in_(list(activities)))
            )
        )
        member = Member(id=user.id, first_name=user.first_name, reachable=reachable)
        member.profile = Profile(
            member_id=user.id,
            district_id=district_id,
            topics=topic_rows,
            activity_types=activity_rows,
            intake_completed_at=utcnow(),
        )
        if role is not None:
            member.roles = [MemberRole(role=role)]
        session.add(member)
        await session.flush()
        if group:
            group_id = await session.scalar(select(Group.id).where(Group.name == group))
            session.add(GroupMembership(group_id=group_id, member_id=user.id))
        session.add_all(OptOut(member_id=user.id, category=category) for category in opted_out)
        await session.commit()


async def meetings_ahead(session_pool: SessionPool, now: datetime | None = None) -> None:
    """Make the groups' meetings up to the horizon, as the "meetings-horizon" job does."""
    async with session_pool() as session:
        await schedule.extend_horizon(session, now=now or utcnow(), zone=ZoneInfo("Europe/Berlin"))
        await session.commit()
