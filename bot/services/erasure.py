"""Erasing a member completely, what they must hand over first, and retention of departed members.

"Delete everything" means: afterwards no row of any table refers to the member, the members row
included, so a later /start begins as new. Figures others see stay right without keeping who:
a broadcast's counts keep the outcome of the erased recipient's message, last year's memorial
attendance keeps their yes. Hosts keep no stale state: a yes to an upcoming meeting is withdrawn
as a "no" would be (the waiting list moves up, the group posts are refreshed), notices about the
member's answers still waiting in the outbox go.

Tables are walked generically at the end (every column referring to members or profiles, and
every column named member_id), so a table added later is erased too; the every-table test
(tests/handlers/test_erasure_every_table.py) checks the outcome over the whole metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Column, String, Table, cast, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory, meeting_notices, retention, rsvp, shifts, surveys
from bot.services.delivery import enqueue_once
from bot.settings import Settings
from models import (
    ActionPlanner,
    Attendance,
    Base,
    Broadcast,
    BroadcastStatus,
    Delivery,
    DeliveryStatus,
    FieldAction,
    FsmRecord,
    Group,
    GroupHost,
    GroupProposal,
    HostHandover,
    KvProfile,
    Meeting,
    MeetingStatus,
    Member,
    MemberRole,
    MemorialAnswer,
    MemorialDate,
    Role,
    RsvpAnswer,
    Shift,
    ShiftSignup,
    ShiftSwap,
    Survey,
)
from models.base import utcnow

logger = logging.getLogger(__name__)

# Outbox kind: organisers hear that a group lost its (last) host.
HOST_LOST = "host_lost"

# Columns without a foreign key that hold a member's id; nulled (all are nullable).
_PLAIN_ID_COLUMNS: tuple[Column[Any], ...] = (
    MemberRole.__table__.c.granted_by,
    ActionPlanner.__table__.c.granted_by,
    GroupProposal.__table__.c.decided_by,
    HostHandover.__table__.c.decided_by,
    Broadcast.__table__.c.cancelled_by,
    # The author of a survey (its questions and results stay, by no one).
    Survey.__table__.c.author_id,
)
# Column names that hold a member's id wherever they appear (with or without a foreign key).
_ID_NAMES = frozenset({"member_id", "actor_id"})
# Tables handled by hand before the generic walk (counts kept, hosts told, ...).
_BY_HAND = frozenset({"members", "deliveries", "fsm_records", "broadcasts"})


@dataclass(frozen=True, slots=True)
class HeldRoles:
    """What a member holds that others rely on, to be handed over before they erase their data.

    `configured_admin`: named in ADMIN_IDS, which only whoever runs the bot can change.
    """

    hosted_groups: tuple[str, ...] = ()
    roles: frozenset[Role] = frozenset()
    action_planner: bool = False
    action_contact: tuple[str, ...] = ()
    configured_admin: bool = False

    @property
    def any(self) -> bool:
        """Whether there is anything to hand over."""
        return bool(
            self.hosted_groups
            or self.roles
            or self.action_planner
            or self.action_contact
            or self.configured_admin
        )


@dataclass(slots=True)
class Erased:
    """What one erasure did: whether anything was there, groups left without a host."""

    anything: bool = False
    orphaned_groups: list[int] = field(default_factory=list)


async def roles_held(session: AsyncSession, member_id: int, settings: Settings) -> HeldRoles:
    """What the member holds: groups they host, stored roles (host, organiser, admin), the
    right to plan field actions, field actions they are the contact for, and ADMIN_IDS."""
    member = await session.get(Member, member_id)
    username = member.username if member is not None else None
    host_of = GroupHost.telegram_id == member_id
    if username:  # a NULL username must not match the hosts named by id
        host_of = or_(host_of, GroupHost.username == username)
    groups = await session.scalars(
        select(Group.name)
        .where(Group.active.is_(True), exists().where(GroupHost.group_id == Group.id, host_of))
        .order_by(Group.position, Group.id)
    )
    stored = await session.scalars(select(MemberRole.role).where(MemberRole.member_id == member_id))
    planner = await session.scalar(select(exists().where(ActionPlanner.member_id == member_id)))
    actions = await session.scalars(
        select(FieldAction.title)
        .where(FieldAction.contact_id == member_id, FieldAction.active.is_(True))
        .order_by(FieldAction.position, FieldAction.id)
    )
    return HeldRoles(
        hosted_groups=tuple(groups),
        roles=frozenset(Role(role) for role in stored),
        action_planner=bool(planner),
        action_contact=tuple(actions),
        configured_admin=member_id in settings.admin_ids,
    )


async def erase_member(
    session: AsyncSession,
    member_id: int,
    *,
    now: datetime | None = None,
    admin_ids: Collection[int] = (),
) -> bool:
    """Delete every row referring to the member, the members row included; the caller commits.

    Roles go with it (hand them over first, see roles_held); organisers (or the admins in
    `admin_ids` when there are none) hear of a group left without a host. Returns whether
    there was anything to erase: a second call finds nothing.
    """
    now = now or utcnow()
    erased = await _erase(session, member_id, now=now)
    if erased.orphaned_groups:
        await _queue_host_lost(session, erased.orphaned_groups, now=now, admin_ids=admin_ids)
    return erased.anything


async def _erase(session: AsyncSession, member_id: int, *, now: datetime) -> Erased:
    erased = Erased()
    member = await session.get(Member, member_id)
    username = member.username if member is not None else None
    erased.anything = member is not None
    # What the ORM holds goes to the database first: the rest are plain statements.
    await session.flush()
    await _withdraw_answers(session, member_id, now=now)
    await _keep_memorial_counts(session, member_id, now=now)
    await _leave_shifts(session, member_id, now=now)
    erased.orphaned_groups = await _drop_hosting(session, member_id, username)
    await _scrub_setup_source(session, member_id, username)
    # Before the member's broadcast rows go, what they counted stays on the broadcasts.
    await retention.keep_counts(session, Delivery.recipient_id == member_id)
    await _anonymise_broadcasts(session, member_id, now=now)
    # Their survey answers stay in the results, unlinked; the participations go.
    await surveys.unlink_member(session, member_id)
    for column in _PLAIN_ID_COLUMNS:
        await _execute(
            session, update(column.table).where(column == member_id).values({column.key: None})
        )
    erased.anything = (await _drop_deliveries(session, member_id)) or erased.anything
    erased.anything = (
        await _execute(
            session,
            delete(FsmRecord).where(
                or_(FsmRecord.user_id == member_id, FsmRecord.chat_id == member_id)
            ),
        )
        or erased.anything
    )
    erased.anything = (await _generic_walk(session, member_id)) or erased.anything
    if member is not None:
        # Gone from the database; the session must not write it back (a later flush of the
        # loaded object would UPDATE a missing row).
        session.expunge(member)
    await _execute(session, delete(Member).where(Member.id == member_id))
    return erased


async def _execute(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def _withdraw_answers(session: AsyncSession, member_id: int, *, now: datetime) -> None:
    """An upcoming yes or maybe becomes a no first: the waiting list moves up, posts refresh."""
    rows = await session.execute(
        select(Attendance.meeting_id, Attendance.answer)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(
            Attendance.member_id == member_id,
            Meeting.starts_at > now,
            Meeting.status == MeetingStatus.SCHEDULED,
        )
    )
    for meeting_id, answer in list(rows):
        if RsvpAnswer(answer) == RsvpAnswer.NO:
            # The no counts in the posts too: they change once the row goes.
            await meeting_notices.touch_posts(session, meeting_id)
            continue
        await rsvp.answer(
            session,
            meeting_id=meeting_id,
            member_id=member_id,
            consented=True,
            answer=RsvpAnswer.NO,
            now=now,
        )
    await session.flush()


async def _keep_memorial_counts(session: AsyncSession, member_id: int, *, now: datetime) -> None:
    """A yes to a past memorial event stays in last year's count, without the name."""
    past = select(MemorialAnswer.memorial_date_id).where(
        MemorialAnswer.member_id == member_id,
        MemorialAnswer.answer == RsvpAnswer.YES,
    )
    await _execute(
        session,
        update(MemorialDate)
        .where(
            MemorialDate.id.in_(past.scalar_subquery()),
            or_(
                MemorialDate.event_starts_at < now,
                MemorialDate.day < now.date(),
            ),
        )
        .values(erased_yes=MemorialDate.erased_yes + 1),
    )


