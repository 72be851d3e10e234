"""Erasing a member leaves no row of any table referring to them.

The walk is generic: every table of the metadata, every integer column (may not hold the id),
every string column (may not contain the name, the username or the id) and every JSON column.
Before erasing, every column that can hold a member's id must hold it somewhere (the seed covers
it, or a generic row is made for a table this test doesn't know yet), so a new table can't be
forgotten by the erasure nor by this test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.session import SessionPool
from bot.services import broadcasts, erasure, memorials
from bot.services.newcomer_digest import NEWCOMER_DIGEST
from bot.services.onboarding import INTAKE_REMINDER
from models import (
    ActionDate,
    ActionKind,
    ActionPlanner,
    ActivityType,
    Attendance,
    Base,
    Broadcast,
    BroadcastStatus,
    CalendarFeed,
    Category,
    Delivery,
    DeliveryStatus,
    District,
    FieldAction,
    FsmRecord,
    Group,
    GroupHost,
    GroupMembership,
    GroupProposal,
    GroupType,
    HelpCall,
    HostHandover,
    HostNotice,
    HostPreference,
    Invitation,
    KvProfile,
    Meeting,
    MeetingPost,
    Member,
    MemberRole,
    Memorial,
    MemorialAnswer,
    MemorialDate,
    NoticeCap,
    OptOut,
    Profile,
    Role,
    RsvpAnswer,
    Shift,
    ShiftSignup,
    ShiftSwap,
    Topic,
)

GONE = 7_700_000_001
GONE_NAME = "Xaveriaerase"
GONE_USERNAME = "xaveria_erase_me"
# Others, who keep their rows.
HOST = 7_700_000_002
OTHER = 7_700_000_003
BOT_ID = 4242
GROUP_CHAT = -100_770_000_999
NOW = datetime(2027, 5, 10, 12, 0, tzinfo=UTC)

# Big integer columns that never hold a member's id, and why.
NOT_MEMBER_IDS = {
    "deliveries.id": "row id",
    "audit_log.id": "row id",
    "deliveries.batch_id": "a broadcast's id",
    "broadcasts.source_message_id": "a message id",
    "broadcasts.progress_message_id": "a message id",
    "fsm_records.bot_id": "the bot's id",
    "fsm_records.thread_id": "a forum topic",
    "processed_updates.update_id": "an update id",
    "served_chats.chat_id": "a group chat",
    "served_chats.last_welcome_message_id": "a message id",
    "meeting_posts.chat_id": "a group chat",
    "chat_join_days.chat_id": "a group chat (joins counted, no one named)",
    "meeting_posts.message_id": "a message id",
}


def _member_columns() -> list[sa.Column[Any]]:
    """Columns that can hold a member's id: Telegram ids are BigInteger; foreign keys to the
    members (or profiles) rows."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            key = f"{table.name}.{column.name}"
            refers = any(
                fk.column.table.name in ("members", "profiles") for fk in column.foreign_keys
            )
            if refers or (_is_big(column) and key not in NOT_MEMBER_IDS):
                found.append(column)
    return found


def _is_big(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.BigInteger) or (
        # SQLite variants keep BigInteger as the base type.
        isinstance(getattr(column.type, "impl", None), sa.BigInteger)
    )


