"""Consent, the intake answers, and joining groups.

Political interests are special-category data (GDPR Art. 9): nothing here is stored before the
member agreed, and withdrawing consent erases it all in one go.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import rsvp, surveys
from bot.services.errors import DomainError
from bot.services.members import forget_identity, identify, load_answers
from models import (
    ActivityType,
    Attendance,
    CalendarFeed,
    ConsentEvent,
    ConsentRecord,
    ContactFrequency,
    District,
    FreeTime,
    Group,
    GroupMembership,
    Invitation,
    Meeting,
    Member,
    OptOut,
    Profile,
    RsvpAnswer,
    Topic,
)
from models.base import utcnow, valid_id

# Bumped when the consent text changes in substance, so members can be asked again.
CONSENT_VERSION = 1


class ProfileError(DomainError):
    """An answer that can't be stored (unknown id, no consent); `reason` is a stable code."""


async def give_consent(
    session: AsyncSession,
    member: Member,
    *,
    first_name: str | None,
    username: str | None,
    now: datetime,
) -> Profile:
    """Record consent (idempotent) and from now on keep the member's name. The caller commits.

    A new consent is also written to the consent history (models.ConsentRecord).
    """
    await identify(session, member, first_name, username)
    if member.profile is None:
        session.add(
            ConsentRecord(
                member_id=member.id,
                event=ConsentEvent.GIVEN,
                consent_version=CONSENT_VERSION,
                at=now,
            )
        )
        # Collections set, not loaded: a lazy load on a new object would need IO outside await.
        member.profile = Profile(
            member_id=member.id,
            consent_at=now,
            consent_version=CONSENT_VERSION,
            free_time=[],
            district=None,
            topics=[],
            activity_types=[],
        )
    return member.profile


async def withdraw_consent(
    session: AsyncSession, member: Member, *, now: datetime | None = None
) -> bool:
    """Erase profile, groups, meetings, message settings, name and username; id, language and
    the consent history stay (a withdrawal is added to it).

    Returns whether there was anything to erase. The caller commits.
    """
    had_profile = member.profile is not None
    if member.profile is not None:
        session.add(
            ConsentRecord(
                member_id=member.id,
                event=ConsentEvent.WITHDRAWN,
                consent_version=member.profile.consent_version,
                at=now or utcnow(),
            )
        )
    had_identity = forget_identity(member)
    member.profile = None
    result = await session.execute(
        delete(GroupMembership).where(GroupMembership.member_id == member.id)
    )
    # The foreign key cascades too; deleting explicitly keeps it true without one.
    await session.execute(delete(Attendance).where(Attendance.member_id == member.id))
    # A calendar feed URL would show nothing any more; it goes too, so a new consent needs a
    # new link.
    await session.execute(delete(CalendarFeed).where(CalendarFeed.member_id == member.id))
    # So is the invitation link: an old link stops naming the member.
    await session.execute(delete(Invitation).where(Invitation.member_id == member.id))
    # "Delete everything" includes the message settings; without a profile no audience
    # reaches the member anyway.
    settings = await session.execute(delete(OptOut).where(OptOut.member_id == member.id))
    # Surveys taken: their answers stay in the results, unlinked from the member.
    await surveys.unlink_member(session, member.id)
    return had_profile or had_identity or bool(result.rowcount) or bool(settings.rowcount)


def _require(member: Member) -> Profile:
    if member.profile is None:
        raise ProfileError("no_consent")
    return member.profile


async def _existing(session: AsyncSession, model: type, ids: Iterable[int]) -> list:  # type: ignore[type-arg]
    wanted = set(ids)
    if not wanted:
        return []
    rows = list(await session.scalars(select(model).where(model.id.in_(wanted))))
    if len(rows) != len(wanted):
        raise ProfileError("unknown_id")
    return sorted(rows, key=lambda row: (row.position, row.id))


