"""Reading the KV's setup for members: groups, guide, hosts, suggestions, newcomers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import schedule
from bot.services.errors import DomainError
from bot.services.kv_name import kv_name as cached_kv_name
from bot.services.kv_setup import PROFILE_ID
from bot.services.matching import GroupFacts, MemberNeeds, Reasons, Suggestion, rank_groups
from bot.services.members import load_answers
from bot.services.profile import joined_group_ids
from bot.services.recurrence import Rule, RuleError, parse_rule
from models import (
    ActivityType,
    District,
    Group,
    GroupMembership,
    GroupType,
    GuideSection,
    KvProfile,
    Meeting,
    Member,
    MemberRole,
    Role,
    ServedChat,
    Topic,
)
from models.base import valid_id

# The kinds of group in the order the browse buttons list them (buttons carry the index).
GROUP_TYPES: tuple[GroupType, ...] = tuple(GroupType)
# How many dates a list looks at per group: enough to show cancelled ones before the next.
LISTED_DATES = 3


class GroupError(DomainError):
    """A group or page a button named is not there (dropped from the setup, or forged)."""


@dataclass(frozen=True, slots=True)
class ListedGroup:
    """A group as a list shows it: its next dates (meeting rows, soonest first, up to and
    including the next that takes place; cancelled ones before it stay, shown as cancelled),
    and why it was suggested."""

    group: Group
    dates: tuple[Meeting, ...] = ()
    reasons: Reasons | None = None

    @property
    def next_meeting(self) -> Meeting | None:
        """The next meeting that takes place, if one is planned."""
        return next((meeting for meeting in self.dates if not meeting.cancelled), None)


@dataclass(frozen=True, slots=True)
class GroupPage:
    """One page of a list of groups; `pages` is how many there are (at least 1)."""

    groups: list[ListedGroup]
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class SuggestionPage:
    """One page of suggestions; `remaining` is how many more come after it."""

    groups: list[ListedGroup]
    page: int
    remaining: int


async def kv_name(session: AsyncSession, fallback: str) -> str:
    """The KV's name from the imported setup, else the KV_NAME setting (cached, see
    bot.services.kv_name)."""
    return await cached_kv_name(session, fallback)


async def privacy_contact(session: AsyncSession) -> str | None:
    """Who to ask about privacy, from the imported setup."""
    profile = await session.get(KvProfile, PROFILE_ID)
    return profile.privacy_contact if profile is not None else None


async def topics(session: AsyncSession) -> list[Topic]:
    """All topics in file order."""
    return list(await session.scalars(select(Topic).order_by(Topic.position, Topic.id)))


async def districts(session: AsyncSession) -> list[District]:
    """All Stadtteile in file order."""
    return list(await session.scalars(select(District).order_by(District.position, District.id)))


async def activity_types(session: AsyncSession) -> list[ActivityType]:
    """All activity types in file order."""
    return list(
        await session.scalars(select(ActivityType).order_by(ActivityType.position, ActivityType.id))
    )


async def active_groups(session: AsyncSession) -> list[Group]:
    """Every active group in file order."""
    rows = await session.scalars(
        select(Group).where(Group.active.is_(True)).order_by(Group.position, Group.id)
    )
    return list(rows.unique())


async def active_group(session: AsyncSession, group_id: int) -> Group | None:
    """An active group by id; None for unknown, dropped or forged (out of range) ones."""
    if not valid_id(group_id):
        return None
    group = await session.get(Group, group_id)
    return group if group is not None and group.active else None


async def require_active_group(session: AsyncSession, group_id: int) -> Group:
    """An active group by id; GroupError("unknown_group") for unknown or dropped ones."""
    group = await active_group(session, group_id)
    if group is None:
        raise GroupError("unknown_group")
    return group


async def upcoming_dates(
    session: AsyncSession, group_ids: Collection[int], *, now: datetime, count: int = LISTED_DATES
) -> dict[int, list[Meeting]]:
    """Each group's next `count` meeting rows after now (cancelled ones included), by group."""
    found: dict[int, list[Meeting]] = {group_id: [] for group_id in group_ids}
    if not found:
        return found
    meetings = await schedule.upcoming(
        session, now=now, until=now + schedule.MAX_AHEAD, group_ids=list(found)
    )
    for meeting in meetings:
        dates = found[meeting.group_id]
        if len(dates) < count:
            dates.append(meeting)
    return found


