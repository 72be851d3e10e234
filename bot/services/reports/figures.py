"""The figures of a report, counted in the database: aggregates only, however many members.

Every figure is one statement with GROUP BY and COUNT/SUM and a fixed handful of bound
parameters (the period's bounds, never a list of ids), so a KV of 100,000 members costs the
same few statements as one of 100 (bench.scale measures it). What comes back to Python are
counts per stage, group, meeting, broadcast, kind, topic or Stadtteil, never a member.

The period is whole local days in the KV's zone: from `start` (the first day's midnight) to
`end` (the midnight after the last day), both as UTC instants; a meeting or shift "took place"
when it was not cancelled and started before `end` and before `now`.

Definitions (the summary and the PDF say them briefly):
- Funnel: `joined_chat` is the sum of the day counts of joins to the KV's group chats
  (models.ChatJoinDay, no ids kept). The other stages follow a cohort: the members whose
  private chat with the bot began in the period (members.created_at; Telegram users the bot
  first met in a group count too). Of them, each stage counts those who reached it by the end
  of the period: consented (a consent given, or a profile since), finished the intake, joined
  any group through the bot, said "I come" (not waiting-listed) to a meeting that took place.
  The stages are counted each on their own (someone may come to a meeting without joining a
  group), so a later stage may exceed an earlier one. Members who left later (departed_at)
  stay in their cohort: leaving doesn't undo having come. Erased members are gone entirely.
- Groups: every active group; members at the end of the period (memberships from before
  its end of members not departed by then; a membership ended is deleted, so the figure is
  today's members who had joined by then), joined during it, and per local calendar month the
  meetings that took place and their "I come" answers plus guests.
- Broadcasts: those started or finished in the period. `total` is everyone the audience
  matched (messages queued plus those opted out of the category), `delivered` the messages
  sent, `unreachable` those blocked or failed (also members who had blocked the bot before),
  `opted_out` those left out for their opt-out. Delivery rows pruned after their retention
  left their counts on the broadcast (pruned_*), which are added.
- Field actions per kind: dates in the period not cancelled, their shifts, shifts with as
  many sign-ups as needed, sign-ups, and the logged results (conversations, leaflets,
  contacts); topics raised in the logged results per kind.
- Stadtteile: members with that Stadtteil in their profile, there at the end of the period;
  of them newcomers (private chat began in the period), those in at least one group, and
  those active in it (answered a meeting or signed up for a shift in the period).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.broadcasts import BROADCAST_KIND
from bot.services.chat_joins import JOINS
from bot.services.reports.model import (
    ActionKindFigures,
    BroadcastFigures,
    DistrictFigures,
    FunnelStage,
    FunnelStep,
    GroupFigures,
    GroupMonth,
    Period,
    Report,
    TopicMentions,
)
from models import (
    ActionDate,
    ActionKind,
    ActionResult,
    ActionResultTopic,
    ActionStatus,
    Attendance,
    Broadcast,
    BroadcastStatus,
    ChatJoinDay,
    ConsentEvent,
    ConsentRecord,
    Delivery,
    DeliveryStatus,
    District,
    FieldAction,
    Group,
    GroupMembership,
    Meeting,
    MeetingStatus,
    Member,
    Profile,
    RsvpAnswer,
    Shift,
    ShiftSignup,
    Topic,
)


class Bounds:
    """The period as UTC instants: [start, end), and `until` = min(end, now) for what took
    place."""

    def __init__(self, period: Period, tz: ZoneInfo, now: datetime) -> None:
        self.start = _midnight(period.first_day, tz)
        self.end = _midnight(period.last_day + timedelta(days=1), tz)
        self.until = min(self.end, now)
        self.first_day = period.first_day
        self.last_day = period.last_day


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(ZoneInfo("UTC"))


def _flag(condition: ColumnElement[bool]) -> Any:
    """1 where `condition` holds, else 0: for SUM."""
    return func.sum(case((condition, 1), else_=0))


def _unindexed(column: Any) -> Any:
    """The column's value, wrapped so no planner reads through the column's index: for
    conditions nearly every member meets, where SQLite (without statistics) would otherwise
    walk all members in index order, several times slower than reading them as they lie."""
    return func.coalesce(column, column)


def _there_at_end(bounds: Bounds) -> ColumnElement[bool]:
    """The member had come by the end of the period and not left before it."""
    departed = _unindexed(Member.departed_at)
    return and_(
        _unindexed(Member.created_at) < bounds.end,
        or_(departed.is_(None), departed >= bounds.end),
    )


def _came(bounds: Bounds) -> Any:
    """Members with a "yes" (with a place) to a meeting that took place by `until`.

    This and the other member sets below are uncorrelated subqueries: the database builds
    each once (SQLite an ephemeral index, PostgreSQL a hashed subplan) and probes it per
    member, instead of running a correlated EXISTS per member; nothing comes to Python.
    """
    return (
        select(Attendance.member_id)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(
            Attendance.answer == RsvpAnswer.YES,
            Attendance.waitlisted.is_(False),
            Meeting.status != MeetingStatus.CANCELLED,
            Meeting.starts_at < bounds.until,
        )
    )


def _in_group(bounds: Bounds) -> Any:
    """Members who had joined a group by the end of the period."""
    return select(GroupMembership.member_id).where(GroupMembership.joined_at < bounds.end)


async def _funnel(session: AsyncSession, bounds: Bounds) -> tuple[FunnelStep, ...]:
    joined_chat = await session.scalar(
        select(func.coalesce(func.sum(JOINS), 0)).where(
            ChatJoinDay.day >= bounds.first_day, ChatJoinDay.day <= bounds.last_day
        )
    )
    consented = or_(
        Profile.consent_at < bounds.end,
        Member.id.in_(
            select(ConsentRecord.member_id).where(
                ConsentRecord.event == ConsentEvent.GIVEN, ConsentRecord.at < bounds.end
            )
        ),
    )
    row = (
        await session.execute(
            select(
                func.count(),
                _flag(consented),
                _flag(Profile.intake_completed_at < bounds.end),
                _flag(Member.id.in_(_in_group(bounds))),
                _flag(Member.id.in_(_came(bounds))),
            )
            .select_from(Member)
            .outerjoin(Profile, Profile.member_id == Member.id)
            .where(Member.created_at >= bounds.start, Member.created_at < bounds.end)
        )
    ).one()
    counts = [int(joined_chat or 0), *(int(value or 0) for value in row)]
    return tuple(FunnelStep(stage, count) for stage, count in zip(FunnelStage, counts, strict=True))


def _months(first_day: date, last_day: date) -> list[date]:
    month = first_day.replace(day=1)
    months = []
    while month <= last_day:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


async def _groups(session: AsyncSession, bounds: Bounds, tz: ZoneInfo) -> tuple[GroupFigures, ...]:
    groups = (
        await session.execute(
            select(Group.id, Group.name, Group.type, District.name)
            .outerjoin(District, District.id == Group.district_id)
            .where(Group.active.is_(True))
            .order_by(Group.position, Group.name, Group.id)
        )
    ).all()
    members: dict[int, tuple[int, int]] = {
        group_id: (int(count), int(joined or 0))
        for group_id, count, joined in await session.execute(
            select(
                GroupMembership.group_id,
                func.count(),
                _flag(GroupMembership.joined_at >= bounds.start),
            )
            .join(Member, Member.id == GroupMembership.member_id)
            .where(GroupMembership.joined_at < bounds.end, _there_at_end(bounds))
            .group_by(GroupMembership.group_id)
        )
    }
    # One row per meeting that took place (as many as the groups met, not as members), with its
    # "I come" answers and guests; months are the KV's local months.
    seats = case(
        (
            and_(Attendance.answer == RsvpAnswer.YES, Attendance.waitlisted.is_(False)),
            1 + Attendance.guests,
        ),
        else_=0,
    )
    meetings = await session.execute(
        select(Meeting.group_id, Meeting.starts_at, func.coalesce(func.sum(seats), 0))
        .outerjoin(Attendance, Attendance.meeting_id == Meeting.id)
        .where(
            Meeting.status != MeetingStatus.CANCELLED,
            Meeting.starts_at >= bounds.start,
            Meeting.starts_at < bounds.until,
        )
        .group_by(Meeting.id, Meeting.group_id, Meeting.starts_at)
    )
    per_month: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    for group_id, starts_at, attendees in meetings:
        month = starts_at.astimezone(tz).date().replace(day=1)
        cell = per_month[(group_id, month)]
        cell[0] += 1
        cell[1] += int(attendees)
    months = _months(bounds.first_day, bounds.last_day)
    return tuple(
        GroupFigures(
            name=name,
            kind=str(kind),
            district=district,
            members=members.get(group_id, (0, 0))[0],
            joined=members.get(group_id, (0, 0))[1],
            months=tuple(
                GroupMonth(month, *per_month.get((group_id, month), (0, 0))) for month in months
            ),
        )
        for group_id, name, kind, district in groups
    )


async def _broadcasts(session: AsyncSession, bounds: Bounds) -> tuple[BroadcastFigures, ...]:
    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= bounds.start, column < bounds.end)

    sent = func.coalesce(Broadcast.started_at, Broadcast.finished_at)
    rows = await session.execute(
        select(
            sent,
            Broadcast.summary,
            Broadcast.category,
            Broadcast.total,
            Broadcast.opted_out,
            Broadcast.pruned_sent,
            Broadcast.pruned_blocked,
            Broadcast.pruned_failed,
            _flag(Delivery.status == DeliveryStatus.SENT),
            _flag(Delivery.status.in_((DeliveryStatus.BLOCKED, DeliveryStatus.FAILED))),
        )
        .outerjoin(
            Delivery, and_(Delivery.batch_id == Broadcast.id, Delivery.kind == BROADCAST_KIND)
        )
        .where(
            Broadcast.status != BroadcastStatus.SCHEDULED,
            Broadcast.started_at.is_not(None),
            or_(within(Broadcast.started_at), within(Broadcast.finished_at)),
        )
        .group_by(Broadcast.id)
        .order_by(sent, Broadcast.id)
    )
    return tuple(
        BroadcastFigures(
            sent_at=sent_at,
            summary=summary,
            category=str(category),
            total=int(total or 0) + int(opted_out or 0),
            delivered=int(live_sent or 0) + int(pruned_sent or 0),
            unreachable=int(live_unreached or 0)
            + int(pruned_blocked or 0)
            + int(pruned_failed or 0),
            opted_out=int(opted_out or 0),
        )
        for (
            sent_at,
            summary,
            category,
            total,
            opted_out,
            pruned_sent,
            pruned_blocked,
            pruned_failed,
            live_sent,
            live_unreached,
        ) in rows
    )


def _held(bounds: Bounds) -> ColumnElement[bool]:
    """An action date in the period that was not cancelled."""
    return and_(
        ActionDate.day >= bounds.first_day,
        ActionDate.day <= bounds.last_day,
        ActionDate.status != ActionStatus.CANCELLED,
    )


async def _actions(session: AsyncSession, bounds: Bounds) -> tuple[ActionKindFigures, ...]:
    dates = dict(
        (
            await session.execute(
                select(FieldAction.kind, func.count())
                .join(ActionDate, ActionDate.action_id == FieldAction.id)
                .where(_held(bounds))
                .group_by(FieldAction.kind)
            )
        ).all()
    )
    # One row per shift (its sign-ups counted), then summed per kind.
    signups = (
        select(ShiftSignup.shift_id, func.count().label("signups"))
        .group_by(ShiftSignup.shift_id)
        .subquery()
    )
    taken = func.coalesce(signups.c.signups, 0)
    shifts = {
        kind: rest
        for kind, *rest in await session.execute(
            select(
                FieldAction.kind,
                func.count(),
                _flag(taken >= Shift.needed),
                func.coalesce(func.sum(taken), 0),
                func.coalesce(func.sum(ActionResult.conversations), 0),
                func.coalesce(func.sum(ActionResult.leaflets), 0),
                func.coalesce(func.sum(ActionResult.contacts), 0),
            )
            .select_from(Shift)
            .join(ActionDate, ActionDate.id == Shift.action_date_id)
            .join(FieldAction, FieldAction.id == ActionDate.action_id)
            .outerjoin(signups, signups.c.shift_id == Shift.id)
            .outerjoin(ActionResult, ActionResult.shift_id == Shift.id)
            .where(_held(bounds))
            .group_by(FieldAction.kind)
        )
    }
    figures = []
    for kind in ActionKind:
        counts = [int(value or 0) for value in shifts.get(kind, (0,) * 6)]
        held = int(dates.get(kind, 0))
        if held or any(counts):
            figures.append(ActionKindFigures(str(kind), held, *counts))
    return tuple(figures)


async def _topics(session: AsyncSession, bounds: Bounds) -> tuple[TopicMentions, ...]:
    rows = await session.execute(
        select(Topic.id, Topic.name, FieldAction.kind, func.sum(ActionResultTopic.mentions))
        .select_from(ActionResultTopic)
        .join(Topic, Topic.id == ActionResultTopic.topic_id)
        .join(Shift, Shift.id == ActionResultTopic.shift_id)
        .join(ActionDate, ActionDate.id == Shift.action_date_id)
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .where(_held(bounds))
        .group_by(Topic.id, Topic.name, Topic.position, FieldAction.kind)
        .order_by(Topic.position, Topic.name)
    )
    mentions: dict[int, dict[str, Any]] = {}
    for topic_id, name, kind, count in rows:
        entry = mentions.setdefault(topic_id, {"name": name, "door": 0, "stand": 0})
        entry["door" if kind == ActionKind.DOOR_TO_DOOR else "stand"] += int(count or 0)
    topics = [
        TopicMentions(entry["name"], entry["door"], entry["stand"]) for entry in mentions.values()
    ]
    # Most mentioned first; the setup's order among equals.
    return tuple(sorted(topics, key=lambda t: -(t.door_to_door + t.info_stand)))


async def _districts(session: AsyncSession, bounds: Bounds) -> tuple[DistrictFigures, ...]:
    active = union(
        select(Attendance.member_id).where(
            Attendance.answered_at >= bounds.start, Attendance.answered_at < bounds.end
        ),
        select(ShiftSignup.member_id).where(
            ShiftSignup.signed_at >= bounds.start, ShiftSignup.signed_at < bounds.end
        ),
    )
    counted = {
        district_id: [int(value or 0) for value in rest]
        for district_id, *rest in await session.execute(
            select(
                Profile.district_id,
                func.count(),
                _flag(Member.created_at >= bounds.start),
                _flag(Member.id.in_(_in_group(bounds))),
                _flag(Member.id.in_(active)),
            )
            .select_from(Profile)
            .join(Member, Member.id == Profile.member_id)
            .where(Profile.district_id.is_not(None), _there_at_end(bounds))
            .group_by(Profile.district_id)
        )
    }
    # The names: the KV's setup, a few dozen rows, read apart (as bot.services.newcomer_digest).
    districts = await session.execute(
        select(District.id, District.name).order_by(District.position, District.name)
    )
    return tuple(
        DistrictFigures(name, *counted.get(district_id, (0, 0, 0, 0)))
        for district_id, name in districts
    )


async def compute_report(
    session: AsyncSession, *, period: Period, kv_name: str, tz: ZoneInfo, now: datetime
) -> Report:
    """The report over `period` (local days in `tz`) as of `now`: the figures of the module's
    docstring, each counted by a statement or two in the database. Reads only."""
    bounds = Bounds(period, tz, now)
    return Report(
        kv_name=kv_name,
        period=period,
        generated_at=now,
        zone=tz,
        funnel=await _funnel(session, bounds),
        groups=await _groups(session, bounds, tz),
        broadcasts=await _broadcasts(session, bounds),
        actions=await _actions(session, bounds),
        topics=await _topics(session, bounds),
        districts=await _districts(session, bounds),
    )
