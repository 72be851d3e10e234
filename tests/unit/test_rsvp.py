"""Answers and the schedule: capacity with guests, the waiting list in strict order, moving up,
refusals; the series on its horizon, rule changes, moves, cancellations, pauses, one-offs.

Every test runs on SQLite and (with TEST_DATABASE_URL) on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.db.session import SessionPool
from bot.i18n import create_i18n
from bot.outbox.renderers import render_meeting_changed, render_rsvp_promoted
from bot.services import meeting_notices, rsvp, schedule
from bot.services.recurrence import parse_rule, to_rrule
from bot.services.rsvp import RsvpError
from bot.services.schedule import ScheduleError
from models import (
    Attendance,
    CancelReason,
    Delivery,
    Group,
    GroupType,
    Meeting,
    MeetingStatus,
    Member,
    Profile,
    RsvpAnswer,
)

ZONE = ZoneInfo("Europe/Berlin")
# A Tuesday, well ahead of the real clock (the outbox's renderers look at it).
NOW = datetime(2030, 1, 8, 10, 0, tzinfo=UTC)
THURSDAYS = "jeden Donnerstag 19 Uhr"
YES, MAYBE, NO = RsvpAnswer.YES, RsvpAnswer.MAYBE, RsvpAnswer.NO


async def _group(pool: SessionPool, rule: str | None = THURSDAYS) -> int:
    async with pool() as session:
        group = Group(
            key="stammtisch",
            name="Stammtisch Mitte",
            type=GroupType.STAMMTISCH,
            rrule=to_rrule(parse_rule(rule)) if rule else None,
            rule=rule,
        )
        session.add(group)
        await session.commit()
        return group.id


async def _members(pool: SessionPool, count: int, *, first: int = 1) -> list[int]:
    ids = list(range(first, first + count))
    async with pool() as session:
        for member_id in ids:
            member = Member(id=member_id, first_name=f"M{member_id}")
            member.profile = Profile(member_id=member_id)
            session.add(member)
        await session.commit()
    return ids


async def _meeting(
    pool: SessionPool, *, capacity: int | None = None, at: datetime | None = None
) -> int:
    group_id = await _group(pool, None)
    async with pool() as session:
        meeting = await schedule.add_one_off(
            session,
            group_id=group_id,
            starts_at=at or NOW + timedelta(days=2),
            now=NOW,
            capacity=capacity,
        )
        await session.commit()
        return meeting.id


async def _say(
    pool: SessionPool,
    meeting_id: int,
    member_id: int,
    answer: RsvpAnswer = YES,
    guests: int | None = None,
    *,
    now: datetime = NOW,
) -> rsvp.Answered:
    async with pool() as session:
        result = await rsvp.answer(
            session,
            meeting_id=meeting_id,
            member_id=member_id,
            consented=True,
            answer=answer,
            guests=guests,
            now=now,
        )
        await session.commit()
        return result


async def _answers(pool: SessionPool, meeting_id: int) -> dict[int, tuple[str, int, bool]]:
    async with pool() as session:
        rows = await session.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id))
        return {row.member_id: (row.answer.value, row.guests, row.waitlisted) for row in rows}


async def _counts(pool: SessionPool, meeting_id: int) -> rsvp.Counts:
    async with pool() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        return (await rsvp.counts(session, [meeting]))[meeting_id]


async def _notices(pool: SessionPool, kind: str) -> list[tuple[int, dict[str, Any]]]:
    async with pool() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)
        )
        return [(row.recipient_id, row.payload) for row in rows]


def _waiting(answers: dict[int, tuple[str, int, bool]]) -> set[int]:
    return {member for member, (_a, _g, waiting) in answers.items() if waiting}


# --- answers -------------------------------------------------------------------------------


async def test_guests_count_towards_the_capacity(session_pool: SessionPool) -> None:
    meeting = await _meeting(session_pool, capacity=5)
    a, b, c = await _members(session_pool, 3)
    assert not (await _say(session_pool, meeting, a, guests=2)).waitlisted
    assert not (await _say(session_pool, meeting, b, guests=1)).waitlisted
    late = await _say(session_pool, meeting, c)
    assert late.waitlisted
    counts = await _counts(session_pool, meeting)
    assert (counts.yes, counts.guests, counts.waiting, counts.coming, counts.free) == (
        2,
        3,
        1,
        5,
        0,
    )
    async with session_pool() as session:
        assert await rsvp.waiting_position(session, late.attendance) == 1


async def test_the_waiting_list_is_strictly_first_come_first_served(
    session_pool: SessionPool,
) -> None:
    meeting = await _meeting(session_pool, capacity=3)
    a, b, c, d = await _members(session_pool, 4)
    await _say(session_pool, meeting, a)
    # B's party of three doesn't fit; C alone would, but B waits ahead of C.
    assert (
        await _say(session_pool, meeting, b, guests=2, now=NOW + timedelta(minutes=1))
    ).waitlisted
    assert (await _say(session_pool, meeting, c, now=NOW + timedelta(minutes=2))).waitlisted
    assert (await _say(session_pool, meeting, d, now=NOW + timedelta(minutes=3))).waitlisted
    async with session_pool() as session:
        rows = {
            row.member_id: row
            for row in await session.scalars(
                select(Attendance).where(Attendance.meeting_id == meeting)
            )
        }
        positions = [await rsvp.waiting_position(session, rows[m]) for m in (b, c, d)]
    assert positions == [1, 2, 3]
    # A says maybe: B's party moves up, and fills every place; C and D keep waiting.
    freed = await _say(session_pool, meeting, a, MAYBE, now=NOW + timedelta(minutes=4))
    assert freed.promoted == [b]
    assert _waiting(await _answers(session_pool, meeting)) == {c, d}
    # B brings one guest fewer: one place for C, the first in line.
    fewer = await _say(session_pool, meeting, b, guests=1, now=NOW + timedelta(minutes=5))
    assert fewer.promoted == [c]
    assert _waiting(await _answers(session_pool, meeting)) == {d}
    # B can't come: D moves up too.
    assert (await _say(session_pool, meeting, b, NO, now=NOW + timedelta(minutes=6))).promoted == [
        d
    ]
    assert [m for m, _p in await _notices(session_pool, meeting_notices.RSVP_PROMOTED)] == [b, c, d]


async def test_same_instant_answers_wait_in_member_order(session_pool: SessionPool) -> None:
    meeting = await _meeting(session_pool, capacity=1)
    first, *others = await _members(session_pool, 4)
    await _say(session_pool, meeting, first)
    for member in reversed(others):
        await _say(session_pool, meeting, member)
    async with session_pool() as session:
        rows = list(
            await session.scalars(select(Attendance).where(Attendance.waitlisted.is_(True)))
        )
        positions = {row.member_id: await rsvp.waiting_position(session, row) for row in rows}
    assert positions == {others[0]: 1, others[1]: 2, others[2]: 3}
    assert (await _say(session_pool, meeting, first, NO)).promoted == [others[0]]


async def test_one_waiting_ahead_leaving_lets_the_next_move_up(session_pool: SessionPool) -> None:
    meeting = await _meeting(session_pool, capacity=2)
    a, b, c = await _members(session_pool, 3)
    await _say(session_pool, meeting, a)
    await _say(session_pool, meeting, b, guests=2, now=NOW + timedelta(minutes=1))
    await _say(session_pool, meeting, c, now=NOW + timedelta(minutes=2))
    assert _waiting(await _answers(session_pool, meeting)) == {b, c}
    assert (await _say(session_pool, meeting, b, NO, now=NOW + timedelta(minutes=3))).promoted == [
        c
    ]
    assert _waiting(await _answers(session_pool, meeting)) == set()


async def test_more_places_let_the_waiting_list_move_up(session_pool: SessionPool) -> None:
    meeting = await _meeting(session_pool, capacity=1)
    a, b, c, d = await _members(session_pool, 4)
    for offset, member in enumerate((a, b, c, d)):
        await _say(session_pool, meeting, member, now=NOW + timedelta(minutes=offset))
    async with session_pool() as session:
        assert await schedule.set_capacity(session, meeting, 3, now=NOW) == [b, c]
        await session.commit()
    async with session_pool() as session:
        # Fewer places never take a confirmed place away.
        assert await schedule.set_capacity(session, meeting, 1, now=NOW) == []
        await session.commit()
    assert _waiting(await _answers(session_pool, meeting)) == {d}
    async with session_pool() as session:
        assert await schedule.set_capacity(session, meeting, None, now=NOW) == [d]
        await session.commit()
    counts = await _counts(session_pool, meeting)
    assert (counts.yes, counts.waiting, counts.free) == (4, 0, None)


async def test_a_confirmed_member_cant_bring_guests_beyond_the_capacity(
    session_pool: SessionPool,
) -> None:
    meeting = await _meeting(session_pool, capacity=4)
    a, b = await _members(session_pool, 2)
    await _say(session_pool, meeting, a)
    await _say(session_pool, meeting, b)
    assert not (await _say(session_pool, meeting, a, guests=2)).waitlisted
    with pytest.raises(RsvpError) as refused:
        await _say(session_pool, meeting, a, guests=3)
    assert refused.value.reason == "full"
    assert (await _answers(session_pool, meeting))[a] == ("yes", 2, False)


async def test_a_waiting_member_keeps_their_place_when_changing_guests(
    session_pool: SessionPool,
) -> None:
    meeting = await _meeting(session_pool, capacity=1)
    a, b, c = await _members(session_pool, 3)
    await _say(session_pool, meeting, a)
    await _say(session_pool, meeting, b, now=NOW + timedelta(minutes=1))
    await _say(session_pool, meeting, c, now=NOW + timedelta(minutes=2))
    await _say(session_pool, meeting, b, guests=1, now=NOW + timedelta(minutes=3))
    async with session_pool() as session:
        row = await session.get(Attendance, (meeting, b))
        assert row is not None
        assert await rsvp.waiting_position(session, row) == 1


async def test_refusals_leave_everything_unchanged(session_pool: SessionPool) -> None:
    meeting = await _meeting(session_pool, capacity=3)
    [a] = await _members(session_pool, 1)
    starts = NOW + timedelta(days=2)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"now": starts}, "started"),
        ({"now": starts + timedelta(hours=1)}, "started"),
        ({"guests": 6}, "guests"),
        ({"guests": -1}, "guests"),
        ({"meeting_id": 0}, "unknown"),
        ({"meeting_id": -5}, "unknown"),
        ({"meeting_id": 2**63 + 5}, "unknown"),
        ({"meeting_id": meeting + 100}, "unknown"),
        ({"consented": False}, "no_consent"),
    ]
    for change, reason in cases:
        values: dict[str, Any] = {
            "meeting_id": meeting,
            "member_id": a,
            "consented": True,
            "answer": YES,
            "guests": None,
            "now": NOW,
        } | change
        async with session_pool() as session:
            with pytest.raises(RsvpError) as refused:
                await rsvp.answer(session, **values)
        assert refused.value.reason == reason, change
    async with session_pool() as session:
        await schedule.cancel(session, meeting, now=NOW)
        await session.commit()
    with pytest.raises(RsvpError) as refused:
        await _say(session_pool, meeting, a)
    assert refused.value.reason == "cancelled"
    assert await _answers(session_pool, meeting) == {}


async def test_a_repeated_answer_changes_nothing(session_pool: SessionPool) -> None:
    meeting = await _meeting(session_pool, capacity=3)
    [a] = await _members(session_pool, 1)
    assert (await _say(session_pool, meeting, a, guests=1)).changed
    again = await _say(session_pool, meeting, a, now=NOW + timedelta(minutes=5))
    assert not again.changed
    assert again.attendance.guests == 1
    assert (await _say(session_pool, meeting, a, NO)).attendance.guests == 0


# --- the series ----------------------------------------------------------------------------


async def _series(pool: SessionPool, *, now: datetime = NOW) -> schedule.Horizon:
    async with pool() as session:
        result = await schedule.extend_horizon(session, now=now, zone=ZONE)
        await session.commit()
        return result


async def _dates(pool: SessionPool) -> list[tuple[datetime, MeetingStatus, CancelReason | None]]:
    async with pool() as session:
        rows = await session.scalars(select(Meeting).order_by(Meeting.starts_at))
        return [(row.starts_at, row.status, row.cancel_reason) for row in rows]


async def test_the_horizon_is_made_once(session_pool: SessionPool) -> None:
    await _group(session_pool)
    first = await _series(session_pool)
    assert (first.added, first.withdrawn) == (8, 0)
    assert (await _series(session_pool)) == schedule.Horizon(0, 0)
    dates = await _dates(session_pool)
    assert len(dates) == 8
    assert all(moment.astimezone(ZONE).strftime("%a %H:%M") == "Thu 19:00" for moment, *_ in dates)
    # A week later one more date joins.
    assert (await _series(session_pool, now=NOW + timedelta(days=7))).added == 1


async def test_a_changed_rule_withdraws_the_old_dates(session_pool: SessionPool) -> None:
    group_id = await _group(session_pool)
    await _series(session_pool)
    a, b, c = await _members(session_pool, 3)
    async with session_pool() as session:
        [first, *_rest] = await schedule.upcoming(session, now=NOW, until=NOW + timedelta(days=8))
    await _say(session_pool, first.id, a)
    await _say(session_pool, first.id, b, MAYBE)
    await _say(session_pool, first.id, c, NO)
    async with session_pool() as session:
        group = await session.get(Group, group_id)
        assert group is not None
        group.rrule = to_rrule(parse_rule("jeden Freitag 18 Uhr"))
        await session.commit()
    result = await _series(session_pool)
    assert (result.added, result.withdrawn) == (8, 8)
    dates = await _dates(session_pool)
    # The answered Thursday stays, cancelled; the others are gone; the Fridays came.
    assert dates[0] == (first.starts_at, MeetingStatus.CANCELLED, CancelReason.SCHEDULE_CHANGED)
    assert [d[0].astimezone(ZONE).strftime("%a %H:%M") for d in dates[1:]] == ["Fri 18:00"] * 8
    told = await _notices(session_pool, meeting_notices.MEETING_CHANGED)
    assert sorted(m for m, _p in told) == [a, b]
    assert all(p["change"] == meeting_notices.CANCELLED for _m, p in told)


async def test_move_and_cancel_tell_yes_and_maybe(session_pool: SessionPool) -> None:
    meeting = await _meeting(session_pool, capacity=1)
    a, b, c, d = await _members(session_pool, 4)
    await _say(session_pool, meeting, a)
    await _say(session_pool, meeting, b)  # waiting: told as well
    await _say(session_pool, meeting, c, MAYBE)
    await _say(session_pool, meeting, d, NO)
    before = NOW + timedelta(days=2)
    after = before + timedelta(days=1)
    async with session_pool() as session:
        await schedule.move(session, meeting, starts_at=after, now=NOW)
        await session.commit()
    moved = await _notices(session_pool, meeting_notices.MEETING_CHANGED)
    assert sorted(m for m, _p in moved) == [a, b, c]
    assert moved[0][1] == {
        "meeting_id": meeting,
        "change": "moved",
        "from": int(before.timestamp()),
        "to": int(after.timestamp()),
    }
    async with session_pool() as session:
        with pytest.raises(ScheduleError) as refused:
            await schedule.move(session, meeting, starts_at=NOW - timedelta(hours=1), now=NOW)
        assert refused.value.reason == "past"
        await schedule.cancel(session, meeting, now=NOW + timedelta(minutes=1))
        await session.commit()
    told = await _notices(session_pool, meeting_notices.MEETING_CHANGED)
    assert sorted(m for m, p in told if p["change"] == "cancelled") == [a, b, c]
    async with session_pool() as session:
        with pytest.raises(ScheduleError) as refused:
            await schedule.cancel(session, meeting, now=NOW)
        assert refused.value.reason == "cancelled"


async def test_a_pause_cancels_its_dates_and_the_series_makes_none(
    session_pool: SessionPool,
) -> None:
    group_id = await _group(session_pool)
    await _series(session_pool)
    async with session_pool() as session:
        one_off = await schedule.add_one_off(
            session, group_id=group_id, starts_at=datetime(2030, 1, 22, 17, tzinfo=UTC), now=NOW
        )
        await session.commit()
    [a] = await _members(session_pool, 1)
    async with session_pool() as session:
        [first] = await schedule.upcoming(session, now=NOW, until=NOW + timedelta(days=7))
    # Thursday 17 January 2030 is the first date of the pause.
    await _say(session_pool, first.id, a)
    async with session_pool() as session:
        cancelled = await schedule.pause(
            session,
            group_id,
            starts_on=date(2030, 1, 10),
            ends_on=date(2030, 1, 31),
            label="Winterpause",
            now=NOW,
            zone=ZONE,
        )
        await session.commit()
    paused_days = [m.starts_at.astimezone(ZONE).date() for m in cancelled]
    assert paused_days == [date(2030, 1, day) for day in (10, 17, 24, 31)]
    told = await _notices(session_pool, meeting_notices.MEETING_CHANGED)
    assert [m for m, _p in told] == [a]
    # A week later the series goes on, still with no date in the pause.
    await _series(session_pool, now=NOW + timedelta(days=7))
    dates = await _dates(session_pool)
    in_pause = [
        (status, reason)
        for moment, status, reason in dates
        if date(2030, 1, 10) <= moment.astimezone(ZONE).date() <= date(2030, 1, 31)
    ]
    assert in_pause.count((MeetingStatus.SCHEDULED, None)) == 1  # the one-off
    assert in_pause.count((MeetingStatus.CANCELLED, CancelReason.PAUSE)) == 4
    async with session_pool() as session:
        assert (await session.get(Meeting, one_off.id)).status == MeetingStatus.SCHEDULED  # type: ignore[union-attr]
        with pytest.raises(ScheduleError) as refused:
            await schedule.pause(
                session,
                group_id,
                starts_on=date(2030, 1, 5),
                ends_on=date(2030, 1, 3),
                label=None,
                now=NOW,
                zone=ZONE,
            )
        assert refused.value.reason == "period"


async def test_ending_the_series(session_pool: SessionPool) -> None:
    group_id = await _group(session_pool)
    await _series(session_pool)
    async with session_pool() as session:
        one_off = await schedule.add_one_off(
            session, group_id=group_id, starts_at=NOW + timedelta(days=20), now=NOW
        )
        ended = await schedule.end_series(session, group_id, now=NOW, zone=ZONE)
        await session.commit()
    assert len(ended) == 8
    assert all(m.cancel_reason == CancelReason.SERIES_ENDED for m in ended)
    assert (await _series(session_pool, now=NOW + timedelta(days=14))).added == 0
    async with session_pool() as session:
        following = await schedule.next_meeting(session, group_id, now=NOW)
        assert following is not None
        assert following.id == one_off.id
        with pytest.raises(ScheduleError) as refused:
            await schedule.end_series(session, group_id, now=NOW, zone=ZONE)
        assert refused.value.reason == "no_series"


async def test_one_offs(session_pool: SessionPool) -> None:
    group_id = await _group(session_pool)
    await _series(session_pool)
    async with session_pool() as session:
        [first, second, *_] = await schedule.upcoming(
            session, now=NOW, until=NOW + timedelta(days=30)
        )
    [a] = await _members(session_pool, 1)
    await _say(session_pool, first.id, a)

    async def add(at: datetime, **details: Any) -> Meeting:
        async with session_pool() as session:
            meeting = await schedule.add_one_off(
                session, group_id=group_id, starts_at=at, now=NOW, **details
            )
            await session.commit()
            return meeting

    for at, details, reason in [
        (first.starts_at, {}, "exists"),
        (NOW - timedelta(minutes=1), {}, "past"),
        (NOW, {}, "past"),
        (NOW + timedelta(days=800), {}, "too_far"),
        (NOW + timedelta(days=3), {"capacity": 0}, "capacity"),
        (NOW + timedelta(days=3), {"note": "x" * 501}, "too_long"),
    ]:
        with pytest.raises(ScheduleError) as refused:
            await add(at, **details)
        assert refused.value.reason == reason
    # A cancelled date taken up again starts afresh: its old answers were for the cancelled one.
    async with session_pool() as session:
        await schedule.cancel(session, first.id, now=NOW)
        await session.commit()
    again = await add(first.starts_at, capacity=5)
    assert (again.id, again.status, again.capacity) == (first.id, MeetingStatus.SCHEDULED, 5)
    assert await _answers(session_pool, first.id) == {}
    # The time a moved date left is free for a one-off of its own.
    async with session_pool() as session:
        await schedule.move(
            session, second.id, starts_at=second.starts_at + timedelta(hours=1), now=NOW
        )
        await session.commit()
    extra = await add(second.starts_at)
    assert extra.id != second.id
    assert extra.one_off
    async with session_pool() as session:
        assert await schedule.exdates(session, group_id) == [second.occurrence]
        await schedule.cancel(session, extra.id, now=NOW)
        await schedule.cancel(
            session,
            (await schedule.upcoming(session, now=NOW, until=NOW + timedelta(days=30)))[-1].id,
            now=NOW,
        )
        await session.commit()
        exdates = await schedule.exdates(session, group_id)
    assert len(exdates) == 2
    assert exdates[0] == second.occurrence


# --- the notices, rendered at sending time -------------------------------------------------


@pytest.fixture
def i18n_de() -> Iterator[None]:
    i18n = create_i18n("de")
    with i18n.context(), i18n.use_locale("de"):
        yield


async def _render(pool: SessionPool, kind: str, member_id: int) -> Any:
    async with pool() as session:
        row = await session.scalar(
            select(Delivery)
            .where(Delivery.kind == kind, Delivery.recipient_id == member_id)
            .order_by(Delivery.id.desc())
        )
        member = await session.get(Member, member_id)
        assert row is not None
        renderer = (
            render_rsvp_promoted
            if kind == meeting_notices.RSVP_PROMOTED
            else render_meeting_changed
        )
        return await renderer(session, row, member)


async def test_notices_are_withdrawn_when_no_longer_true(
    session_pool: SessionPool, i18n_de: None
) -> None:
    meeting = await _meeting(session_pool, capacity=1)
    a, b, c = await _members(session_pool, 3)
    await _say(session_pool, meeting, a)
    await _say(session_pool, meeting, b)
    await _say(session_pool, meeting, c)
    await _say(session_pool, meeting, a, NO)
    text, keyboard = await _render(session_pool, meeting_notices.RSVP_PROMOTED, b)
    assert text.startswith("🎉 <b>Ein Platz ist frei geworden: Du bist dabei!</b>")
    assert keyboard is not None
    # B says no before the notice goes out: C moves up, and B's notice is withdrawn.
    await _say(session_pool, meeting, b, NO)
    assert await _render(session_pool, meeting_notices.RSVP_PROMOTED, b) is None
    assert await _render(session_pool, meeting_notices.RSVP_PROMOTED, c) is not None
    # Moved, then cancelled: the move's notice is withdrawn, the cancellation's goes out.
    async with session_pool() as session:
        await schedule.move(session, meeting, starts_at=NOW + timedelta(days=3), now=NOW)
        await session.commit()
    text, keyboard = await _render(session_pool, meeting_notices.MEETING_CHANGED, c)
    assert text.startswith("🔁 <b>Verschoben:</b> Stammtisch Mitte ist jetzt am ")
    assert keyboard is not None
    async with session_pool() as session:
        await schedule.cancel(session, meeting, now=NOW + timedelta(minutes=1))
        await session.commit()
    async with session_pool() as session:
        rows = list(
            await session.scalars(
                select(Delivery)
                .where(Delivery.kind == meeting_notices.MEETING_CHANGED, Delivery.recipient_id == c)
                .order_by(Delivery.id)
            )
        )
        member = await session.get(Member, c)
        rendered = [await render_meeting_changed(session, row, member) for row in rows]
    assert rendered[0] is None
    text, keyboard = rendered[1]
    assert text.startswith("❌ <b>Abgesagt:</b> Stammtisch Mitte am ")
    assert keyboard is None
    # A promotion to a cancelled meeting is withdrawn too.
    assert await _render(session_pool, meeting_notices.RSVP_PROMOTED, c) is None
    async with session_pool() as session:
        total = await session.scalar(select(func.count()).select_from(Delivery))
    assert total == 4