async def set_topic(session: AsyncSession, member: Member, topic_id: int, *, chosen: bool) -> bool:
    """Choose or unchoose one topic (idempotent); returns whether that changed anything."""
    profile = await load_answers(session, _require(member))
    wanted = _with(profile.topics, topic_id, chosen=chosen)
    if wanted is None:
        await _existing(session, Topic, [topic_id])  # an unknown id is refused all the same
        return False
    profile.topics = await _existing(session, Topic, wanted)
    return True


async def set_activity_type(
    session: AsyncSession, member: Member, activity_type_id: int, *, chosen: bool
) -> bool:
    """Choose or unchoose one activity type (idempotent); returns whether that changed anything."""
    profile = await load_answers(session, _require(member))
    wanted = _with(profile.activity_types, activity_type_id, chosen=chosen)
    if wanted is None:
        await _existing(session, ActivityType, [activity_type_id])
        return False
    profile.activity_types = await _existing(session, ActivityType, wanted)
    return True


def _with(rows: Iterable[Topic | ActivityType], row_id: int, *, chosen: bool) -> set[int] | None:
    """The ids after choosing (or unchoosing) `row_id`; None when that changes nothing."""
    ids = {row.id for row in rows}
    if (row_id in ids) == chosen:
        return None
    return ids | {row_id} if chosen else ids - {row_id}


async def set_district(session: AsyncSession, member: Member, district_id: int | None) -> None:
    """Set the Stadtteil; None means "not sure / outside"."""
    profile = _require(member)
    if district_id is None:
        profile.district = None
        profile.outside_districts = True
        return
    district = await session.get(District, district_id)
    if district is None:
        raise ProfileError("unknown_id")
    profile.district = district
    profile.outside_districts = False


def set_free_time(member: Member, slots: Collection[str]) -> None:
    """When the member can come (subset of FreeTime)."""
    profile = _require(member)
    try:
        chosen = {FreeTime(slot) for slot in slots}
    except ValueError:
        raise ProfileError("unknown_id") from None
    profile.free_time = [slot.value for slot in FreeTime if slot in chosen]


def set_free_time_slot(member: Member, slot: str, *, chosen: bool) -> bool:
    """Choose or unchoose one free-time slot (idempotent); returns whether that changed anything."""
    profile = _require(member)
    try:
        wanted = FreeTime(slot)
    except ValueError:
        raise ProfileError("unknown_id") from None
    slots = set(profile.free_time)
    if (wanted.value in slots) == chosen:
        return False
    set_free_time(member, slots | {wanted.value} if chosen else slots - {wanted.value})
    return True


def set_contact_frequency(member: Member, frequency: str | None) -> None:
    """How often the member wants to hear from the KV (None: not said)."""
    profile = _require(member)
    if frequency is not None:
        try:
            frequency = ContactFrequency(frequency).value
        except ValueError:
            raise ProfileError("unknown_id") from None
    profile.contact_frequency = frequency


# What members can choose for meeting reminders, in minutes before the start: a week, a day,
# two hours, an hour.
REMINDER_CHOICES = (7 * 24 * 60, 24 * 60, 2 * 60, 60)


def set_reminder_offset(member: Member, minutes: int, *, chosen: bool) -> bool:
    """Be reminded `minutes` before meetings, or not (idempotent; one of REMINDER_CHOICES).

    Returns whether that changed anything; the caller commits.
    """
    profile = _require(member)
    if minutes not in REMINDER_CHOICES:
        raise ProfileError("unknown_id")
    current = [value for value in profile.reminder_offsets or () if isinstance(value, int)]
    if (minutes in current) == chosen:
        return False
    wanted = set(current) | {minutes} if chosen else set(current) - {minutes}
    # A new list, so the JSON column is seen as changed.
    profile.reminder_offsets = sorted(wanted, reverse=True)
    return True


def clear_reminder_offsets(member: Member) -> bool:
    """No meeting reminders at all (idempotent); returns whether that changed anything."""
    profile = _require(member)
    if not profile.reminder_offsets:
        return False
    profile.reminder_offsets = []
    return True


