"""A member proposes a new Stammtisch; an organiser approves it (it becomes a group with the
proposer as its host) or declines it.

The first decision counts: a second press, or a second organiser, finds it decided and learns
by whom. A member's own words (name, place, rhythm) are checked here, so nothing half-valid is
stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import schedule
from bot.services.errors import DomainError
from bot.services.kv_setup.schema import derive_key
from bot.services.recurrence import Rule, parse_rule, to_rrule
from bot.services.roles import grant_role
from models import (
    District,
    Group,
    GroupHost,
    GroupMembership,
    GroupProposal,
    GroupType,
    Member,
    ProposalStatus,
    Role,
)
from models.base import valid_id
from models.kv import KEY_LENGTH, NAME_LENGTH
from models.meeting import PLACE_LENGTH

MIN_NAME_LENGTH = 3
# Keys are unique; a second "Stammtisch Mitte" becomes "stammtisch-mitte-2".
FALLBACK_KEY = "stammtisch"


class ProposalError(DomainError):
    """A proposal that can't be stored or decided. `reason`: "name" (too short or too long),
    "place" (too long), "district" (unknown), "unknown" (no such proposal, or a forged id)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What pressing approve or decline did.

    `decided` False: it had been decided before (by `proposal.decided_by`), nothing changed.
    `group` is the new group after an approval.
    """

    proposal: GroupProposal
    decided: bool
    group: Group | None = None


def check_name(text: str) -> str:
    """The group's name, trimmed; ProposalError("name") when too short or too long."""
    name = " ".join(text.split())
    if not MIN_NAME_LENGTH <= len(name) <= NAME_LENGTH:
        raise ProposalError("name")
    return name


def check_place(text: str) -> str:
    """Where it meets, trimmed; ProposalError("place") when empty or too long."""
    place = " ".join(text.split())
    if not place or len(place) > PLACE_LENGTH:
        raise ProposalError("place")
    return place


def check_rhythm(text: str) -> tuple[str, Rule]:
    """The rhythm as the member wrote it (trimmed) and its rule; RuleError says what's wrong."""
    phrase = " ".join(text.split())
    return phrase, parse_rule(phrase)


async def propose(
    session: AsyncSession,
    *,
    proposer_id: int,
    name: str,
    district_id: int | None,
    place: str | None,
    rule: str | None,
    now: datetime,
) -> GroupProposal:
    """Store a pending proposal (the values checked again); the caller commits."""
    name = check_name(name)
    if place is not None:
        place = check_place(place)
    if rule is not None:
        rule = check_rhythm(rule)[0]
    if district_id is not None and (
        not valid_id(district_id) or await session.get(District, district_id) is None
    ):
        raise ProposalError("district")
    proposal = GroupProposal(
        proposer_id=proposer_id,
        name=name,
        district_id=district_id,
        place=place,
        rule=rule,
        status=ProposalStatus.PENDING,
        created_at=now,
    )
    session.add(proposal)
    await session.flush()
    return proposal


async def get_proposal(session: AsyncSession, proposal_id: int) -> GroupProposal:
    """A proposal by id; ProposalError("unknown") otherwise (also for forged ids)."""
    if not valid_id(proposal_id):
        raise ProposalError("unknown")
    proposal = await session.get(GroupProposal, proposal_id)
    if proposal is None:
        raise ProposalError("unknown")
    return proposal


async def unique_key(session: AsyncSession, name: str) -> str:
    """A group key derived from the name that no group (active or not) has yet."""
    base = derive_key(name) or FALLBACK_KEY
    taken = set(
        await session.scalars(
            select(Group.key).where((Group.key == base) | Group.key.like(f"{base}-%"))
        )
    )
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        key = base[: KEY_LENGTH - len(suffix)].rstrip("-") + suffix
        if key not in taken:
            return key
        number += 1


async def decide(
    session: AsyncSession,
    proposal_id: int,
    *,
    approve: bool,
    decided_by: int,
    now: datetime,
    zone: ZoneInfo,
) -> Decision:
    """Approve or decline a pending proposal; the first decision counts. The caller commits.

    Approving creates an active Stammtisch (key from the name, unique), names the proposer its
    host, gives them the host role, lets them join it, and makes its meetings on the horizon.
    """
    proposal = await get_proposal(session, proposal_id)
    status = ProposalStatus.APPROVED if approve else ProposalStatus.DECLINED
    # Conditional, so two organisers pressing at once can't both decide.
    result = await session.execute(
        update(GroupProposal)
        .where(GroupProposal.id == proposal.id, GroupProposal.status == ProposalStatus.PENDING)
        .values(status=status, decided_by=decided_by, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(proposal)
    if not result.rowcount:
        return Decision(proposal, decided=False)
    if not approve:
        return Decision(proposal, decided=True)
    group = await _found(session, proposal, granted_by=decided_by, now=now)
    proposal.group_id = group.id
    await schedule.extend_horizon(session, now=now, zone=zone, group_ids=[group.id])
    return Decision(proposal, decided=True, group=group)


async def _found(
    session: AsyncSession, proposal: GroupProposal, *, granted_by: int, now: datetime
) -> Group:
    last = await session.scalar(select(func.max(Group.position)))
    group = Group(
        key=await unique_key(session, proposal.name),
        name=proposal.name,
        type=GroupType.STAMMTISCH,
        district_id=proposal.district_id,
        rule=proposal.rule,
        rrule=to_rrule(parse_rule(proposal.rule)) if proposal.rule else None,
        place=proposal.place,
        newcomer_friendly=False,
        open_to_non_members=False,
        active=True,
        position=(last or 0) + 1,
        topics=[],
        hosts=[GroupHost(telegram_id=proposal.proposer_id)],
    )
    session.add(group)
    await session.flush()
    proposer = await session.get(Member, proposal.proposer_id)
    if proposer is not None:
        await grant_role(session, proposer, Role.HOST, granted_by=granted_by, now=now)
        if proposer.profile is not None:
            # The host is one of the group too ("Meine Gruppen"); only with consent.
            session.add(GroupMembership(group_id=group.id, member_id=proposer.id, joined_at=now))
    await session.flush()
    return group