async def _seed(session: AsyncSession) -> int:
    """Rows in every table that can refer to GONE; returns the broadcast whose counts count."""
    session.add(KvProfile(id=1, name="KV Test", setup_source=f"hosts: ['@{GONE_USERNAME}']\n"))
    district = District(key="mitte", name="Mitte")
    topic = Topic(key="umwelt", name="Umwelt")
    activity = ActivityType(key="infostand", name="Infostände", action_kind="infostand")
    session.add_all([district, topic, activity])
    await session.flush()
    group = Group(key="st", name="Stammtisch Mitte", type=GroupType.STAMMTISCH)
    other_group = Group(key="bg", name="Basisgruppe", type=GroupType.BASISGRUPPE)
    session.add_all([group, other_group])
    await session.flush()
    session.add_all(
        [
            GroupHost(group_id=group.id, telegram_id=GONE),
            GroupHost(group_id=other_group.id, username=GONE_USERNAME),
            GroupHost(group_id=other_group.id, telegram_id=HOST),
        ]
    )
    gone = Member(id=GONE, first_name=GONE_NAME, username=GONE_USERNAME, language="en")
    gone.profile = Profile(
        member_id=GONE, district_id=district.id, topics=[topic], activity_types=[activity]
    )
    gone.roles = [MemberRole(role=Role.HOST, granted_by=HOST)]
    host = Member(id=HOST, first_name="Hanne")
    host.profile = Profile(member_id=HOST, topics=[], activity_types=[])
    host.roles = [MemberRole(role=Role.ORGANISER, granted_by=GONE)]
    other = Member(id=OTHER, first_name="Olli")
    other.profile = Profile(member_id=OTHER, topics=[], activity_types=[])
    session.add_all([gone, host, other])
    await session.flush()
    session.add_all(
        [
            GroupMembership(group_id=group.id, member_id=GONE),
            OptOut(member_id=GONE, category=Category.ANNOUNCEMENTS),
            HostPreference(member_id=GONE, notice=HostNotice.EACH),
            NoticeCap(member_id=GONE, kind="answer", subject_id=1, sent_at=NOW),
            CalendarFeed(member_id=GONE, token_hash="h" * 64),
            Invitation(member_id=GONE, token="t" * 20),
            ActionPlanner(member_id=GONE, granted_by=HOST),
            ActionPlanner(member_id=HOST, granted_by=GONE),
            FsmRecord(
                bot_id=BOT_ID,
                chat_id=GONE,
                user_id=GONE,
                thread_id=0,
                business_connection_id="",
                destiny="default",
                state="x",
                data={},
            ),
            FsmRecord(
                bot_id=BOT_ID,
                chat_id=GROUP_CHAT,
                user_id=GONE,
                thread_id=0,
                business_connection_id="",
                destiny="default",
                state="y",
                data={},
            ),
        ]
    )
    # Meetings: one past (answered yes), one ahead with a capacity of 1 and OTHER waiting.
    past = Meeting(
        group_id=group.id, occurrence=NOW - timedelta(days=7), starts_at=NOW - timedelta(days=7)
    )
    ahead = Meeting(
        group_id=group.id,
        occurrence=NOW + timedelta(days=7),
        starts_at=NOW + timedelta(days=7),
        capacity=1,
    )
    session.add_all([past, ahead])
    await session.flush()
    session.add_all(
        [
            Attendance(meeting_id=past.id, member_id=GONE, answer=RsvpAnswer.YES),
            Attendance(
                meeting_id=ahead.id,
                member_id=GONE,
                answer=RsvpAnswer.YES,
                queued_at=NOW - timedelta(days=2),
                host_notified=True,
            ),
            Attendance(
                meeting_id=ahead.id,
                member_id=OTHER,
                answer=RsvpAnswer.YES,
                waitlisted=True,
                queued_at=NOW - timedelta(days=1),
                host_notified=True,
            ),
            MeetingPost(meeting_id=ahead.id, chat_id=GROUP_CHAT, message_id=5),
            GroupProposal(proposer_id=GONE, name=f"{GONE_NAME}s Stammtisch"),
            GroupProposal(proposer_id=HOST, name="Hannes Runde", decided_by=GONE),
            HostHandover(
                group_id=group.id, from_member_id=GONE, to_member_id=HOST, decided_by=HOST
            ),
            HostHandover(
                group_id=other_group.id, from_member_id=HOST, to_member_id=GONE, decided_by=GONE
            ),
        ]
    )
    # Gedenktage: last year's event (GONE came), this year's ahead.
    memorial = Memorial(
        key="m", name="Gedenktag", rule="27.01.", rrule="FREQ=YEARLY", event_time=time(18, 0)
    )
    session.add(memorial)
    await session.flush()
    last_year = MemorialDate(
        memorial_id=memorial.id,
        day=date(2027, 1, 27),
        event_starts_at=datetime(2027, 1, 27, 17, tzinfo=UTC),
    )
    this_year = MemorialDate(
        memorial_id=memorial.id,
        day=date(2028, 1, 27),
        event_starts_at=datetime(2028, 1, 27, 17, tzinfo=UTC),
    )
    session.add_all([last_year, this_year])
    await session.flush()
    session.add_all(
        [
            MemorialAnswer(memorial_date_id=last_year.id, member_id=GONE, answer=RsvpAnswer.YES),
            MemorialAnswer(memorial_date_id=last_year.id, member_id=HOST, answer=RsvpAnswer.YES),
            MemorialAnswer(memorial_date_id=this_year.id, member_id=GONE, answer=RsvpAnswer.YES),
        ]
    )
    # Field actions: GONE is the contact, holds a past and an upcoming shift, offered one,
    # took one over, was called for help.
    action = FieldAction(
        kind=ActionKind.INFOSTAND,
        title="Infostand Markt",
        place="Markt",
        on_day=date(2027, 5, 20),
        contact_id=GONE,
        shift_plan=[],
    )
    session.add(action)
    await session.flush()
    past_date = ActionDate(action_id=action.id, day=date(2027, 5, 1))
    next_date = ActionDate(action_id=action.id, day=date(2027, 5, 20))
    session.add_all([past_date, next_date])
    await session.flush()
    past_shift = Shift(
        action_date_id=past_date.id,
        starts_at=NOW - timedelta(days=9),
        ends_at=NOW - timedelta(days=9, hours=-2),
        needed=2,
    )
    next_shift = Shift(
        action_date_id=next_date.id,
        starts_at=NOW + timedelta(days=10),
        ends_at=NOW + timedelta(days=10, hours=2),
        needed=2,
    )
    session.add_all([past_shift, next_shift])
    await session.flush()
    session.add_all(
        [
            ShiftSignup(shift_id=past_shift.id, member_id=GONE),
            ShiftSignup(shift_id=next_shift.id, member_id=GONE),
            ShiftSignup(shift_id=past_shift.id, member_id=HOST),
            ShiftSwap(shift_id=next_shift.id, from_member_id=GONE),
            ShiftSwap(shift_id=past_shift.id, from_member_id=HOST, to_member_id=GONE),
            HelpCall(shift_id=next_shift.id, member_id=GONE, called_at=NOW),
        ]
    )
    # Broadcasts: GONE's own (done, their chat holds the message), HOST's that GONE stopped,
    # and HOST's that reached GONE, HOST and OTHER.
    own = Broadcast(
        author_id=GONE,
        source_chat_id=GONE,
        source_message_id=1,
        content_type="text",
        summary="Hallo",
        category=Category.ANNOUNCEMENTS,
        scheduled_at=NOW,
        status=BroadcastStatus.DONE,
        total=1,
        progress_chat_id=GONE,
        progress_message_id=9,
        draft_key=f"{GONE}:1",
    )
    stopped = Broadcast(
        author_id=HOST,
        source_chat_id=HOST,
        source_message_id=2,
        content_type="text",
        category=Category.ANNOUNCEMENTS,
        scheduled_at=NOW,
        status=BroadcastStatus.CANCELLED,
        cancelled_by=GONE,
    )
    counted = Broadcast(
        author_id=HOST,
        source_chat_id=HOST,
        source_message_id=3,
        content_type="text",
        category=Category.ANNOUNCEMENTS,
        scheduled_at=NOW,
        status=BroadcastStatus.DONE,
        total=3,
        opted_out=1,
        unreachable=1,
        started_at=NOW - timedelta(minutes=5),
        finished_at=NOW,
    )
    # OTHER's, still putting its recipients into the outbox: the last one enqueued was GONE.
    enqueuing = Broadcast(
        author_id=OTHER,
        source_chat_id=OTHER,
        source_message_id=4,
        content_type="text",
        category=Category.ANNOUNCEMENTS,
        scheduled_at=NOW,
        status=BroadcastStatus.SENDING,
        started_at=NOW,
        enqueued_through=GONE,
    )
    session.add_all([own, stopped, counted, enqueuing])
    await session.flush()
    payload = {"from_chat_id": HOST, "message_id": 3, "broadcast_id": counted.id}
    session.add_all(
        [
            Delivery(
                recipient_id=GONE,
                kind=broadcasts.BROADCAST_KIND,
                payload=payload,
                batch_id=counted.id,
                status=DeliveryStatus.SENT,
                sent_at=NOW,
            ),
            Delivery(
                recipient_id=HOST,
                kind=broadcasts.BROADCAST_KIND,
                payload=payload,
                batch_id=counted.id,
                status=DeliveryStatus.SENT,
                sent_at=NOW,
            ),
            Delivery(
                recipient_id=OTHER,
                kind=broadcasts.BROADCAST_KIND,
                payload=payload,
                batch_id=counted.id,
                status=DeliveryStatus.BLOCKED,
                last_error="blocked",
            ),
            Delivery(
                recipient_id=GONE,
                kind=INTAKE_REMINDER,
                payload={},
                due_at=NOW,
                dedupe_key=f"intake:{GONE}",
            ),
            Delivery(
                recipient_id=HOST,
                kind="host_answer",
                due_at=NOW,
                payload={"meeting_id": ahead.id, "member_id": GONE, "answer": "yes"},
                dedupe_key=f"hans:{ahead.id}:{GONE}:1:y00:{HOST}",
            ),
            Delivery(
                recipient_id=HOST,
                kind=NEWCOMER_DIGEST,
                due_at=NOW,
                payload={"member_ids": [GONE, OTHER], "days": 14},
            ),
        ]
    )
    await session.flush()
    return counted.id