async def _leave_shifts(session: AsyncSession, member_id: int, *, now: datetime) -> None:
    """Upcoming shifts are left as by the member's own cancel (open swap offers withdrawn)."""
    upcoming = await session.scalars(
        select(ShiftSignup.shift_id)
        .join(Shift, Shift.id == ShiftSignup.shift_id)
        .where(ShiftSignup.member_id == member_id, Shift.starts_at > now)
    )
    for shift_id in list(upcoming):
        await shifts.cancel(session, shift_id, member_id, now=now)
    await session.flush()
    # Swaps they took keep their history without them; swaps they offered go.
    await _execute(
        session,
        update(ShiftSwap).where(ShiftSwap.to_member_id == member_id).values(to_member_id=None),
    )


async def _drop_hosting(session: AsyncSession, member_id: int, username: str | None) -> list[int]:
    """Delete the setup's host entries naming the member; returns groups now without a host."""
    host_of = GroupHost.telegram_id == member_id
    if username:
        host_of = or_(host_of, GroupHost.username == username)
    group_ids = set(await session.scalars(select(GroupHost.group_id).where(host_of)))
    if not group_ids:
        return []
    await _execute(session, delete(GroupHost).where(host_of))
    still_hosted = set(
        await session.scalars(select(GroupHost.group_id).where(GroupHost.group_id.in_(group_ids)))
    )
    active = set(
        await session.scalars(
            select(Group.id).where(Group.id.in_(group_ids), Group.active.is_(True))
        )
    )
    # Loaded groups keep their host list in memory; it must not be written back.
    for group_id in group_ids:
        group = session.sync_session.identity_map.get(
            Group.__mapper__.identity_key_from_primary_key((group_id,))
        )
        if group is not None:
            session.expire(group, ["hosts"])
    return sorted(active - still_hosted)


