"""Segments: who a broadcast reaches, and who is left out why.

An audience is a set of criteria over the member profile: Stadtteile, topics, groups (joined
through the bot), activity types, and meetings (who said they come). Within one kind any chosen
value matches (Nord or Süd); across kinds all must match (Nord and Umwelt). No criteria at all
means everyone.

Only members who signed up (agreed to the profile in /start) are ever in an audience: they are
the ones who asked to hear from the KV, and the only ones a segment can say anything about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, case, exists, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import meetings
from bot.services.errors import DomainError
from models import (
    ActivityType,
    Attendance,
    Category,
    District,
    Group,
    GroupMembership,
    Meeting,
    Member,
    OptOut,
    RsvpAnswer,
    Topic,
)
from models.profile import Profile, profile_activity_types, profile_topics

Dimension = Literal["districts", "topics", "groups", "activity_types", "meetings"]
DIMENSIONS: tuple[Dimension, ...] = ("districts", "topics", "groups", "activity_types", "meetings")
# Meetings an organiser can write to the attendees of: the past week's (a thank-you, the
# minutes) and the next two months'.
MEETINGS_BACK = timedelta(days=7)
MEETINGS_AHEAD = timedelta(days=62)
# More than this many chosen values is not a segment any organiser builds by hand; a longer list
# is a forged or broken request.
MAX_VALUES = 200


class UnknownSegmentError(DomainError, ValueError):
    """An audience names a Stadtteil, topic, group or activity type that does not exist.

    `reason` says which part (for the log); every one means "that choice is gone".
    """


@dataclass(frozen=True, slots=True)
class Audience:
    """Chosen ids per kind; empty everywhere means everyone."""

    districts: frozenset[int] = field(default_factory=frozenset)
    topics: frozenset[int] = field(default_factory=frozenset)
    groups: frozenset[int] = field(default_factory=frozenset)
    activity_types: frozenset[int] = field(default_factory=frozenset)
    meetings: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_everyone(self) -> bool:
        """Whether no criterion narrows it."""
        return not any(self.values(dimension) for dimension in DIMENSIONS)

    def values(self, dimension: Dimension) -> frozenset[int]:
        """The ids chosen for one kind."""
        return getattr(self, dimension)

    def with_value(self, dimension: Dimension, value: int, choosable: Iterable[Option]) -> Audience:
        """The audience with `value` chosen for `dimension` (chosen already: the same).

        Raises UnknownSegmentError unless `value` is one of the `choosable` options.
        """
        if value not in {option.id for option in choosable}:
            raise UnknownSegmentError(f"unknown {dimension}")
        return replace(self, **{dimension: self.values(dimension) | {value}})

    def without_value(self, dimension: Dimension, value: int) -> Audience:
        """The audience with `value` no longer chosen for `dimension` (if it was)."""
        return replace(self, **{dimension: self.values(dimension) - {value}})

    def cleared(self, dimension: Dimension) -> Audience:
        """The audience without any criterion of `dimension`."""
        return replace(self, **{dimension: frozenset()})

    def to_json(self) -> dict[str, list[int]]:
        """Plain lists for the database and the conversation state."""
        return {dimension: sorted(self.values(dimension)) for dimension in DIMENSIONS}

    @classmethod
    def readable(cls, data: Mapping[str, Any] | None) -> Audience | None:
        """from_json, or None for what it can't read (a stored audience that names what is
        gone reaches no one)."""
        try:
            return cls.from_json(data)
        except UnknownSegmentError:
            return None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Audience:
        """Read what to_json wrote; anything else raises UnknownSegmentError."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping) or set(data) - set(DIMENSIONS):
            raise UnknownSegmentError("unknown audience kind")
        values: dict[str, frozenset[int]] = {}
        for dimension in DIMENSIONS:
            raw = data.get(dimension) or []
            if not isinstance(raw, list) or len(raw) > MAX_VALUES:
                raise UnknownSegmentError(f"bad {dimension}")
            if not all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
                raise UnknownSegmentError(f"bad {dimension}")
            values[dimension] = frozenset(raw)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Option:
    """One choosable value of a kind: id and name; a meeting also has its time and head count."""

    id: int
    name: str
    starts_at: datetime | None = None
    attendees: int | None = None


@dataclass(frozen=True, slots=True)
class Reach:
    """How many members an audience reaches right now (counted in the database)."""

    recipients: int
    # Matched, but blocked the bot: shown as unreachable, not sent to until they return.
    unreachable: int
    # Matched the criteria but switched this category off.
    opted_out: int


_MODELS: dict[str, Any] = {
    "districts": District,
    "topics": Topic,
    "groups": Group,
    "activity_types": ActivityType,
}


async def options(session: AsyncSession, dimension: Dimension, *, now: datetime) -> list[Option]:
    """The values an organiser can choose for `dimension`, in the setup's (or time) order."""
    if dimension == "meetings":
        return [
            Option(meeting.id, meeting.group.name, meeting.starts_at, count)
            for meeting, count in await meetings.with_attendees(
                session, now=now, back=MEETINGS_BACK, ahead=MEETINGS_AHEAD
            )
        ]
    model = _MODELS[dimension]
    query = select(model.id, model.name).order_by(model.position, model.name)
    if model is Group:
        query = query.where(Group.active.is_(True))
    return [Option(row.id, row.name) for row in await session.execute(query)]


