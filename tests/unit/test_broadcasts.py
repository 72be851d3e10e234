"""Broadcast rules: typed times in the KV's zone, audiences, starting and finishing exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.db.session import SessionPool
from bot.services import audience as segments
from bot.services import broadcast_draft, broadcasts
from bot.services.broadcast_draft import Draft, DraftError
from bot.services.broadcasts import ScheduleError, parse_local_time
from bot.services.delivery import mark_sent
from bot.services.kv_setup import apply_setup, load_setup
from bot.services.preferences import opted_out_among, opted_out_categories, set_opted_out
from models import (
    Broadcast,
    BroadcastStatus,
    Category,
    Delivery,
    DeliveryStatus,
    District,
    Member,
    Profile,
    Topic,
)
from tests.broadcasting import recipient_ids, schedule_broadcast

BERLIN = ZoneInfo("Europe/Berlin")
# A Saturday in March 2027, the day before the clocks go forward.
NOW = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("28.03. 10:00", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),  # summer time: UTC+2
        ("27.03. 18:30", datetime(2027, 3, 27, 17, 30, tzinfo=UTC)),  # still winter: UTC+1
        ("28.03.2027 10:00", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
        ("28.3.27 10.00 Uhr", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
        ("2027-03-28 10:00", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
        ("28.03., 10:00", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
        ("28.03. um 10:00", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
        # Without a year, a date already past means next year's.
        ("01.03. 09:00", datetime(2028, 3, 1, 8, 0, tzinfo=UTC)),
        # In autumn 02:30 happens twice; the first (summer-time) one is meant.
        ("31.10. 02:30", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    ],
)
def test_typed_times_are_local_and_dst_correct(text: str, expected: datetime) -> None:
    assert parse_local_time(text, BERLIN, NOW) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("morgen", "format"),
        ("28.03.", "format"),
        ("31.02. 10:00", "format"),
        ("28.03. 25:00", "format"),
        ("27.03.2027 12:00", "past"),
        ("27.03.2027 13:00", "past"),  # 13:00 local is 12:00 UTC: now, not after
        ("28.03. 02:30", "gap"),  # the clocks jump from 02:00 to 03:00
        ("2029-01-01 10:00", "far"),
    ],
)
def test_unusable_times_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ScheduleError) as error:
        parse_local_time(text, BERLIN, NOW)
    assert error.value.reason == reason


SETUP = """
name: KV
districts: [Mitte, Nord]
topics: [Umwelt, Bildung]
"""


async def _setup(pool: SessionPool, members: int = 6) -> None:
    """Members 1..n: odd ones in Mitte, even in Nord; 1 and 2 care for Umwelt."""
    async with pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.flush()
        mitte = await session.scalar(select(District.id).where(District.name == "Mitte"))
        nord = await session.scalar(select(District.id).where(District.name == "Nord"))
        umwelt = await session.scalar(select(Topic).where(Topic.name == "Umwelt"))
        for member_id in range(1, members + 1):
            member = Member(id=member_id, reachable=member_id != 5)
            member.profile = Profile(
                member_id=member_id,
                district_id=mitte if member_id % 2 else nord,
                topics=[umwelt] if member_id <= 2 else [],
            )
            session.add(member)
        # Someone who never agreed: in no audience at all.
        session.add(Member(id=99, reachable=True))
        await session.flush()
        await set_opted_out(session, 3, Category.ANNOUNCEMENTS, opted_out=True)
        await session.commit()


async def test_audiences_combine_and_count_who_is_left_out(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    async with session_pool() as session:
        mitte = await session.scalar(select(District.id).where(District.name == "Mitte"))
        nord = await session.scalar(select(District.id).where(District.name == "Nord"))
        umwelt = await session.scalar(select(Topic.id).where(Topic.name == "Umwelt"))
        announcements = Category.ANNOUNCEMENTS
        everyone = await segments.reach(session, segments.Audience(), announcements)
        assert everyone == segments.Reach(recipients=4, unreachable=1, opted_out=1)
        ids = await recipient_ids(session, segments.Audience(), announcements)
        assert ids == [1, 2, 4, 6]
        in_mitte = segments.Audience(districts=frozenset({mitte}))
        assert await recipient_ids(session, in_mitte, announcements) == [1]
        reach = await segments.reach(session, in_mitte, announcements)
        assert (reach.recipients, reach.opted_out, reach.unreachable) == (1, 1, 1)
        both = segments.Audience(districts=frozenset({mitte, nord}))
        assert await recipient_ids(session, both, announcements) == [1, 2, 4, 6]
        green_north = segments.Audience(districts=frozenset({nord}), topics=frozenset({umwelt}))
        assert await recipient_ids(session, green_north, announcements) == [2]
        assert (await segments.reach(session, green_north, announcements)).recipients == 1
        # Opting out of announcements does not opt out of reminders.
        assert await recipient_ids(session, in_mitte, Category.REMINDERS) == [1, 3]
        reminders = await segments.reach(session, in_mitte, Category.REMINDERS)
        assert (reminders.recipients, reminders.opted_out) == (2, 0)
        assert await opted_out_categories(session, 3) == {Category.ANNOUNCEMENTS}
        assert await opted_out_among(session, [1, 2, 3], "announcements") == {3}


async def test_forged_audiences_are_refused(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    async with session_pool() as session:
        with pytest.raises(segments.UnknownSegmentError):
            await segments.check(session, segments.Audience(topics=frozenset({424242})))
        for data in (
            {"everyone": [1]},
            {"districts": "1"},
            {"districts": [True]},
            {"districts": ["1"]},
            {"topics": list(range(500))},
            [],
        ):
            with pytest.raises(segments.UnknownSegmentError):
                segments.Audience.from_json(data)  # type: ignore[arg-type]
        with pytest.raises(segments.UnknownSegmentError):
            await broadcasts.schedule(
                session,
                author_id=1,
                source_chat_id=1,
                source_message_id=1,
                content_type="text",
                summary="x",
                category=Category.ANNOUNCEMENTS,
                audience=segments.Audience(groups=frozenset({7})),
                scheduled_at=NOW,
            )
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def _schedule(pool: SessionPool, at: datetime) -> int:
    return await schedule_broadcast(pool, at, summary="  Hallo\n  alle  ")


async def test_a_broadcast_starts_once_at_its_time(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    broadcast_id = await _schedule(session_pool, NOW + timedelta(hours=1))
    async with session_pool() as session:
        assert await broadcasts.start_due(session, NOW) == []
        await session.commit()

    async def start() -> int:
        async with session_pool() as session:
            started = await broadcasts.start_due(session, NOW + timedelta(hours=1))
            await session.commit()
            return len(started)

    # Two instances look at the same moment: exactly one starts it.
    assert sorted(await asyncio.gather(start(), start())) == [0, 1]
    async with session_pool() as session:
        broadcast = await broadcasts.get(session, broadcast_id)
        assert broadcast is not None
        assert broadcast.summary == "Hallo alle"
        assert broadcast.status is BroadcastStatus.SENDING
        assert (broadcast.total, broadcast.opted_out, broadcast.unreachable) == (5, 1, 1)
        rows = list(await session.scalars(select(Delivery).order_by(Delivery.recipient_id)))
        assert [row.recipient_id for row in rows] == [1, 2, 4, 5, 6]
        assert {row.kind for row in rows} == {"broadcast"}
        assert {row.category for row in rows} == {"announcements"}
        assert rows[3].status is DeliveryStatus.BLOCKED
        assert rows[0].payload == {
            "broadcast_id": broadcast_id,
            "from_chat_id": 1,
            "message_id": 10,
        }

        # Finishing happens once, and only when nothing is open.
        assert not await broadcasts.finish(session, broadcast_id, NOW)
        await mark_sent(session, [row.id for row in rows if row.recipient_id != 5], now=NOW)
        progress = await broadcasts.progress(
            session, broadcast, NOW + timedelta(hours=1, seconds=2)
        )
        assert (progress.total, progress.sent, progress.blocked, progress.open) == (5, 4, 1, 0)
        assert progress.rate == pytest.approx(2.5)
        assert await broadcasts.finish(session, broadcast_id, NOW)
        assert not await broadcasts.finish(session, broadcast_id, NOW)
        await session.commit()
        assert await broadcasts.cancel(session, broadcast_id, by=1, now=NOW) is None


async def test_cancel_stops_what_is_not_sent(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    scheduled = await _schedule(session_pool, NOW + timedelta(days=1))
    running = await _schedule(session_pool, NOW)
    async with session_pool() as session:
        await broadcasts.start_due(session, NOW)
        await session.commit()
        assert [b.id for b in await broadcasts.open_broadcasts(session)] == [running, scheduled]
        stopped = await broadcasts.cancel(session, running, by=7, now=NOW)
        assert stopped is not None
        assert stopped.cancelled_by == 7
        await broadcasts.cancel(session, scheduled, by=7, now=NOW)
        await session.commit()
        statuses = set(
            await session.scalars(select(Delivery.status).where(Delivery.batch_id == running))
        )
        assert statuses == {DeliveryStatus.CANCELLED, DeliveryStatus.BLOCKED}
        assert await broadcasts.open_broadcasts(session) == []
        assert await broadcasts.start_due(session, NOW + timedelta(days=2)) == []


def test_a_draft_travels_as_plain_json() -> None:
    draft = Draft.of_message(chat_id=1, message_id=2, content_type="photo", text="  Plakat\n ")
    draft = draft.with_audience(segments.Audience(districts=frozenset({3})))
    draft = draft.with_category(Category.CALLS_FOR_HELP).scheduled(NOW)
    data = draft.to_json()
    assert data == {
        "chat_id": 1,
        "message_id": 2,
        "content_type": "photo",
        "summary": "Plakat",
        "audience": {
            "districts": [3],
            "topics": [],
            "groups": [],
            "activity_types": [],
            "meetings": [],
        },
        "category": "calls_for_help",
        "at": "2027-03-27T12:00:00+00:00",
    }
    assert Draft.from_json(data) == draft
    # Changing the audience or the kind drops the time: it was confirmed for the old ones.
    assert draft.with_category(Category.REMINDERS).at is None
    assert draft.with_audience(segments.Audience()).at is None


TEXT = {"chat_id": 1, "message_id": 2, "content_type": "text"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (None, DraftError),
        ({**TEXT, "chat_id": "1"}, DraftError),
        ({**TEXT, "content_type": "sticker"}, DraftError),
        ({**TEXT, "category": "gossip"}, ValueError),
        ({**TEXT, "audience": {"people": [1]}}, segments.UnknownSegmentError),
    ],
)
def test_anything_else_is_not_a_draft(data: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        Draft.from_json(data)


def test_choosing_a_value_is_checked_and_says_what_it_sets() -> None:
    options = [segments.Option(1, "Mitte"), segments.Option(2, "Nord")]
    audience = segments.Audience().with_value("districts", 2, options)
    assert audience.with_value("districts", 2, options) == audience
    assert audience.districts == {2}
    with pytest.raises(segments.UnknownSegmentError):
        audience.with_value("districts", 3, options)
    assert audience.without_value("districts", 2) == segments.Audience()
    assert segments.Audience().without_value("districts", 2) == segments.Audience()


async def test_a_draft_is_sent_now_or_at_its_time(session_pool: SessionPool) -> None:
    await _setup(session_pool)
    draft = Draft.of_message(chat_id=1, message_id=10, content_type="text", text="Hallo")
    async with session_pool() as session:
        now = await broadcast_draft.submit(session, draft, author_id=1, at=None, now=NOW)
        # The same draft again (a double tap on "Send"): no second broadcast.
        with pytest.raises(broadcasts.AlreadySubmittedError) as again:
            await broadcast_draft.submit(session, draft, author_id=1, at=None, now=NOW)
        assert again.value.broadcast.id == now.id
        other = Draft.of_message(chat_id=1, message_id=11, content_type="text", text="Hallo")
        later = await broadcast_draft.submit(
            session, other, author_id=1, at=NOW + timedelta(hours=2), now=NOW
        )
        await session.commit()
        assert (now.status, now.total) == (BroadcastStatus.SENDING, 5)
        assert (later.status, later.scheduled_at) == (
            BroadcastStatus.SCHEDULED,
            NOW + timedelta(hours=2),
        )


async def test_buttons_act_only_on_broadcasts_that_exist_and_run(
    session_pool: SessionPool,
) -> None:
    await _setup(session_pool)
    running = await _schedule(session_pool, NOW)
    async with session_pool() as session:
        await broadcasts.start_due(session, NOW)
        await session.commit()
        assert (await broadcasts.find(session, running, running=True)).id == running
        with pytest.raises(broadcasts.BroadcastError) as unknown:
            await broadcasts.find(session, 999)
        assert unknown.value.reason == "unknown"
        assert (await broadcasts.stop(session, running, by=7, now=NOW)).cancelled_by == 7
        await session.commit()
        with pytest.raises(broadcasts.BroadcastError) as ended:
            await broadcasts.stop(session, running, by=7, now=NOW)
        assert ended.value.reason == "ended"
        with pytest.raises(broadcasts.BroadcastError) as ended:
            await broadcasts.find(session, running, running=True)
        assert ended.value.reason == "ended"
        with pytest.raises(broadcasts.BroadcastError) as unknown:
            await broadcasts.stop(session, 999, by=7, now=NOW)
        assert unknown.value.reason == "unknown"
        # Stopped after it started: among the recently finished, until it is too long ago.
        assert [b.id for b in await broadcasts.recently_finished(session, 3)] == [running]
        later = NOW + timedelta(days=1)
        assert await broadcasts.recently_finished(session, 3, since=later) == []