async def _scrub_setup_source(session: AsyncSession, member_id: int, username: str | None) -> None:
    """The text of the last imported setup file may name the member as a host; it is dropped
    (the next export is written from the database, without the file's comments)."""
    profile = await session.scalar(select(KvProfile).limit(1))
    if profile is None or not profile.setup_source:
        return
    source = profile.setup_source
    if str(member_id) in source or (username and username.lower() in source.lower()):
        profile.setup_source = None
        await session.flush()


async def _anonymise_broadcasts(session: AsyncSession, member_id: int, *, now: datetime) -> None:
    """The member's own broadcasts lose their author; one not finished yet is cancelled (its
    message lies in the member's chat, which the bot no longer keeps)."""
    mine = or_(Broadcast.author_id == member_id, Broadcast.source_chat_id == member_id)
    open_ids = list(
        await session.scalars(
            select(Broadcast.id).where(
                mine,
                Broadcast.status.in_((BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING)),
            )
        )
    )
    if open_ids:
        await _execute(
            session,
            update(Delivery)
            .where(Delivery.batch_id.in_(open_ids), Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.CANCELLED),
        )
        await _execute(
            session,
            update(Broadcast)
            .where(Broadcast.id.in_(open_ids))
            .values(status=BroadcastStatus.CANCELLED, finished_at=now),
        )
    await _execute(
        session,
        update(Broadcast).where(mine).values(author_id=None, source_chat_id=None, draft_key=None),
    )
    # A broadcast still enqueueing (or a survey still inviting) may have stopped right after
    # this member: the cursor moves to the id before, which means the same (nobody lies
    # between, and the member is gone).
    for cursor in (Broadcast.enqueued_through, Survey.invited_through):
        await _execute(
            session,
            update(cursor.class_).where(cursor == member_id).values({cursor.key: member_id - 1}),
        )
    await _execute(
        session,
        update(Broadcast)
        .where(Broadcast.progress_chat_id == member_id)
        .values(progress_chat_id=None, progress_message_id=None),
    )