def _value_for(column: sa.Column[Any]) -> Any:
    """A plain value for a required column of a table the seed doesn't know."""
    kind = column.type
    if isinstance(kind, sa.Enum):
        return kind.enums[0]
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.String | sa.Text):
        return "x"
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.Date):
        return NOW.date()
    return NOW  # UTCDateTime and other date-times


def _optional(column: sa.Column[Any]) -> bool:
    """Whether an insert may leave the column out (an id, a default, NULL)."""
    generated_id = (
        column.primary_key
        and column.autoincrement in (True, "auto")
        and isinstance(column.type, sa.Integer)
    )
    return bool(
        generated_id or column.nullable or column.default is not None or column.server_default
    )


async def _seed_unknown_tables(session: AsyncSession, columns: list[sa.Column[Any]]) -> None:
    """A generic row for a table with a member column the seed above doesn't fill (a table
    added after this test was written): the erasure must find it all the same."""
    for table in Base.metadata.sorted_tables:
        mine = [column for column in columns if column.table is table]
        if not mine:
            continue
        seeded = await session.scalar(
            select(sa.func.count()).select_from(table).where(sa.or_(*(c == GONE for c in mine)))
        )
        if seeded:
            continue
        values: dict[str, Any] = {}
        for column in table.columns:
            if column in mine:
                values[column.name] = GONE
            elif column.foreign_keys:
                [fk] = list(column.foreign_keys)
                values[column.name] = await session.scalar(select(fk.column).limit(1))
            elif not _optional(column):
                values[column.name] = _value_for(column)
        await session.execute(sa.insert(table).values(values))


