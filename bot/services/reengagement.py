"""Gentle re-engagement: who is quiet, who may get a check-in now, and how they reacted.

A member is quiet when, for QUIET_MONTHS, they gave no RSVP (attendances.answered_at), took no
shift (shift_signups.signed_at), joined no group (group_memberships.joined_at), answered no
Gedenktag (memorial_answers.answered_at) and sent the bot nothing (members.last_seen_at, which
every update from them refreshes, at most hourly: bot.services.members), and agreed to the
profile longer ago than that. Only members who agreed, are still around (not departed),
reachable and not paused are looked at.

The caps, all decided in SQL with a fixed handful of bound parameters (no id lists), so
100,000 members cost the same statements as 100:
- at most one check-in per member and quarter (a unique row per member and quarter, and the
  outbox key "check_in:<quarter>:<member>"), and none within QUARTER of the last one, so two
  never come in consecutive weeks across a quarter's end;
- "Später" (later): none for SNOOZE after the tap;
- "Weniger Nachrichten" (fewer): the member switches Category.CHECK_INS off (an opt-out, shown
  and switchable in /einstellungen); none while it is off;
- the intake's "how often do you want to hear from us": `weekly` and `monthly` (and no answer)
  allow the quarterly check-in (it is rarer than either); `important_only` allows none: a
  "we haven't heard from you" note is exactly what that member said they don't want, and the
  organisers' call list still reaches them if they agreed to be phoned;
- a pause ("Pause bis ...", bot.services.pauses): none while it lasts, and the delivery worker
  holds back what was queued before it started.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services.delivery import enqueue_once_many
from bot.services.field_actions import nearness, neighbour_ids, upcoming_dates
from bot.services.preferences import set_opted_out
from models import (
    ActionDate,
    Attendance,
    Category,
    CheckIn,
    ContactFrequency,
    Group,
    GroupMembership,
    Member,
    MemorialAnswer,
    OptOut,
    Profile,
    Reaction,
    ShiftSignup,
)

CHECK_IN = "check_in"
# No two check-ins closer than this, whatever the calendar quarters say.
QUARTER = timedelta(days=91)
# "Später": no check-in for this long after the tap (the button's answer says so).
SNOOZE = timedelta(days=91)
# Check-ins queued per run of the daily job: the delivery worker paces them, and a KV with
# 100,000 members reaches its quiet ones within a few weeks of each quarter.
BATCH = 1000
# How far ahead a check-in looks for a field action to mention.
ACTION_HORIZON = timedelta(days=60)


def quarter_of(now: datetime, zone: ZoneInfo) -> str:
    """The calendar quarter of `now` in the KV's zone, like "2026Q4"."""
    local = now.astimezone(zone)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def quiet_cutoff(now: datetime, months: int) -> datetime:
    """Whoever did nothing after this moment is quiet as of `now`."""
    return now - relativedelta(months=months)


def no_activity_since(cutoff: datetime) -> ColumnElement[bool]:
    """Members (joined with their profile) with no RSVP, shift, group, Gedenktag answer or
    message to the bot after `cutoff`, and who agreed before it."""
    return and_(
        Profile.consent_at <= cutoff,
        Member.last_seen_at <= cutoff,
        ~exists().where(Attendance.member_id == Member.id, Attendance.answered_at > cutoff),
        ~exists().where(ShiftSignup.member_id == Member.id, ShiftSignup.signed_at > cutoff),
        ~exists().where(GroupMembership.member_id == Member.id, GroupMembership.joined_at > cutoff),
        ~exists().where(MemorialAnswer.member_id == Member.id, MemorialAnswer.answered_at > cutoff),
    )


def around(now: datetime) -> ColumnElement[bool]:
    """Still here, reachable, not paused."""
    return and_(
        # Wrapped like the newcomer digest's: nearly every member matches, no index helps.
        func.coalesce(Member.departed_at, None).is_(None),
        Member.reachable.is_(True),
        or_(Member.paused_until.is_(None), Member.paused_until <= now),
    )


def _may_check_in(now: datetime, months: int, quarter: str) -> ColumnElement[bool]:
    """Quiet, around, and no cap in the way (see the module's docstring)."""
    return and_(
        around(now),
        no_activity_since(quiet_cutoff(now, months)),
        or_(
            Profile.contact_frequency.is_(None),
            Profile.contact_frequency != ContactFrequency.IMPORTANT_ONLY.value,
        ),
        ~exists().where(OptOut.member_id == Member.id, OptOut.category == Category.CHECK_INS),
        ~exists().where(
            CheckIn.member_id == Member.id,
            or_(
                CheckIn.quarter == quarter,
                CheckIn.queued_at > now - QUARTER,
                and_(CheckIn.reaction == Reaction.LATER, CheckIn.reacted_at > now - SNOOZE),
            ),
        ),
    )


def _candidates(now: datetime, months: int, quarter: str, *columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .select_from(Member)
        .join(Profile, Profile.member_id == Member.id)
        .where(_may_check_in(now, months, quarter))
    )