async def _drop_deliveries(session: AsyncSession, member_id: int) -> bool:
    """Rows to the member go (pending ones too); rows to others about the member (a host's
    notice of their answer) go; a digest listing them keeps the others it lists."""
    dropped = await _execute(session, delete(Delivery).where(Delivery.recipient_id == member_id))
    needle = str(member_id)
    # A cheap pre-filter on the payload's text; the check below looks at the values.
    mentioning = await session.scalars(
        select(Delivery).where(cast(Delivery.payload, String).contains(needle))
    )
    for row in list(mentioning):
        payload = dict(row.payload or {})
        if payload.get("member_id") == member_id:
            await session.delete(row)
            dropped += 1
        elif member_id in (payload.get("member_ids") or []):
            payload["member_ids"] = [m for m in payload["member_ids"] if m != member_id]
            row.payload = payload
            dropped += 1
    await session.flush()
    return bool(dropped)


def _member_columns() -> list[Column[Any]]:
    """Every column of the metadata that holds a member's id: foreign keys to members or to
    profiles, and columns named member_id, *_member_id or actor_id (tables added later are
    covered without a change)."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in _BY_HAND:
            continue
        for column in table.columns:
            refers = any(
                (fk.column.table.name, fk.column.name)
                in (("members", "id"), ("profiles", "member_id"))
                for fk in column.foreign_keys
            )
            if refers or column.name in _ID_NAMES or column.name.endswith("_member_id"):
                found.append(column)
    return found


async def _generic_walk(session: AsyncSession, member_id: int) -> bool:
    """Null what may be null, delete rows where the reference is required; children first."""
    touched = 0
    columns = _member_columns()
    for column in reversed(columns):
        table: Table = column.table  # type: ignore[assignment]
        if column.nullable and not column.primary_key:
            touched += await _execute(
                session, update(table).where(column == member_id).values({column.key: None})
            )
        else:
            touched += await _execute(session, delete(table).where(column == member_id))
    return bool(touched)


async def _queue_host_lost(
    session: AsyncSession, group_ids: Collection[int], *, now: datetime, admin_ids: Collection[int]
) -> int:
    """Tell the organisers (or admins) that these groups have no host any more."""
    recipients = await directory.organiser_ids(session, admin_ids)
    stamp = int(now.timestamp() * 1000)
    queued = 0
    for group_id in group_ids:
        for organiser_id in recipients:
            queued += await enqueue_once(
                session,
                organiser_id,
                key=f"hlost:{group_id}:{stamp}:{organiser_id}",
                kind=HOST_LOST,
                payload={"group_id": group_id},
                due_at=now,
            )
    return queued


async def lost_group(session: AsyncSession, payload: dict[str, Any]) -> Group | None:
    """The group of a host-lost notice, at sending time; None once it has a host again."""
    try:
        group_id = int(payload["group_id"])
    except (KeyError, TypeError, ValueError):
        return None
    group = await session.get(Group, group_id)
    if group is None or not group.active:
        return None
    hosted = await session.scalar(select(exists().where(GroupHost.group_id == group_id)))
    return None if hosted else group


# --- departed members and retention --------------------------------------------------------


async def erase_departed(
    session: AsyncSession,
    *,
    now: datetime,
    after: timedelta | relativedelta,
    admin_ids: Collection[int] = (),
    limit: int = 100,
) -> int:
    """Erase up to `limit` members departed longer than `after` ago and not seen since;
    returns how many.

    The caller commits, and calls again while a full `limit` went: one transaction per chunk
    keeps SQLite's single write lock short however many are due.
    """
    cutoff = now - after
    ids = list(
        await session.scalars(
            select(Member.id)
            .where(Member.departed_at.is_not(None), Member.departed_at <= cutoff)
            .where(Member.last_seen_at <= cutoff)
            .order_by(Member.id)
            .limit(limit)
        )
    )
    for member_id in ids:
        await erase_member(session, member_id, now=now, admin_ids=admin_ids)
    return len(ids)
