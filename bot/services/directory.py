"""Reading the KV's setup for members: groups, guide, hosts, suggestions, newcomers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from bot.services.kv_setup import PROFILE_ID
from bot.services.matching import GroupFacts, MemberNeeds, Reasons, Suggestion, rank_groups
from bot.services.profile import joined_group_ids
from bot.services.recurrence import Rule, RuleError, occurrences, parse_rule
from models import (
    ActivityType,
    District,
    Group,
    GroupMembership,
    GuideSection,
    KvProfile,
    Member,
    MemberRole,
    Profile,
    Role,
    Topic,
)


class GroupError(DomainError):
    """A group or page a button named is not there (dropped from the setup, or forged)."""


@dataclass(frozen=True, slots=True)
class ListedGroup:
    """A group as a list shows it: when it meets next (aware UTC), and why it was suggested."""

    group: Group
    next_meeting: datetime | None
    reasons: Reasons | None = None


@dataclass(frozen=True, slots=True)
class SuggestionPage:
    """One page of suggestions; `remaining` is how many more come after it."""

    groups: list[ListedGroup]
    page: int
    remaining: int


async def kv_name(session: AsyncSession, fallback: str) -> str:
    """The KV's name from the imported setup, else the KV_NAME setting."""
    profile = await session.get(KvProfile, PROFILE_ID)
    return profile.name if profile is not None else fallback


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
    """An active group by id; None for unknown or dropped ones."""
    group = await session.get(Group, group_id)
    return group if group is not None and group.active else None


async def require_active_group(session: AsyncSession, group_id: int) -> Group:
    """An active group by id; GroupError("unknown_group") for unknown or dropped ones."""
    group = await active_group(session, group_id)
    if group is None:
        raise GroupError("unknown_group")
    return group


async def listing(session: AsyncSession, *, now: datetime, zone: ZoneInfo) -> list[ListedGroup]:
    """Every active group in file order with its next meeting, for the directory."""
    return [
        ListedGroup(group, _first(next_meetings(group, now=now, zone=zone)))
        for group in await active_groups(session)
    ]


def _first(moments: list[datetime]) -> datetime | None:
    return moments[0] if moments else None


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


def next_meetings(group: Group, *, now: datetime, zone: ZoneInfo, count: int = 1) -> list[datetime]:
    """The group's next meetings after now, from its rule (aware UTC)."""
    rule = meeting_rule(group)
    return occurrences(rule, after=now, zone=zone, count=count) if rule else []


async def host_ids(session: AsyncSession, group: Group) -> list[int]:
    """Telegram ids of the group's hosts: given ids, and usernames of members the bot knows."""
    ids = [host.telegram_id for host in group.hosts if host.telegram_id is not None]
    names = [host.username for host in group.hosts if host.username]
    if names:
        ids += list(await session.scalars(select(Member.id).where(Member.username.in_(names))))
    return list(dict.fromkeys(ids))


async def last_activity(session: AsyncSession) -> dict[int, datetime]:
    """When each group last gained a member, as a sign of life for matching."""
    latest = func.max(GroupMembership.joined_at).label("latest")
    rows = await session.execute(
        select(GroupMembership.group_id, latest).group_by(GroupMembership.group_id)
    )
    return {row.group_id: row.latest for row in rows}


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
    shown = [
        ListedGroup(
            by_id[suggestion.group_id],
            _first(next_meetings(by_id[suggestion.group_id], now=now, zone=zone)),
            suggestion.reasons,
        )
        for suggestion in ranked[start : start + size]
    ]
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


async def newcomers_without_group(
    session: AsyncSession, *, now: datetime, older_than: timedelta
) -> list[Member]:
    """Consenting members who came at least `older_than` ago and joined no group yet."""
    rows = await session.scalars(
        select(Member)
        .join(Profile, Profile.member_id == Member.id)
        .where(
            Member.created_at <= now - older_than,
            ~exists().where(GroupMembership.member_id == Member.id),
        )
        .order_by(Member.created_at, Member.id)
    )
    return list(rows.unique())


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


async def members_with_groups(session: AsyncSession, member_ids: Collection[int]) -> set[int]:
    """Which of these members joined at least one group."""
    if not member_ids:
        return set()
    rows = await session.scalars(
        select(GroupMembership.member_id).where(GroupMembership.member_id.in_(member_ids))
    )
    return set(rows)