async def chosen(session: AsyncSession, audience: Audience) -> dict[Dimension, list[Option]]:
    """The chosen values per kind, in the setup's (or time) order, for previews and lists."""
    result: dict[Dimension, list[Option]] = {}
    for dimension in DIMENSIONS:
        ids = audience.values(dimension)
        if not ids:
            continue
        if dimension == "meetings":
            rows = await session.scalars(
                select(Meeting).where(Meeting.id.in_(ids)).order_by(Meeting.starts_at)
            )
            result[dimension] = [
                Option(meeting.id, meeting.group.name, meeting.starts_at) for meeting in rows
            ]
            continue
        model = _MODELS[dimension]
        named = await session.execute(
            select(model.id, model.name)
            .where(model.id.in_(ids))
            .order_by(model.position, model.name)
        )
        result[dimension] = [Option(row.id, row.name) for row in named]
    return result


async def check(session: AsyncSession, audience: Audience) -> None:
    """Raise UnknownSegmentError unless every chosen id exists (and every group is active)."""
    for dimension in DIMENSIONS:
        ids = audience.values(dimension)
        if not ids:
            continue
        if dimension == "meetings":
            found = await meetings.existing(session, ids)
        else:
            model = _MODELS[dimension]
            query = select(func.count()).select_from(model).where(model.id.in_(ids))
            if model is Group:
                query = query.where(Group.active.is_(True))
            found = await session.scalar(query)
        if found != len(ids):
            raise UnknownSegmentError(f"unknown {dimension}")


# Kinds a member has several of, each a link table: (its member column, its value column).
_LINKS: dict[Dimension, tuple[Any, Any]] = {
    "topics": (profile_topics.c.member_id, profile_topics.c.topic_id),
    "groups": (GroupMembership.member_id, GroupMembership.group_id),
    "activity_types": (
        profile_activity_types.c.member_id,
        profile_activity_types.c.activity_type_id,
    ),
    "meetings": (Attendance.member_id, Attendance.meeting_id),
}


def _criteria(
    audience: Audience, *, after: int | None = None, through: int | None = None
) -> Select[Any]:
    """Members (signed up) who meet the audience's criteria, whatever they opted out of.

    `after`/`through` bound the member ids (a batch of an enqueue); the bound is repeated on
    every table's member column, so PostgreSQL scans only that range of each index instead of
    a whole link table per batch.
    """

    def bounded(column: Any) -> list[Any]:
        conditions = []
        if after is not None:
            conditions.append(column > after)
        if through is not None:
            conditions.append(column <= through)
        return conditions

    query = (
        select(Member.id, Member.reachable)
        .join(Profile, Profile.member_id == Member.id)
        .where(*bounded(Member.id), *bounded(Profile.member_id))
    )
    if audience.districts:
        query = query.where(Profile.district_id.in_(audience.districts))
    for dimension, (member_column, value_column) in _LINKS.items():
        ids = audience.values(dimension)
        if ids:
            linked = exists().where(
                member_column == Member.id, value_column.in_(ids), *bounded(member_column)
            )
            if dimension == "meetings":
                # Whoever said no to a meeting is not among its attendees.
                linked = linked.where(Attendance.answer != RsvpAnswer.NO)
            query = query.where(linked)
    return query


def matching(
    audience: Audience,
    category: Category,
    *,
    after: int | None = None,
    through: int | None = None,
) -> Select[Any]:
    """Members `audience` matches: (id, reachable, opted out of `category`), unordered;
    with `after`/`through`, only member ids in that range.

    Every chosen value is a bind parameter, at most MAX_VALUES per kind, so the statement's
    binds never grow with the member count.
    """
    opted_out = exists().where(OptOut.member_id == Member.id, OptOut.category == category)
    return _criteria(audience, after=after, through=through).add_columns(
        opted_out.label("opted_out")
    )


async def reach(session: AsyncSession, audience: Audience, category: Category) -> Reach:
    """How many `audience` reaches for a message of `category`, counted in SQL.

    A preview runs on every button press of the audience panel; no id leaves the database.
    One round trip, two aggregates: everyone matched, and those of them who opted out (driven
    from the few opt-out rows, cheaper than asking every matched member whether they did).
    """
    blocked = func.coalesce(func.sum(case((Member.reachable, 0), else_=1)), 0)
    matched = _criteria(audience).with_only_columns(literal(0).label("part"), func.count(), blocked)
    opted = (
        _criteria(audience)
        .join(OptOut, and_(OptOut.member_id == Member.id, OptOut.category == category))
        .with_only_columns(literal(1).label("part"), func.count(), blocked)
    )
    parts = {
        int(part): (int(count), int(unreachable))
        for part, count, unreachable in (await session.execute(union_all(matched, opted)))
    }
    (total, all_unreachable), (opted_out, opted_unreachable) = parts[0], parts[1]
    unreachable = all_unreachable - opted_unreachable
    return Reach(total - opted_out - unreachable, unreachable, opted_out)
