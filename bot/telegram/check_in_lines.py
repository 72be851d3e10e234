"""What a check-in lists as "near you now": a pluggable list of line sources.

Each source is an async function (session, member, now, zone) -> suggestions, asked in order
when the check-in is rendered (at sending time, in the member's language); a source with
nothing to say returns none. A suggestion is a line and, where the line leads somewhere the
check-in's own buttons don't (an open survey), a button of its own. Adding a kind of line is
adding a source to LINE_SOURCES; the check-in needs no other change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import reengagement, surveys
from bot.telegram.views import reengagement as views
from bot.telegram.views import surveys as survey_views
from models import Member


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One line of the check-in, with the button that goes with it, if any."""

    line: str
    button: InlineKeyboardButton | None = None


LineSource = Callable[[AsyncSession, Member, datetime, ZoneInfo], Awaitable[list[Suggestion]]]


async def group_near(
    session: AsyncSession, member: Member, now: datetime, zone: ZoneInfo
) -> list[Suggestion]:
    """A group in the member's Stadtteil or a neighbouring one."""
    del now, zone
    group = await reengagement.nearby_group(session, member)
    return [] if group is None else [Suggestion(views.group_line(group))]


async def next_action(
    session: AsyncSession, member: Member, now: datetime, zone: ZoneInfo
) -> list[Suggestion]:
    """The next field action date, the nearest first."""
    row = await reengagement.next_action(session, member, now=now)
    return [] if row is None else [Suggestion(views.action_line(row, zone))]


async def open_survey(
    session: AsyncSession, member: Member, now: datetime, zone: ZoneInfo
) -> list[Suggestion]:
    """The open survey the member may still answer that ends soonest, with "Take part" (its
    invitation may be long scrolled away, or was held back by a pause)."""
    found = await surveys.open_surveys_for(session, member.id, now)
    if not found:
        return []
    survey = found[0]
    return [Suggestion(views.survey_line(survey, zone), survey_views.take_part_button(survey))]


LINE_SOURCES: list[LineSource] = [group_near, next_action, open_survey]


async def suggestions_for(
    session: AsyncSession, member: Member, now: datetime, zone: ZoneInfo
) -> list[Suggestion]:
    """Every source's suggestions, in order."""
    found: list[Suggestion] = []
    for source in LINE_SOURCES:
        found += await source(session, member, now, zone)
    return found
