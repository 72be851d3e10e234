"""Report figures from a seeded database equal hand-counted values (SQLite and PostgreSQL).

The KV below is small enough to count by hand; every member, meeting, broadcast and shift is
placed to test one rule of bot.services.reports.figures (the comments say which), including
the period's edges in the KV's zone (Europe/Berlin: 1 January starts at 23:00 UTC the day
before, 30 June ends at 22:00 UTC) and the "< 3" rule as the views apply it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.session import SessionPool
from bot.services.reports.figures import compute_report
from bot.services.reports.model import (
    ActionKindFigures,
    BroadcastFigures,
    DistrictFigures,
    FunnelStage,
    GroupMonth,
    Period,
    PeriodKind,
    Report,
    TopicMentions,
    masked,
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
    Category,
    ChatJoinDay,
    ConsentEvent,
    ConsentRecord,
    Delivery,
    DeliveryStatus,
    District,
    FieldAction,
    Group,
    GroupMembership,
    GroupType,
    Meeting,
    MeetingStatus,
    Member,
    Profile,
    RsvpAnswer,
    Shift,
    ShiftSignup,
    Topic,
)

TZ = ZoneInfo("Europe/Berlin")
H1 = Period(PeriodKind.HALF_YEAR, date(2026, 1, 1), date(2026, 6, 30))
NOW = datetime(2026, 7, 10, 12, tzinfo=UTC)
# The period's edges in UTC.
START = datetime(2025, 12, 31, 23, tzinfo=UTC)
END = datetime(2026, 6, 30, 22, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def _member(
    session: AsyncSession,
    member_id: int,
    created: datetime,
    *,
    district: int | None = None,
    consented: datetime | None = None,
    intake: datetime | None = None,
    departed: datetime | None = None,
) -> None:
    session.add(
        Member(id=member_id, created_at=created, last_seen_at=created, departed_at=departed)
    )
    await session.flush()
    if consented is not None:
        session.add(
            Profile(
                member_id=member_id,
                consent_at=consented,
                district_id=district,
                intake_completed_at=intake,
            )
        )
        await session.flush()


async def seed(session: AsyncSession) -> None:
    mitte, nord, sued = (
        District(key="mitte", name="Mitte", position=0),
        District(key="nord", name="Nord", position=1),
        District(key="sued", name="Süd", position=2),
    )
    klima, miete, bildung = (
        Topic(key="klima", name="Klima", position=0),
        Topic(key="miete", name="Miete", position=1),
        Topic(key="bildung", name="Bildung", position=2),
    )
    session.add_all([mitte, nord, sued, klima, miete, bildung])
    await session.flush()
    g1 = Group(key="g1", name="Stammtisch Mitte", type=GroupType.STAMMTISCH, position=0)
    g1.district_id = mitte.id
    g2 = Group(key="g2", name="Basisgruppe Nord", type=GroupType.BASISGRUPPE, position=1)
    g2.district_id = nord.id
    g3 = Group(key="g3", name="AG alt", type=GroupType.AG, position=2, active=False)
    session.add_all([g1, g2, g3])
    await session.flush()

    # The cohort (private chat begun in the period): 1, 2, 3, 4, 5, 6, 10.
    # 1: just after the start (00:30 local on 1 January): every stage.
    await _member(session, 1, START + HALF_HOUR, district=mitte.id, consented=at(2026, 1, 2),
                  intake=at(2026, 1, 3))  # fmt: skip
    await _member(session, 2, at(2026, 2, 10), district=mitte.id, consented=at(2026, 2, 10))
    await _member(session, 3, at(2026, 3, 1), district=nord.id, consented=at(2026, 3, 1),
                  intake=at(2026, 3, 2))  # fmt: skip
    # 4: consented, then withdrew (no profile any more): the consent still counts.
    await _member(session, 4, at(2026, 4, 1))
    session.add_all(
        [
            ConsentRecord(
                member_id=4, event=ConsentEvent.GIVEN, consent_version=1, at=at(2026, 4, 1)
            ),
            ConsentRecord(
                member_id=4, event=ConsentEvent.WITHDRAWN, consent_version=1, at=at(2026, 4, 2)
            ),
        ]
    )
    # 5: opened the chat, nothing more.
    await _member(session, 5, at(2026, 5, 1))
    # 6: just before the end, left after it: still in the cohort and in Nord at the end.
    await _member(session, 6, END - HALF_HOUR, district=nord.id, consented=END - HALF_HOUR,
                  departed=at(2026, 7, 5))  # fmt: skip
    # 7: just after the end: in nothing.
    await _member(session, 7, END + HALF_HOUR, district=nord.id, consented=END + HALF_HOUR)
    # 8: just before the start (23:30 local on 31 December): no newcomer, an old member.
    await _member(session, 8, START - HALF_HOUR, district=mitte.id, consented=at(2025, 6, 1),
                  intake=at(2025, 6, 1))  # fmt: skip
    # 9: old, left before the end: in no figure at the end.
    await _member(session, 9, at(2025, 6, 1), district=mitte.id, consented=at(2025, 6, 1),
                  departed=at(2026, 3, 1))  # fmt: skip
    # 10: a newcomer who joined a group only after the end.
    await _member(session, 10, at(2026, 3, 5), district=mitte.id, consented=at(2026, 3, 5))
    session.add_all(
        [
            GroupMembership(group_id=g1.id, member_id=1, joined_at=at(2026, 1, 5)),
            GroupMembership(group_id=g1.id, member_id=2, joined_at=at(2026, 2, 12)),
            GroupMembership(group_id=g1.id, member_id=9, joined_at=at(2025, 6, 2)),
            GroupMembership(group_id=g2.id, member_id=8, joined_at=at(2025, 11, 1)),
            GroupMembership(group_id=g2.id, member_id=10, joined_at=at(2026, 7, 2)),
            GroupMembership(group_id=g3.id, member_id=1, joined_at=at(2026, 1, 6)),
        ]
    )

    def meeting(group: Group, starts: datetime, *, cancelled: bool = False) -> Meeting:
        row = Meeting(
            group_id=group.id,
            occurrence=starts,
            starts_at=starts,
            status=MeetingStatus.CANCELLED if cancelled else MeetingStatus.SCHEDULED,
        )
        session.add(row)
        return row

    # G1: one in January (00:30 local on 1 January), one in February; a cancelled one in
    # March and one after now don't count.
    meeting(g1, START + HALF_HOUR)
    m_feb = meeting(g1, at(2026, 2, 12, 18))
    m_cancelled = meeting(g1, at(2026, 3, 12, 18), cancelled=True)
    m_future = meeting(g1, at(2026, 7, 20, 18))
    # G2: March; 23:30 local on 30 June (June); 00:30 local on 1 July (outside).
    m_march = meeting(g2, at(2026, 3, 20, 18))
    meeting(g2, END - HALF_HOUR)
    meeting(g2, END + HALF_HOUR)
    await session.flush()

    def answer(
        meeting_row: Meeting,
        member_id: int,
        answered: datetime,
        how: RsvpAnswer = RsvpAnswer.YES,
        *,
        guests: int = 0,
        waitlisted: bool = False,
    ) -> None:
        session.add(
            Attendance(
                meeting_id=meeting_row.id,
                member_id=member_id,
                answer=how,
                guests=guests,
                waitlisted=waitlisted,
                answered_at=answered,
            )
        )

    answer(m_feb, 1, at(2026, 2, 10), guests=2)  # 3 seats; member 1's first meeting
    answer(m_feb, 2, at(2026, 2, 11), waitlisted=True)  # waiting: neither seat nor meeting
    answer(m_feb, 3, at(2025, 12, 15), RsvpAnswer.MAYBE)
    answer(m_cancelled, 3, at(2025, 12, 15))  # cancelled: no first meeting
    answer(m_future, 3, at(2026, 7, 6))  # not yet: no first meeting
    answer(m_march, 8, at(2026, 3, 3))

    # Joins to group chats: the larger source per chat and day, within the local days.
    session.add_all(
        [
            ChatJoinDay(chat_id=-100, day=date(2026, 1, 1), joins=3, announced=2),
            ChatJoinDay(chat_id=-100, day=date(2026, 6, 30), joins=0, announced=4),
            ChatJoinDay(chat_id=-100, day=date(2025, 12, 31), joins=5, announced=5),
            ChatJoinDay(chat_id=-100, day=date(2026, 7, 1), joins=7, announced=0),
            ChatJoinDay(chat_id=-200, day=date(2026, 3, 10), joins=2, announced=2),
        ]
    )

    def broadcast(status: BroadcastStatus, **values: Any) -> Broadcast:
        row = Broadcast(
            source_message_id=1,
            content_type="text",
            category=Category.ANNOUNCEMENTS,
            scheduled_at=values.pop("scheduled_at", at(2026, 2, 1)),
            status=status,
            **values,
        )
        session.add(row)
        return row

    b1 = broadcast(
        BroadcastStatus.DONE,
        summary="Sommerfest",
        started_at=at(2026, 2, 1),
        finished_at=at(2026, 2, 1, 13),
        total=10,
        opted_out=2,
        unreachable=1,
        pruned_sent=2,
    )
    # Started before the period, finished in it; all rows pruned.
    broadcast(
        BroadcastStatus.DONE,
        summary="Neujahr",
        started_at=at(2025, 12, 31, 20),
        finished_at=START + HALF_HOUR,
        total=4,
        pruned_sent=3,
        pruned_blocked=1,
    )
    broadcast(BroadcastStatus.SCHEDULED, summary="later", scheduled_at=at(2026, 3, 1))
    broadcast(BroadcastStatus.CANCELLED, summary="never", scheduled_at=at(2026, 3, 1))
    broadcast(
        BroadcastStatus.DONE,
        summary="July",
        started_at=at(2026, 7, 2),
        finished_at=at(2026, 7, 2),
        total=1,
    )
    b6 = broadcast(
        BroadcastStatus.SENDING, summary="Last call", started_at=END - timedelta(hours=1), total=3
    )
    await session.flush()

    def delivery(batch: Broadcast, status: DeliveryStatus, kind: str = "broadcast") -> None:
        session.add(
            Delivery(recipient_id=1, kind=kind, batch_id=batch.id, status=status, payload={})
        )

    for status in [DeliveryStatus.SENT] * 5 + [
        DeliveryStatus.BLOCKED,
        DeliveryStatus.FAILED,
        DeliveryStatus.CANCELLED,
    ]:
        delivery(b1, status)
    delivery(b1, DeliveryStatus.SENT, kind="intake_reminder")  # another kind: not counted
    delivery(b6, DeliveryStatus.SENT)
    delivery(b6, DeliveryStatus.PENDING)
    delivery(b6, DeliveryStatus.PENDING)

    stand = FieldAction(kind=ActionKind.INFOSTAND, title="Stand", place="Markt")
    door = FieldAction(kind=ActionKind.DOOR_TO_DOOR, title="Runde", place="Nord")
    session.add_all([stand, door])
    await session.flush()

    def action_date(action: FieldAction, day: date, *, cancelled: bool = False) -> ActionDate:
        row = ActionDate(
            action_id=action.id,
            day=day,
            status=ActionStatus.CANCELLED if cancelled else ActionStatus.SCHEDULED,
        )
        session.add(row)
        return row

    d_march = action_date(stand, date(2026, 3, 7))
    d_cancelled = action_date(stand, date(2026, 4, 4), cancelled=True)
    d_may = action_date(door, date(2026, 5, 9))
    d_july = action_date(door, date(2026, 7, 4))
    action_date(door, date(2026, 6, 30))  # held, no shifts
    await session.flush()

    def shift(on: ActionDate, needed: int, *signups: tuple[int, datetime]) -> Shift:
        starts = datetime.combine(on.day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
        row = Shift(
            action_date_id=on.id, starts_at=starts, ends_at=starts + timedelta(hours=2),
            needed=needed,
        )  # fmt: skip
        session.add(row)
        return row

    s1 = shift(d_march, 2)
    s2 = shift(d_march, 3)
    s3 = shift(d_cancelled, 1)
    s4 = shift(d_may, 1)
    s5 = shift(d_july, 1)
    await session.flush()
    for shift_row, member_id, signed in [
        (s1, 1, at(2026, 3, 1)),
        (s1, 3, at(2025, 12, 1)),  # signed before the period: counts for the shift only
        (s2, 10, at(2026, 3, 6)),
        (s3, 2, at(2026, 3, 20)),
        (s4, 1, at(2026, 5, 1)),
        (s4, 2, at(2026, 5, 1)),
        (s5, 3, at(2026, 7, 3)),
    ]:
        session.add(ShiftSignup(shift_id=shift_row.id, member_id=member_id, signed_at=signed))
    session.add_all(
        [
            ActionResult(shift_id=s1.id, conversations=10, leaflets=50, contacts=2),
            ActionResult(shift_id=s3.id, conversations=99, leaflets=99, contacts=99),
            ActionResult(shift_id=s4.id, conversations=7, leaflets=0, contacts=1),
            ActionResult(shift_id=s5.id, conversations=5, leaflets=5, contacts=5),
        ]
    )
    await session.flush()
    session.add_all(
        [
            ActionResultTopic(shift_id=s1.id, topic_id=klima.id, mentions=3),
            ActionResultTopic(shift_id=s1.id, topic_id=miete.id, mentions=1),
            ActionResultTopic(shift_id=s3.id, topic_id=bildung.id, mentions=50),
            ActionResultTopic(shift_id=s4.id, topic_id=miete.id, mentions=4),
            ActionResultTopic(shift_id=s4.id, topic_id=bildung.id, mentions=1),
            ActionResultTopic(shift_id=s5.id, topic_id=klima.id, mentions=9),
        ]
    )
    await session.commit()


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[int]]:
    """The number of parameters each statement bound while inside."""
    binds: list[int] = []

    def count(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
        binds.append(len(parameters) if parameters else 0)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield binds
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def report(session_pool: SessionPool, engine: AsyncEngine) -> Report:
    async with session_pool() as session:
        await seed(session)
    async with session_pool() as session:
        with statements(engine) as binds:
            result = await compute_report(session, period=H1, kv_name="KV Test", tz=TZ, now=NOW)
    # A fixed handful of statements, each with a few bound parameters (no id lists).
    assert len(binds) <= 12, binds
    assert max(binds) <= 24, binds
    return result


FUNNEL = [
    # stage, count, as shown
    (FunnelStage.JOINED_CHAT, 9, "9"),  # 3 + 4 + 2: the larger source per chat and day
    (FunnelStage.OPENED_CHAT, 7, "7"),  # members 1, 2, 3, 4, 5, 6, 10
    (FunnelStage.CONSENTED, 6, "6"),  # all but 5 (4 withdrew later: still counts)
    (FunnelStage.FINISHED_INTAKE, 2, "< 3"),  # 1 and 3
    (FunnelStage.JOINED_GROUP, 2, "< 3"),  # 1 and 2 (10 joined after the end)
    (FunnelStage.FIRST_MEETING, 1, "< 3"),  # 1 (2 waited, 3's were cancelled or to come)
]


async def test_the_funnel(report: Report) -> None:
    assert [(step.stage, step.count, masked(step.count)) for step in report.funnel] == FUNNEL
    assert report.kv_name == "KV Test"
    assert report.period == H1
    assert report.generated_at == NOW


JANUARY_TO_JUNE = [date(2026, month, 1) for month in range(1, 7)]


@pytest.mark.parametrize(
    ("index", "name", "kind", "district", "members", "joined", "months"),
    [
        # 9 left before the end; 1 and 2 joined in the period. Inactive AG left out.
        (0, "Stammtisch Mitte", "stammtisch", "Mitte", 2, 2, {1: (1, 0), 2: (1, 3)}),
        # 8 from before; 10 joined after the end. June's meeting is 23:30 local on 30 June.
        (1, "Basisgruppe Nord", "basisgruppe", "Nord", 1, 0, {3: (1, 1), 6: (1, 0)}),
    ],
)
async def test_groups(
    report: Report,
    index: int,
    name: str,
    kind: str,
    district: str,
    members: int,
    joined: int,
    months: dict[int, tuple[int, int]],
) -> None:
    assert len(report.groups) == 2
    group = report.groups[index]
    assert (group.name, group.kind, group.district) == (name, kind, district)
    assert (group.members, group.joined) == (members, joined)
    assert group.months == tuple(
        GroupMonth(month, *months.get(month.month, (0, 0))) for month in JANUARY_TO_JUNE
    )


async def test_broadcasts(report: Report) -> None:
    assert [
        (b.summary, b.total, b.delivered, b.unreachable, b.opted_out) for b in report.broadcasts
    ] == [
        # Started before, finished in the period; pruned rows' counts only.
        ("Neujahr", 4, 3, 1, 0),
        # 10 queued + 2 opted out; 5 sent + 2 pruned; blocked + failed; another kind not.
        ("Sommerfest", 12, 7, 2, 2),
        # Still sending at the end.
        ("Last call", 3, 1, 0, 0),
    ]
    assert all(isinstance(b, BroadcastFigures) for b in report.broadcasts)
    assert report.broadcasts[1].category == "announcements"


async def test_field_actions(report: Report) -> None:
    assert report.actions == (
        # One date (April's was cancelled), shifts 1 (filled, 2 of 2) and 2 (1 of 3).
        ActionKindFigures("infostand", 1, 2, 1, 3, 10, 50, 2),
        # May's date and 30 June's (no shifts); July's is outside.
        ActionKindFigures("door_to_door", 2, 1, 1, 2, 7, 0, 1),
    )
    assert report.topics == (
        TopicMentions("Miete", 4, 1),
        TopicMentions("Klima", 0, 3),
        TopicMentions("Bildung", 1, 0),
    )


async def test_districts(report: Report) -> None:
    assert report.districts == (
        # 1, 2, 8, 10 (9 left); newcomers 1, 2, 10; in groups 1, 2, 8; all active.
        DistrictFigures("Mitte", 4, 3, 3, 4),
        # 3 and 6 (7 came after the end); 3's answers and shifts are outside the period.
        DistrictFigures("Nord", 2, 2, 0, 0),
        DistrictFigures("Süd", 0, 0, 0, 0),
    )
    assert [masked(d.members) for d in report.districts] == ["4", "< 3", "0"]


async def test_an_empty_database_gives_zeros(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        report = await compute_report(session, period=H1, kv_name="KV", tz=TZ, now=NOW)
    assert [step.count for step in report.funnel] == [0] * 6
    assert report.groups == report.broadcasts == report.actions == report.topics == ()
    assert report.districts == ()
