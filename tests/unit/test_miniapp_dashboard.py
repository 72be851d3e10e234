"""The dashboard's own figures (bot.services.dashboard): staffing, waiting newcomers, the last
broadcasts, against a seeded database with hand-counted values."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.db.session import SessionPool
from bot.services import dashboard
from models import (
    ActionDate,
    ActionKind,
    ActionStatus,
    Broadcast,
    BroadcastStatus,
    Category,
    FieldAction,
    Shift,
)
from tests.miniapp import BROADCAST_SUMMARY, NOW, seed


async def test_the_seeded_figures(session_pool: SessionPool) -> None:
    await seed(session_pool)
    async with session_pool() as session:
        figures = await dashboard.dashboard(session, now=NOW, newcomer_days=14)
    [stand] = figures.staffing
    assert (stand.title, stand.kind, stand.shifts, stand.needed) == (
        "Infostand Markt",
        "infostand",
        2,
        6,
    )
    # One volunteer in the first shift (3 needed), four in the second (3 needed).
    assert (stand.signed_up, stand.shifts_short) == (5, 1)
    assert stand.day == (NOW + timedelta(days=4)).date()
    newcomers = figures.newcomers
    assert (newcomers.total, newcomers.districts, newcomers.no_district) == (
        3,
        (("Nordstadt", 2),),
        1,
    )
    [broadcast] = figures.broadcasts
    assert broadcast.summary == BROADCAST_SUMMARY
    assert (broadcast.total, broadcast.delivered, broadcast.unreachable, broadcast.opted_out) == (
        7,
        6,
        1,
        1,
    )


async def test_staffing_leaves_out_what_isnt_ahead(session_pool: SessionPool) -> None:
    await seed(session_pool)
    async with session_pool() as session:
        # The seeded date cancelled; another action's date today, already over; an inactive
        # action's date tomorrow: nothing to staff.
        await session.execute(update(ActionDate).values(status=ActionStatus.CANCELLED))
        over = FieldAction(kind=ActionKind.DOOR_TO_DOOR, title="Runde", place="Nord")
        asleep = FieldAction(kind=ActionKind.INFOSTAND, title="Alt", place="Süd", active=False)
        session.add_all([over, asleep])
        await session.flush()
        today = ActionDate(action_id=over.id, day=NOW.date())
        tomorrow = ActionDate(action_id=asleep.id, day=(NOW + timedelta(days=1)).date())
        session.add_all([today, tomorrow])
        await session.flush()
        session.add_all(
            [
                Shift(
                    action_date_id=today.id,
                    starts_at=NOW - timedelta(hours=3),
                    ends_at=NOW - timedelta(hours=1),
                    needed=2,
                ),
                Shift(
                    action_date_id=tomorrow.id,
                    starts_at=NOW + timedelta(days=1),
                    ends_at=NOW + timedelta(days=1, hours=2),
                    needed=2,
                ),
            ]
        )
        await session.commit()
    async with session_pool() as session:
        assert await dashboard.upcoming_staffing(session, now=NOW) == ()


async def test_staffing_is_bounded_and_soonest_first(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        action = FieldAction(kind=ActionKind.INFOSTAND, title="Markt", place="Markt")
        session.add(action)
        await session.flush()
        for day in range(12, 0, -1):
            row = ActionDate(action_id=action.id, day=(NOW + timedelta(days=day)).date())
            session.add(row)
            await session.flush()
            start = NOW + timedelta(days=day)
            session.add(
                Shift(
                    action_date_id=row.id,
                    starts_at=start,
                    ends_at=start + timedelta(hours=2),
                    needed=day,
                )
            )
        await session.commit()
    async with session_pool() as session:
        rows = await dashboard.upcoming_staffing(session, now=NOW, limit=5)
    assert [row.needed for row in rows] == [1, 2, 3, 4, 5]
    assert all(row.signed_up == 0 and row.shifts_short == 1 for row in rows)


async def test_only_broadcasts_that_went_out_newest_first(session_pool: SessionPool) -> None:
    await seed(session_pool)
    async with session_pool() as session:
        session.add_all(
            [
                Broadcast(
                    source_message_id=2,
                    content_type="text",
                    summary="Geplant",
                    category=Category.ANNOUNCEMENTS,
                    scheduled_at=NOW + timedelta(days=1),
                    status=BroadcastStatus.SCHEDULED,
                ),
                Broadcast(
                    source_message_id=3,
                    content_type="text",
                    summary="Gestern",
                    category=Category.CALLS_FOR_HELP,
                    scheduled_at=NOW - timedelta(days=1),
                    status=BroadcastStatus.DONE,
                    started_at=NOW - timedelta(days=1),
                    finished_at=NOW - timedelta(days=1),
                    # Its outbox rows are long pruned; their counts stayed.
                    pruned_sent=40,
                    pruned_blocked=3,
                    opted_out=2,
                ),
            ]
        )
        await session.commit()
    async with session_pool() as session:
        rows = await dashboard.last_broadcasts(session)
    assert [row.summary for row in rows] == ["Gestern", BROADCAST_SUMMARY]
    assert (rows[0].total, rows[0].delivered, rows[0].unreachable, rows[0].opted_out) == (
        43,
        40,
        3,
        2,
    )