def _until_next(dates: list[Meeting]) -> tuple[Meeting, ...]:
    """The dates up to and including the first that takes place."""
    for index, meeting in enumerate(dates):
        if not meeting.cancelled:
            return tuple(dates[: index + 1])
    return tuple(dates)


async def listed(
    session: AsyncSession,
    groups: Sequence[Group],
    *,
    now: datetime,
    reasons: Sequence[Reasons | None] | None = None,
) -> list[ListedGroup]:
    """These groups with their next dates (and the reasons they were suggested, in order)."""
    dates = await upcoming_dates(session, [group.id for group in groups], now=now)
    why = list(reasons) if reasons is not None else [None] * len(groups)
    return [
        ListedGroup(group, _until_next(dates[group.id]), because)
        for group, because in zip(groups, why, strict=True)
    ]


def _page_bounds(total: int, page: int, size: int) -> int:
    """How many pages `total` items make; GroupError("unknown_page") for a page not among them."""
    pages = max(1, -(-total // size))
    if not 0 <= page < pages:
        raise GroupError("unknown_page")
    return pages


async def listing(
    session: AsyncSession, *, now: datetime, page: int = 0, size: int = 1000
) -> GroupPage:
    """Page `page` (from 0) of every active group in file order, with their next dates."""
    groups = await active_groups(session)
    pages = _page_bounds(len(groups), page, size)
    shown = groups[page * size : (page + 1) * size]
    return GroupPage(await listed(session, shown, now=now), page, pages)


BrowseKind = Literal["type", "district", "topic"]


async def browse(
    session: AsyncSession,
    kind: BrowseKind,
    value: int,
    *,
    now: datetime,
    page: int,
    size: int,
) -> GroupPage:
    """Page `page` of the active groups of one kind (`value`: index into GROUP_TYPES), in one
    Stadtteil (`value`: its id; 0: groups for the whole KV) or on one topic (its id).

    A value that names nothing (a forged or stale button) is GroupError("unknown_filter").
    """
    groups = await active_groups(session)
    if kind == "type":
        if not 0 <= value < len(GROUP_TYPES):
            raise GroupError("unknown_filter")
        chosen = [group for group in groups if group.type == GROUP_TYPES[value]]
    elif kind == "district":
        if value and not (valid_id(value) and await session.get(District, value)):
            raise GroupError("unknown_filter")
        chosen = [group for group in groups if (group.district_id or 0) == value]
    else:
        if not (valid_id(value) and await session.get(Topic, value)):
            raise GroupError("unknown_filter")
        chosen = [group for group in groups if any(topic.id == value for topic in group.topics)]
    pages = _page_bounds(len(chosen), page, size)
    shown = chosen[page * size : (page + 1) * size]
    return GroupPage(await listed(session, shown, now=now), page, pages)


async def chat_link(session: AsyncSession, group_id: int) -> str | None:
    """The invite link of the Telegram chat the KV setup maps to the group, if it has one."""
    link = await session.scalar(
        select(ServedChat.invite_link)
        .where(ServedChat.group_id == group_id, ServedChat.invite_link.is_not(None))
        .order_by(ServedChat.chat_id)
        .limit(1)
    )
    return link or None


async def guide_sections(session: AsyncSession) -> list[GuideSection]:
    """The guide's sections in order."""
    return list(
        await session.scalars(select(GuideSection).order_by(GuideSection.position, GuideSection.id))
    )


def meeting_rule(group: Group) -> Rule | None:
    """The group's parsed rule; a rule that no longer parses counts as none."""
    if not group.rule:
        return None
    try:
        return parse_rule(group.rule)
    except RuleError:
        return None


async def host_ids(session: AsyncSession, group: Group) -> list[int]:
    """Telegram ids of the group's hosts: given ids, and usernames of members the bot knows."""
    ids = [host.telegram_id for host in group.hosts if host.telegram_id is not None]
    names = [host.username for host in group.hosts if host.username]
    if names:
        ids += list(await session.scalars(select(Member.id).where(Member.username.in_(names))))
    return list(dict.fromkeys(ids))


async def last_activity(session: AsyncSession) -> dict[int, datetime]:
    """When each group last gained a member, as a sign of life for matching."""
    # Per group a MAX the index (group_id, joined_at) answers at once; a GROUP BY over all
    # memberships read every row (34 ms at 30,000 memberships, on each matching).
    latest = (
        select(func.max(GroupMembership.joined_at))
        .where(GroupMembership.group_id == Group.id)
        .scalar_subquery()
    )
    rows = await session.execute(select(Group.id, latest.label("latest")))
    return {row.id: row.latest for row in rows if row.latest is not None}


async def suggestion_page(
    session: AsyncSession,
    member: Member,
    *,
    now: datetime,
    zone: ZoneInfo,
    page: int,
    size: int,
) -> SuggestionPage:
    """Page `page` (from 0) of the groups ranked for `member`, `size` at a time.

    No suggestions at all is an empty first page; a page past the end (an old or forged
    button) is GroupError("unknown_page").
    """
    groups = await active_groups(session)
    ranked = await _rank(session, member, groups, now=now, zone=zone)
    start = page * size
    if page < 0 or (page > 0 and start >= len(ranked)):
        raise GroupError("unknown_page")
    by_id = {group.id: group for group in groups}
    chosen = ranked[start : start + size]
    shown = await listed(
        session,
        [by_id[suggestion.group_id] for suggestion in chosen],
        now=now,
        reasons=[suggestion.reasons for suggestion in chosen],
    )
    return SuggestionPage(shown, page, max(len(ranked) - start - size, 0))


async def _rank(
    session: AsyncSession,
    member: Member,
    groups: list[Group],
    *,
    now: datetime,
    zone: ZoneInfo,
) -> list[Suggestion]:
    profile = member.profile
    if profile is not None:
        await load_answers(session, profile)
    joined = await joined_group_ids(session, member.id)
    needs = MemberNeeds(
        district_id=profile.district_id if profile else None,
        topic_ids=frozenset(topic.id for topic in profile.topics) if profile else frozenset(),
        free_time=frozenset(profile.free_time) if profile else frozenset(),
        joined_group_ids=joined,
    )
    activity = await last_activity(session)
    facts = [
        GroupFacts(
            id=group.id,
            name=group.name,
            type=group.type.value,
            district_id=group.district_id,
            topic_ids=frozenset(topic.id for topic in group.topics),
            rule=group.rule,
            newcomer_friendly=group.newcomer_friendly,
            active=group.active,
            last_activity_at=activity.get(group.id),
            position=group.position,
        )
        for group in groups
    ]
    return rank_groups(needs, facts, now=now, zone=zone)


async def organiser_ids(session: AsyncSession, admin_ids: Collection[int]) -> list[int]:
    """Who looks after newcomers: the organisers, or the admins when there are none."""
    organisers = list(
        await session.scalars(
            select(MemberRole.member_id)
            .where(MemberRole.role == Role.ORGANISER)
            .order_by(MemberRole.member_id)
        )
    )
    if organisers:
        return organisers
    admins = set(admin_ids) | set(
        await session.scalars(select(MemberRole.member_id).where(MemberRole.role == Role.ADMIN))
    )
    return sorted(admins)


async def member_groups(session: AsyncSession, member_id: int) -> list[Group]:
    """The groups a member joined, in file order."""
    rows = await session.scalars(
        select(Group)
        .join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(GroupMembership.member_id == member_id)
        .order_by(Group.position, Group.id)
    )
    return list(rows.unique())