def start_intake(member: Member, now: datetime) -> None:
    """Note that the intake began (for the one reminder after an abandoned intake)."""
    profile = _require(member)
    if profile.intake_started_at is None:
        profile.intake_started_at = now


def complete_intake(member: Member, now: datetime) -> None:
    """Note that the intake is done; no reminder after this."""
    profile = _require(member)
    profile.intake_completed_at = profile.intake_completed_at or now


async def members_to_remind(session: AsyncSession, now: datetime, after: timedelta) -> list[Member]:
    """Members who started the intake at least `after` ago, never finished, never reminded."""
    rows = await session.scalars(
        select(Member)
        .join(Profile, Profile.member_id == Member.id)
        .where(
            Profile.intake_started_at <= now - after,
            Profile.intake_completed_at.is_(None),
            Profile.intake_reminded_at.is_(None),
            Member.reachable.is_(True),
        )
        .order_by(Member.id)
    )
    return list(rows.unique())


@dataclass(frozen=True, slots=True)
class JoinResult:
    """What joining did: the group, whether it was new, whether it is their first group."""

    group: Group
    newly_joined: bool
    first_group: bool


async def join_group(
    session: AsyncSession, member: Member, group_id: int, now: datetime
) -> JoinResult:
    """Join an active group (idempotent); needs consent. The caller commits."""
    _require(member)
    group = await session.get(Group, group_id)
    if group is None or not group.active:
        raise ProfileError("unknown_group")
    existing = await session.get(GroupMembership, (group.id, member.id))
    if existing is not None:
        return JoinResult(group, newly_joined=False, first_group=False)
    others = await session.scalar(
        select(GroupMembership.group_id).where(GroupMembership.member_id == member.id).limit(1)
    )
    session.add(GroupMembership(group_id=group.id, member_id=member.id, joined_at=now))
    return JoinResult(group, newly_joined=True, first_group=others is None)


@dataclass(frozen=True, slots=True)
class LeaveResult:
    """What leaving did: the group, whether the member was in it, how many future yes/maybe
    answers to its meetings were withdrawn."""

    group: Group
    left: bool
    withdrawn: int


async def leave_group(
    session: AsyncSession, member: Member, group_id: int, now: datetime
) -> LeaveResult:
    """Leave a group (idempotent); nobody is told. The caller commits.

    Answers to the group's meetings that haven't started are withdrawn with the membership: a
    host counting on a yes from someone who left would be misled. A confirmed place frees up
    for the waiting list (who moves up is told); answers to past meetings stay.
    """
    if not valid_id(group_id):
        raise ProfileError("unknown_group")
    group = await session.get(Group, group_id)
    if group is None:
        raise ProfileError("unknown_group")
    membership = await session.get(GroupMembership, (group.id, member.id))
    if membership is None:
        return LeaveResult(group, left=False, withdrawn=0)
    await session.delete(membership)
    rows = list(
        await session.execute(
            select(Attendance, Meeting)
            .join(Meeting, Meeting.id == Attendance.meeting_id)
            .where(
                Attendance.member_id == member.id,
                Meeting.group_id == group.id,
                Meeting.starts_at > now,
            )
        )
    )
    withdrawn = 0
    for attendance, meeting in rows:
        if attendance.answer != RsvpAnswer.NO and not meeting.cancelled:
            withdrawn += 1
            # Saying no first lets the waiting list move up and the group posts show it.
            await rsvp.answer(
                session,
                meeting_id=meeting.id,
                member_id=member.id,
                consented=True,
                answer=RsvpAnswer.NO,
                now=now,
            )
        await session.delete(attendance)
    await session.flush()
    return LeaveResult(group, left=True, withdrawn=withdrawn)


async def joined_group_ids(session: AsyncSession, member_id: int) -> frozenset[int]:
    """The groups the member joined."""
    rows = await session.scalars(
        select(GroupMembership.group_id).where(GroupMembership.member_id == member_id)
    )
    return frozenset(rows)
