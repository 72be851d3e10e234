"""What a check-in lists as "near you now": a pluggable list of line sources.

Each source is an async function (session, member, now, zone) -> lines, asked in order when
the check-in is rendered (at sending time, in the member's language); a source with nothing
to say returns no lines. Adding a kind of line (say an open survey) is adding a source to
LINE_SOURCES; the check-in needs no other change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import reengagement
from bot.telegram.views import reengagement as views
from models import Member

LineSource = Callable[[AsyncSession, Member, datetime, ZoneInfo], Awaitable[list[str]]]


async def group_near(
    session: AsyncSession, member: Member, now: datetime, zone: ZoneInfo
) -> list[str]:
    """A group in the member's Stadtteil or a neighbouring one."""
    del now, zone
    group = await reengagement.nearby_group(session, member)
    return [] if group is None else [views.group_line(group)]


async def next_action(
    session: AsyncSession, member: Member, now: datetime, zone: ZoneInfo
) -> list[str]:
    """The next field action date, the nearest first."""
    row = await reengagement.next_action(session, member, now=now)
    return [] if row is None else [views.action_line(row, zone)]


LINE_SOURCES: list[LineSource] = [group_near, next_action]


async def lines_for(
    session: AsyncSession, member: Member, now: datetime, zone: ZoneInfo
) -> list[str]:
    """Every source's lines, in order."""
    lines: list[str] = []
    for source in LINE_SOURCES:
        lines += await source(session, member, now, zone)
    return lines