async def _holding(session: AsyncSession, columns: list[sa.Column[Any]]) -> list[str]:
    return [
        f"{column.table.name}.{column.name}"
        for column in columns
        if await session.scalar(select(sa.func.count()).where(column == GONE))
    ]


def _names_gone(column: sa.Column[Any], value: Any) -> bool:
    """Whether a stored value refers to GONE: their id, name or username."""
    needles = (str(GONE), GONE_NAME.lower(), GONE_USERNAME)
    if isinstance(column.type, sa.Integer):
        return bool(value == GONE)
    if isinstance(value, str):
        return any(needle in value.lower() for needle in needles)
    if isinstance(column.type, sa.JSON) and value is not None:
        return any(needle in json.dumps(value).lower() for needle in needles)
    return False


async def _traces(session: AsyncSession) -> list[str]:
    """Every column in the database that still names GONE somewhere."""
    found = set()
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).mappings().all():
            found.update(
                f"{table.name}.{column.name}"
                for column in table.columns
                if _names_gone(column, row[column])
            )
    return sorted(found)


async def _progress(session: AsyncSession, broadcast_id: int) -> broadcasts.Progress:
    broadcast = await broadcasts.find(session, broadcast_id)
    return await broadcasts.progress(session, broadcast, NOW)


async def test_erasure_leaves_no_trace_in_any_table(session_pool: SessionPool) -> None:
    columns = _member_columns()
    async with session_pool() as session:
        counted = await _seed(session)
        await _seed_unknown_tables(session, columns)
        await session.commit()
    async with session_pool() as session:
        # The seed really reaches every column that can name a member.
        held = await _holding(session, columns)
        assert set(held) == {f"{c.table.name}.{c.name}" for c in columns}
        assert await _traces(session)  # the walk sees the member before the erasure
        before = await _progress(session, counted)
        broadcast = await broadcasts.find(session, counted)
        figures = (broadcast.total, broadcast.opted_out, broadcast.unreachable)
        [last_year] = await session.scalars(
            select(MemorialDate).where(MemorialDate.day == date(2028, 1, 27))
        )
        attendance_before = await memorials.last_attendance(session, last_year)

    async with session_pool() as session:
        assert await erasure.erase_member(session, GONE, now=NOW)
        await session.commit()

    async with session_pool() as session:
        assert await _traces(session) == []
        # The figures others see stay what they were.
        after = await _progress(session, counted)
        assert (after.total, after.sent, after.blocked, after.failed, after.cancelled) == (
            before.total,
            before.sent,
            before.blocked,
            before.failed,
            before.cancelled,
        )
        broadcast = await broadcasts.find(session, counted)
        assert (broadcast.total, broadcast.opted_out, broadcast.unreachable) == figures
        [last_year] = await session.scalars(
            select(MemorialDate).where(MemorialDate.day == date(2028, 1, 27))
        )
        assert await memorials.last_attendance(session, last_year) == attendance_before == 2
        # Others keep what is theirs.
        assert await session.get(Member, HOST) is not None
        assert await session.get(ActionPlanner, HOST) is not None
        roles = list(await session.scalars(select(MemberRole).where(MemberRole.member_id == HOST)))
        assert [(r.role, r.granted_by) for r in roles] == [(Role.ORGANISER, None)]
        # OTHER, who waited, moved up; the group post is marked for an edit.
        [waiting] = await session.scalars(select(Attendance).where(Attendance.member_id == OTHER))
        assert not waiting.waitlisted
        [post] = await session.scalars(select(MeetingPost))
        assert post.revision > post.shown_revision
        # The digest still lists OTHER.
        [digest] = await session.scalars(select(Delivery).where(Delivery.kind == NEWCOMER_DIGEST))
        assert digest.payload["member_ids"] == [OTHER]
        # The group GONE hosted alone told the organisers (HOST) it has no host.
        [lost] = await session.scalars(select(Delivery).where(Delivery.kind == erasure.HOST_LOST))
        assert lost.recipient_id == HOST
        group = await erasure.lost_group(session, lost.payload)
        assert group is not None
        assert group.name == "Stammtisch Mitte"

    # Twice: nothing left to erase.
    async with session_pool() as session:
        assert not await erasure.erase_member(session, GONE, now=NOW)
        await session.commit()