async def count_due(session: AsyncSession, *, now: datetime, months: int, zone: ZoneInfo) -> int:
    """How many members would get a check-in if the job ran at `now` (one COUNT)."""
    quarter = quarter_of(now, zone)
    return int(await session.scalar(_candidates(now, months, quarter, func.count())) or 0)


async def queue_check_ins(
    session: AsyncSession, *, now: datetime, months: int, zone: ZoneInfo, limit: int = BATCH
) -> int:
    """Queue a check-in for up to `limit` members who may get one now; returns how many.

    One row per member and quarter in check_ins (the caps' memory) and one outbox row keyed
    "check_in:<quarter>:<member>", so a second run or instance adds nothing. The outbox row
    holds only the quarter; the text is made when it is sent, in the member's language. The
    caller commits.
    """
    quarter = quarter_of(now, zone)
    ids = list(
        await session.scalars(
            _candidates(now, months, quarter, Member.id).order_by(Member.id).limit(limit)
        )
    )
    if not ids:
        return 0
    insert = dialect_insert(session)(CheckIn).values(
        [{"member_id": member_id, "quarter": quarter, "queued_at": now} for member_id in ids]
    )
    await session.execute(insert.on_conflict_do_nothing(index_elements=["member_id", "quarter"]))
    return await enqueue_once_many(
        session,
        [(member_id, f"{CHECK_IN}:{quarter}:{member_id}") for member_id in ids],
        kind=CHECK_IN,
        payload={"quarter": quarter},
        due_at=now,
        category=Category.CHECK_INS.value,
    )


async def find(session: AsyncSession, member_id: int, quarter: str) -> CheckIn | None:
    """The member's check-in of `quarter`, if one was queued."""
    return await session.scalar(
        select(CheckIn).where(CheckIn.member_id == member_id, CheckIn.quarter == quarter)
    )


async def mark_sent(session: AsyncSession, check_in: CheckIn, *, now: datetime) -> None:
    """Note that the worker is sending it (it renders right before sending)."""
    check_in.sent_at = check_in.sent_at or now


class Reacted(enum.Enum):
    """What a button press did."""

    RECORDED = "recorded"
    # A double tap, or a second button after the first: nothing changed.
    ALREADY = "already"
    # No such check-in for the one who pressed (forged or from another member's chat).
    UNKNOWN = "unknown"


async def react(
    session: AsyncSession, member_id: int, quarter: str, reaction: Reaction, *, now: datetime
) -> Reacted:
    """Record the member's reaction to their check-in of `quarter`; the caller commits.

    The first reaction counts; a second tap changes nothing, except that "fewer" always
    switches check-ins off (a wish for fewer messages is never stale) and replaces an earlier
    reaction. Conditional UPDATEs, so two taps at once record one reaction.
    """
    if await find(session, member_id, quarter) is None:
        return Reacted.UNKNOWN
    unset = CheckIn.reaction.is_(None)
    if reaction == Reaction.FEWER:
        await set_opted_out(session, member_id, Category.CHECK_INS, opted_out=True)
        unset = or_(unset, CheckIn.reaction != Reaction.FEWER)
    result = await session.execute(
        update(CheckIn)
        .where(CheckIn.member_id == member_id, CheckIn.quarter == quarter, unset)
        .values(reaction=reaction, reacted_at=now)
        .execution_options(synchronize_session=False)
    )
    return Reacted.RECORDED if result.rowcount else Reacted.ALREADY


def snooze_until(now: datetime) -> datetime:
    """The earliest next check-in after a "later" at `now`."""
    return now + SNOOZE


async def nearby_group(session: AsyncSession, member: Member) -> Group | None:
    """An active group in the member's Stadtteil, else in a neighbouring one (newcomer-friendly
    ones first, then the KV's order); None without a Stadtteil or a group near it."""
    district_id = member.profile.district_id if member.profile is not None else None
    if district_id is None:
        return None
    for district_ids in ({district_id}, await neighbour_ids(session, district_id)):
        if not district_ids:
            continue
        group = await session.scalar(
            select(Group)
            .where(Group.active.is_(True), Group.district_id.in_(sorted(district_ids)))
            .order_by(Group.newcomer_friendly.desc(), Group.position, Group.id)
            .limit(1)
        )
        if group is not None:
            return group
    return None


async def next_action(session: AsyncSession, member: Member, *, now: datetime) -> ActionDate | None:
    """The next scheduled field action date within ACTION_HORIZON, the member's Stadtteil
    first, then its neighbours, then any."""
    dates = await upcoming_dates(
        session, now=now, until=now + ACTION_HORIZON, include_cancelled=False
    )
    if not dates:
        return None
    district_id = member.profile.district_id if member.profile is not None else None
    neighbours = await neighbour_ids(session, district_id)
    return min(dates, key=lambda row: nearness(row, district_id, neighbours))
