"""Hosts and their groups: who may manage which group, the host's panel, notices, handovers.

A group's hosts are named in the KV setup (GroupHost: a Telegram id or an @username); organisers
and admins may manage every group. Every host action asks `can_manage` (through `managed_group`
or `managed_meeting`) on the server side, so a button of another group or a forged id reaches
nothing. Handing a group to someone else is a request an organiser confirms.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory, roles, rsvp, schedule
from bot.services.errors import DomainError
from bot.services.rsvp import Counts
from bot.services.schedule import ScheduleError
from models import (
    Group,
    GroupHost,
    GroupMembership,
    HandoverStatus,
    HostHandover,
    HostNotice,
    HostPreference,
    Meeting,
    Member,
    Profile,
    Role,
    ServedChat,
)
from models.base import valid_id

# Roles that may manage every group.
MANAGER_ROLES = frozenset({Role.ORGANISER, Role.ADMIN})
# How many of a group's members are offered as buttons when handing it over.
MAX_CANDIDATES = 24
_USERNAME = re.compile(r"@?([A-Za-z0-9_]{4,32})")


class HostError(DomainError):
    """A host action that is refused. `reason`: "not_host" (not a host of this group nor an
    organiser), "unknown" (no such group or meeting: gone or forged), "unknown_member" (no
    member the bot knows by that name, or one who hasn't agreed in /start), "self", "already_host",
    "not_organiser", "handover_done" (decided already, or unknown), and the ScheduleError reasons
    when a schedule change is refused ("past", "exists", "cancelled", ...)."""


@dataclass(frozen=True, slots=True)
class GroupMeeting:
    """A meeting in a host's group view: the meeting and its answers so far."""

    meeting: Meeting
    counts: Counts


@dataclass(frozen=True, slots=True)
class Handover:
    """A decided handover: the row, the group, the old and new host, and role changes."""

    handover: HostHandover
    group: Group
    old: Member | None
    new: Member
    old_lost_role: bool
    new_got_role: bool


def is_manager(member_roles: Collection[Role]) -> bool:
    """Whether these roles may manage every group (organisers and admins)."""
    return any(role in MANAGER_ROLES for role in member_roles)


def _host_condition(member_id: int, username: str | None) -> object:
    condition = GroupHost.telegram_id == member_id
    if username:
        condition = or_(condition, GroupHost.username == username.lower())
    return condition


async def hosted_group_ids(session: AsyncSession, member_id: int, username: str | None) -> set[int]:
    """Ids of the active groups the member hosts (named by id or by @username)."""
    rows = await session.scalars(
        select(GroupHost.group_id)
        .join(Group, Group.id == GroupHost.group_id)
        .where(Group.active.is_(True), _host_condition(member_id, username))  # type: ignore[arg-type]
    )
    return set(rows)


async def can_manage(
    session: AsyncSession, *, member_id: int, member_roles: Collection[Role], group: Group
) -> bool:
    """Whether the member may manage `group`: one of its hosts, or an organiser or admin."""
    if not group.active:
        return False
    if is_manager(member_roles):
        return True
    return member_id in await directory.host_ids(session, group)


async def managed_groups(
    session: AsyncSession, member: Member, member_roles: Collection[Role]
) -> list[Group]:
    """The groups the member may manage, in file order: every active one for organisers, the
    member's own for hosts, none for anyone else."""
    groups = await directory.active_groups(session)
    if is_manager(member_roles):
        return groups
    own = await hosted_group_ids(session, member.id, member.username)
    return [group for group in groups if group.id in own]


async def managed_group(
    session: AsyncSession, member: Member, member_roles: Collection[Role], group_id: int
) -> Group:
    """The group, when the member may manage it; HostError("unknown") for an unknown, dropped
    or forged id, HostError("not_host") for someone else's group."""
    group = await session.get(Group, group_id) if valid_id(group_id) else None
    if group is None or not group.active:
        raise HostError("unknown")
    if not await can_manage(session, member_id=member.id, member_roles=member_roles, group=group):
        raise HostError("not_host")
    return group


async def managed_meeting(
    session: AsyncSession, member: Member, member_roles: Collection[Role], meeting_id: int
) -> Meeting:
    """The meeting, when the member may manage its group (see `managed_group`)."""
    try:
        meeting = await schedule.get_meeting(session, meeting_id)
    except ScheduleError as error:
        raise HostError("unknown") from error
    allowed = await can_manage(
        session, member_id=member.id, member_roles=member_roles, group=meeting.group
    )
    if not allowed:
        raise HostError("not_host")
    return meeting


async def group_meetings(
    session: AsyncSession, group: Group, *, now: datetime, limit: int = 6
) -> list[GroupMeeting]:
    """The group's next meetings (cancelled ones too, shown as such) with their answers."""
    meetings = await schedule.upcoming(
        session, now=now, until=now + schedule.MAX_AHEAD, group_ids=[group.id], limit=limit
    )
    counts = await rsvp.counts(session, meetings)
    return [GroupMeeting(meeting, counts[meeting.id]) for meeting in meetings]


async def has_chat(session: AsyncSession, group_id: int) -> bool:
    """Whether the bot serves a Telegram chat of this group (a meeting can be posted there)."""
    return bool(await session.scalar(select(exists().where(ServedChat.group_id == group_id))))


# --- how a host hears of answers ------------------------------------------------------------


async def notice_for(session: AsyncSession, member_id: int) -> HostNotice:
    """How the host wants to hear of answers to their meetings (a daily summary by default)."""
    preference = await session.get(HostPreference, member_id)
    return preference.notice if preference is not None else HostNotice.DAILY


async def set_notice(session: AsyncSession, member_id: int, notice: HostNotice) -> bool:
    """Store how the host hears of answers; returns whether it changed. The caller commits."""
    preference = await session.get(HostPreference, member_id)
    if preference is None:
        session.add(HostPreference(member_id=member_id, notice=notice))
        return True
    if preference.notice == notice:
        return False
    preference.notice = notice
    return True


# --- handing a group to another host --------------------------------------------------------


async def find_member(session: AsyncSession, text: str) -> Member:
    """A member the bot knows by @username who agreed in /start; HostError("unknown_member")."""
    match = _USERNAME.fullmatch(text.strip())
    if match is None:
        raise HostError("unknown_member")
    member = await session.scalar(
        select(Member)
        .join(Profile, Profile.member_id == Member.id)
        .where(Member.username == match.group(1).lower())
    )
    if member is None:
        raise HostError("unknown_member")
    return member


async def candidates(session: AsyncSession, group: Group) -> list[Member]:
    """The group's members who could take it over: joined, agreed, not hosting it already."""
    hosts = await directory.host_ids(session, group)
    rows = await session.scalars(
        select(Member)
        .join(GroupMembership, GroupMembership.member_id == Member.id)
        .join(Profile, Profile.member_id == Member.id)
        .where(GroupMembership.group_id == group.id, Member.id.not_in(hosts or [0]))
        .order_by(Member.first_name, Member.id)
        .limit(MAX_CANDIDATES)
    )
    return list(rows.unique())


async def request_handover(
    session: AsyncSession, group: Group, *, from_member: Member, to_member_id: int, now: datetime
) -> tuple[HostHandover, Member]:
    """Ask the organisers to make `to_member_id` host of `group` in place of `from_member`.

    The member must be known and have agreed in /start, and not host the group already. An
    earlier open request for the group is superseded. The caller commits.
    """
    new = await session.get(Member, to_member_id) if valid_id(to_member_id) else None
    if new is None or not new.consented:
        raise HostError("unknown_member")
    if new.id == from_member.id:
        raise HostError("self")
    if new.id in await directory.host_ids(session, group):
        raise HostError("already_host")
    for earlier in await session.scalars(
        select(HostHandover).where(
            HostHandover.group_id == group.id, HostHandover.status == HandoverStatus.PENDING
        )
    ):
        earlier.status = HandoverStatus.DECLINED
        earlier.decided_by = from_member.id
        earlier.decided_at = now
    handover = HostHandover(
        group_id=group.id,
        from_member_id=from_member.id,
        to_member_id=new.id,
        status=HandoverStatus.PENDING,
        created_at=now,
    )
    session.add(handover)
    await session.flush()
    return handover, new


async def pending_handover(session: AsyncSession, handover_id: int) -> HostHandover:
    """An open handover; HostError("handover_done") when decided already, unknown or forged."""
    handover = await session.get(HostHandover, handover_id) if valid_id(handover_id) else None
    if handover is None or handover.status != HandoverStatus.PENDING:
        raise HostError("handover_done")
    return handover


async def decide_handover(
    session: AsyncSession,
    handover_id: int,
    *,
    approve: bool,
    by: int,
    by_roles: Collection[Role],
    now: datetime,
) -> Handover:
    """An organiser confirms or declines a handover; only organisers and admins may.

    Confirmed: the old host is no longer named for the group, the new one is (by id), the new
    one holds the host role, and the old one loses it when they host no other group. The caller
    commits.
    """
    if not is_manager(by_roles):
        raise HostError("not_organiser")
    handover = await pending_handover(session, handover_id)
    group = await session.get(Group, handover.group_id)
    new = await session.get(Member, handover.to_member_id)
    old = await session.get(Member, handover.from_member_id)
    if group is None or not group.active or new is None:
        raise HostError("handover_done")
    handover.decided_by = by
    handover.decided_at = now
    if not approve:
        handover.status = HandoverStatus.DECLINED
        return Handover(handover, group, old, new, old_lost_role=False, new_got_role=False)
    handover.status = HandoverStatus.DONE
    if old is not None:
        for host in list(group.hosts):
            if host.telegram_id == old.id or (
                old.username and host.username and host.username == old.username.lower()
            ):
                group.hosts.remove(host)
    if new.id not in await directory.host_ids(session, group):
        group.hosts.append(GroupHost(telegram_id=new.id))
    await session.flush()
    new_got_role = await roles.grant_role(session, new, Role.HOST, granted_by=by, now=now)
    old_lost_role = False
    if old is not None and not await hosted_group_ids(session, old.id, old.username):
        old_lost_role = await roles.revoke_role(
            session, old, Role.HOST, revoked_by=by, admin_ids=()
        )
    return Handover(handover, group, old, new, old_lost_role, new_got_role)
