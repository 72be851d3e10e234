"""The result log after a shift: who may log when, replace semantics, limits, aggregates, the
prompt's queueing, and tables that can hold nothing but counts and topics.

Every test runs on SQLite and (with TEST_DATABASE_URL) on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, Integer, String, Text, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.db.session import SessionPool
from bot.services import action_results, field_actions, shifts
from bot.services.action_results import (
    MAX_COUNT,
    RESULT_PROMPT,
    Counts,
    ResultError,
    Totals,
)
from bot.services.field_actions import PlannedShift
from bot.services.preferences import set_opted_out
from bot.telegram.callbacks import ResultAct, ResultCallback
from models import (
    ActionKind,
    ActionResult,
    ActionResultTopic,
    Base,
    Category,
    Delivery,
    District,
    Member,
    Profile,
    Role,
    Topic,
)
from models.base import UTCDateTime

ZONE = ZoneInfo("Europe/Berlin")
# Tuesday 2030-01-08, 11:00 in Berlin: the actions are planned then, for the Saturday.
PLANNED = datetime(2030, 1, 8, 10, 0, tzinfo=UTC)
SATURDAY = date(2030, 1, 12)
# 10:00-12:00 and 12:00-14:00 in Berlin (winter: UTC+1).
PLAN = (PlannedShift(time(10), time(12), 3), PlannedShift(time(12), time(14), 3))
FIRST_END = datetime(2030, 1, 12, 11, 0, tzinfo=UTC)
SECOND_END = datetime(2030, 1, 12, 13, 0, tzinfo=UTC)
AFTER = SECOND_END + timedelta(hours=1)
MEMBER = frozenset({Role.MEMBER})
ANNA, BEN, CEM = 101, 102, 103


async def _members(pool: SessionPool) -> None:
    async with pool() as session:
        for member_id, name in ((ANNA, "Anna"), (BEN, "Ben"), (CEM, "Cem")):
            member = Member(id=member_id, first_name=name)
            member.profile = Profile(member_id=member_id)
            session.add(member)
        await session.commit()


async def _topics(pool: SessionPool) -> list[int]:
    async with pool() as session:
        rows = [
            Topic(key="miete", name="Miete", position=1),
            Topic(key="klima", name="Klima", position=2),
            Topic(key="bildung", name="Bildung", position=3),
        ]
        session.add_all(rows)
        await session.commit()
        return [row.id for row in rows]


async def _action(
    pool: SessionPool,
    *,
    kind: ActionKind = ActionKind.INFOSTAND,
    day: date = SATURDAY,
    title: str = "Infostand Marktplatz",
    holders: tuple[int, ...] = (ANNA, BEN),
) -> tuple[int, list[int]]:
    """An action on `day` with two shifts; `holders` on the first. (date id, shift ids)"""
    async with pool() as session:
        district = District(key=f"d-{title}", name="Mitte")
        session.add(district)
        await session.flush()
        action = await field_actions.create(
            session,
            kind=kind,
            title=title,
            place="Marktplatz",
            shifts=PLAN,
            on_day=day,
            now=PLANNED,
            zone=ZONE,
            district_id=district.id,
        )
        await session.commit()
        [row] = await field_actions.upcoming_dates(
            session, now=PLANNED, until=PLANNED + timedelta(days=60), action_ids=[action.id]
        )
        shift_ids = [shift.id for shift in row.shifts]
        for member_id in holders:
            await shifts.sign_up(session, shift_ids[0], member_id, now=PLANNED)
        await session.commit()
        return row.id, shift_ids


@pytest.fixture
async def setup(session_pool: SessionPool) -> tuple[int, list[int], list[int]]:
    await _members(session_pool)
    topic_ids = await _topics(session_pool)
    date_id, shift_ids = await _action(session_pool)
    return date_id, shift_ids, topic_ids


async def _count(pool: SessionPool, model: type[Base]) -> int:
    async with pool() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- logging ---------------------------------------------------------------------------------


async def test_a_teammate_logging_later_replaces_the_result(
    session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    _date_id, [shift, _other], [miete, klima, bildung] = setup
    async with session_pool() as session:
        await action_results.log(
            session, shift, ANNA, MEMBER, Counts(12, 40, 2), [miete, klima], now=FIRST_END
        )
        await session.commit()
    async with session_pool() as session:
        found = await action_results.target(session, shift, BEN, MEMBER, now=AFTER)
        assert found.logged is not None
        assert found.logged.counts == Counts(12, 40, 2)
        assert found.logged.topic_ids == {miete, klima}
        await action_results.log(session, shift, BEN, MEMBER, Counts(7, 0, 1), [bildung], now=AFTER)
        await session.commit()
    async with session_pool() as session:
        stored = await action_results.logged(session, shift)
    assert stored is not None
    assert stored.counts == Counts(7, 0, 1)
    assert stored.topic_ids == {bildung}
    assert stored.logged_at == AFTER
    assert await _count(session_pool, ActionResult) == 1
    assert await _count(session_pool, ActionResultTopic) == 1


async def test_planners_may_log_and_others_are_refused(
    session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    _date_id, [shift, _other], _topic_ids = setup
    async with session_pool() as session:
        with pytest.raises(ResultError, match="not_yours"):
            await action_results.log(session, shift, CEM, MEMBER, Counts(1), now=AFTER)
        # A host who plans no actions is no planner either.
        with pytest.raises(ResultError, match="not_yours"):
            await action_results.log(session, shift, CEM, {Role.HOST}, Counts(1), now=AFTER)
        await action_results.log(session, shift, CEM, {Role.ORGANISER}, Counts(3), now=AFTER)
        await session.commit()
    assert await _count(session_pool, ActionResult) == 1


@pytest.mark.parametrize(
    ("shift_index", "at", "reason"),
    [
        (0, FIRST_END - timedelta(minutes=1), "not_ended"),
        (0, FIRST_END + timedelta(days=14, seconds=1), "too_late"),
        (1, AFTER, "not_yours"),  # Anna holds the first shift, not the second
    ],
)
async def test_only_after_the_end_within_two_weeks_and_only_ones_own_shift(
    session_pool: SessionPool,
    setup: tuple[int, list[int], list[int]],
    shift_index: int,
    at: datetime,
    reason: str,
) -> None:
    _date_id, shift_ids, _topic_ids = setup
    async with session_pool() as session:
        with pytest.raises(ResultError) as caught:
            await action_results.log(
                session, shift_ids[shift_index], ANNA, MEMBER, Counts(), now=at
            )
        assert caught.value.reason == reason
    # Exactly at the end and on the last allowed moment it works.
    async with session_pool() as session:
        await action_results.target(session, shift_ids[0], ANNA, MEMBER, now=FIRST_END)
        await action_results.target(
            session, shift_ids[0], ANNA, MEMBER, now=FIRST_END + timedelta(days=14)
        )
    assert await _count(session_pool, ActionResult) == 0


async def test_forged_ids_bad_counts_and_unknown_topics_store_nothing(
    session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    date_id, [shift, _other], [miete, *_rest] = setup
    async with session_pool() as session:
        for forged in (0, -1, 2**31, 2**63, 10**30, shift + 1000):
            with pytest.raises(ResultError, match="unknown"):
                await action_results.log(session, forged, ANNA, MEMBER, Counts(), now=AFTER)
            assert await action_results.date_summary(session, forged) is None
        for counts in (Counts(-1), Counts(0, MAX_COUNT + 1), Counts(0, 0, 10**12)):
            with pytest.raises(ResultError, match="count"):
                await action_results.log(session, shift, ANNA, MEMBER, counts, now=AFTER)
        for topics in ([miete, 999_999], [0], [2**40]):
            with pytest.raises(ResultError, match="topic"):
                await action_results.log(session, shift, ANNA, MEMBER, Counts(), topics, now=AFTER)
        # The limits themselves are fine.
        await action_results.log(
            session, shift, ANNA, MEMBER, Counts(MAX_COUNT, 0, MAX_COUNT), now=AFTER
        )
        await session.commit()
    async with session_pool() as session:
        stored = await action_results.logged(session, shift)
        assert stored is not None
        assert stored.counts == Counts(MAX_COUNT, 0, MAX_COUNT)
        # A called-off date takes no result any more.
        await field_actions.cancel_date(session, date_id, now=PLANNED)
        await session.commit()
    async with session_pool() as session:
        with pytest.raises(ResultError, match="cancelled"):
            await action_results.log(session, shift, ANNA, MEMBER, Counts(), now=AFTER)


def test_steppers_clamp_and_button_data_stay_short() -> None:
    assert action_results.clamp(-5) == 0
    assert action_results.clamp(MAX_COUNT + 10) == MAX_COUNT
    assert Counts(1, 2, 3).with_value(2, 10**9) == Counts(1, 2, MAX_COUNT)
    biggest = ResultCallback(
        act=ResultAct.TOPIC, shift_id=2**31 - 1, field=2, value=2**31 - 1, rev=99_999, page=99
    )
    assert len(biggest.pack()) < 64
    negative = ResultCallback(act=ResultAct.ADD, shift_id=1, field=0, value=-10, rev=5)
    assert ResultCallback.unpack(negative.pack()).value == -10


# --- what the tables can hold ------------------------------------------------------------------


async def test_the_result_tables_hold_counts_and_topics_only(
    session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    _date_id, [shift, _other], [miete, klima, _bildung] = setup
    columns = {
        name: {column.name: column for column in Base.metadata.tables[name].columns}
        for name in ("action_results", "action_result_topics")
    }
    assert set(columns["action_results"]) == {
        "shift_id",
        "conversations",
        "leaflets",
        "contacts",
        "logged_at",
    }
    assert set(columns["action_result_topics"]) == {"shift_id", "topic_id", "mentions"}
    for table in columns.values():
        for name, column in table.items():
            # Numbers and one moment; nothing that could hold a name, an address or a note.
            assert isinstance(column.type, Integer | UTCDateTime), name
            assert not isinstance(column.type, String | Text | JSON), name
            assert not any(word in name for word in ("member", "name", "address", "note", "by"))
            for key in column.foreign_keys:
                assert key.column.table.name in {"shifts", "topics", "action_results"}

    async with session_pool() as session:
        await action_results.log(
            session, shift, ANNA, MEMBER, Counts(5, 20, 1), [miete, klima], now=AFTER
        )
        await session.commit()
    async with session_pool() as session:
        results = (await session.execute(text("SELECT * FROM action_results"))).mappings().all()
        topics = (
            (await session.execute(text("SELECT * FROM action_result_topics"))).mappings().all()
        )
    assert [dict(row) | {"logged_at": None} for row in results] == [
        {"shift_id": shift, "conversations": 5, "leaflets": 20, "contacts": 1, "logged_at": None}
    ]
    assert sorted((row["shift_id"], row["topic_id"], row["mentions"]) for row in topics) == [
        (shift, miete, 1),
        (shift, klima, 1),
    ]
    cells = [value for row in [*results, *topics] for value in row.values()]
    assert ANNA not in cells
    assert not any(isinstance(value, str) and "Anna" in value for value in cells)


# --- aggregates --------------------------------------------------------------------------------


async def test_summaries_per_date_and_over_a_period(session_pool: SessionPool) -> None:
    await _members(session_pool)
    miete, klima, bildung = await _topics(session_pool)
    stand, [stand_a, stand_b] = await _action(session_pool)
    doors, [door_a, _door_b] = await _action(
        session_pool, kind=ActionKind.DOOR_TO_DOOR, title="Haustür Nord", holders=(CEM,)
    )
    later, [later_a, _later_b] = await _action(
        session_pool, day=SATURDAY + timedelta(days=7), title="Infostand später"
    )
    async with session_pool() as session:
        await shifts.sign_up(session, stand_b, BEN, now=PLANNED)
        await session.commit()
        logs = [
            (stand_a, ANNA, Counts(10, 50, 2), [miete, klima]),
            (stand_b, BEN, Counts(4, 30, 0), [miete]),
            (door_a, CEM, Counts(8, 8, 1), [bildung, miete]),
            (later_a, ANNA, Counts(1, 1, 1), [klima]),
        ]
        for shift_id, member_id, counts, topic_ids in logs:
            at = AFTER + timedelta(days=7) if shift_id == later_a else AFTER
            await action_results.log(
                session, shift_id, member_id, MEMBER, counts, topic_ids, now=at
            )
        await session.commit()

    async with session_pool() as session:
        summary = await action_results.date_summary(session, stand)
        assert summary is not None
        assert summary.shifts_total == 2
        assert summary.totals == Totals(shifts=2, conversations=14, leaflets=80, contacts=2)
        assert [(item.name, item.mentions) for item in summary.topics] == [
            ("Miete", 2),
            ("Klima", 1),
        ]
        door_summary = await action_results.date_summary(session, doors)
        assert door_summary is not None
        assert door_summary.totals == Totals(1, 8, 8, 1)
        assert door_summary.action_date.action.district is not None
        nothing = await action_results.date_summary(session, later)
        assert nothing is not None

        period = await action_results.period_summary(session, SATURDAY, SATURDAY)
        assert dict(period.by_kind) == {
            ActionKind.INFOSTAND: Totals(2, 14, 80, 2),
            ActionKind.DOOR_TO_DOOR: Totals(1, 8, 8, 1),
        }
        # Most mentioned first; ties in the topic list's order.
        assert [(item.name, item.mentions) for item in period.topics] == [
            ("Miete", 3),
            ("Klima", 1),
            ("Bildung", 1),
        ]
        whole = await action_results.period_summary(
            session, SATURDAY - timedelta(days=1), SATURDAY + timedelta(days=7)
        )
        assert whole.by_kind[ActionKind.INFOSTAND] == Totals(3, 15, 81, 3)
        assert [(item.name, item.mentions) for item in whole.topics][:2] == [
            ("Miete", 3),
            ("Klima", 2),
        ]
        # Per area and date for reports: only dates with a result, by day; or of one kind.
        listed = await action_results.date_summaries(
            session, SATURDAY, SATURDAY + timedelta(days=7)
        )
        assert [item.action_date.id for item in listed] == [stand, doors, later]
        assert listed[2].totals == Totals(1, 1, 1, 1)
        doors_only = await action_results.date_summaries(
            session, SATURDAY, SATURDAY, kind=ActionKind.DOOR_TO_DOOR
        )
        assert [item.action_date.id for item in doors_only] == [doors]
        empty = await action_results.period_summary(session, date(2031, 1, 1), date(2031, 2, 1))
        assert dict(empty.by_kind) == {}
        assert empty.topics == ()


# --- the prompt ----------------------------------------------------------------------------------


async def _prompts(pool: SessionPool) -> list[Delivery]:
    async with pool() as session:
        return list(
            await session.scalars(
                select(Delivery).where(Delivery.kind == RESULT_PROMPT).order_by(Delivery.id)
            )
        )


async def _queue(pool: SessionPool, at: datetime) -> int:
    async with pool() as session:
        queued = await action_results.queue_prompts(session, now=at)
        await session.commit()
        return queued


async def test_prompts_are_queued_once_per_member_after_the_end(
    session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    _date_id, [shift, _other], _topic_ids = setup
    assert await _queue(session_pool, FIRST_END - timedelta(minutes=1)) == 0
    assert await _queue(session_pool, FIRST_END) == 2
    # A rerun, a restart, a second instance: nothing new.
    assert await _queue(session_pool, FIRST_END + timedelta(minutes=5)) == 0
    assert await _queue(session_pool, FIRST_END + timedelta(hours=23)) == 0
    rows = await _prompts(session_pool)
    assert sorted(row.dedupe_key or "" for row in rows) == [
        f"arp:{shift}:{ANNA}",
        f"arp:{shift}:{BEN}",
    ]
    assert {row.recipient_id for row in rows} == {ANNA, BEN}
    assert all(row.payload == {"shift_id": shift} for row in rows)
    assert {row.due_at for row in rows} == {FIRST_END}


async def test_members_who_switched_reminders_off_are_not_asked(
    session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    async with session_pool() as session:
        await set_opted_out(session, BEN, Category.REMINDERS, opted_out=True)
        await session.commit()
    assert await _queue(session_pool, FIRST_END) == 1
    [row] = await _prompts(session_pool)
    assert row.recipient_id == ANNA
    assert row.category == Category.REMINDERS.value


async def test_no_prompt_for_old_shifts_or_when_a_result_exists(
    session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    _date_id, [shift, _other], _topic_ids = setup
    # The bot was down for more than a day after the shift: no prompt any more.
    assert await _queue(session_pool, FIRST_END + timedelta(hours=24, minutes=1)) == 0
    assert await _prompts(session_pool) == []

    await _members_on_a_second_action(session_pool)
    async with session_pool() as session:
        await action_results.log(session, shift, ANNA, MEMBER, Counts(1), now=FIRST_END)
        await session.commit()
    # Logged before the job came round: the shift's people are not asked.
    assert await _queue(session_pool, FIRST_END + timedelta(minutes=5)) == 1
    [row] = await _prompts(session_pool)
    assert row.recipient_id == CEM


async def _members_on_a_second_action(pool: SessionPool) -> None:
    await _action(pool, title="Infostand Bahnhof", holders=(CEM,))


async def test_the_prompt_is_withdrawn_once_a_teammate_logged(
    session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    _date_id, [shift, _other], _topic_ids = setup
    assert await _queue(session_pool, FIRST_END) == 2
    payload = {"shift_id": shift}
    async with session_pool() as session:
        found = await action_results.prompt_still_wanted(session, payload, BEN, now=AFTER)
        assert found is not None
        assert found.id == shift
        # Not for someone not on the shift, nor for forged payloads.
        assert await action_results.prompt_still_wanted(session, payload, CEM, now=AFTER) is None
        for forged in ({}, {"shift_id": "1"}, {"shift_id": True}, {"shift_id": 2**63}):
            assert await action_results.prompt_still_wanted(session, forged, BEN, now=AFTER) is None
        await action_results.log(session, shift, ANNA, MEMBER, Counts(2), now=AFTER)
        await session.commit()
    async with session_pool() as session:
        assert await action_results.prompt_still_wanted(session, payload, BEN, now=AFTER) is None


async def test_teammates_saving_at_once_leave_one_consistent_result(
    engine: AsyncEngine, session_pool: SessionPool, setup: tuple[int, list[int], list[int]]
) -> None:
    _date_id, [shift, _other], topic_ids = setup
    async with session_pool() as session:
        await shifts.sign_up(session, shift, CEM, now=PLANNED)
        await session.commit()
    wide = None
    pool = session_pool
    if engine.dialect.name == "postgresql":
        wide = create_async_engine(engine.url, pool_size=10, max_overflow=0)
        pool = async_sessionmaker(wide, expire_on_commit=False)
    start = asyncio.Event()

    async def save(index: int, member_id: int) -> None:
        await start.wait()
        async with pool() as session:
            counts = Counts(index + 1, index + 1, index + 1)
            await action_results.log(
                session, shift, member_id, MEMBER, counts, [topic_ids[index]], now=AFTER
            )
            await session.commit()

    tasks = [
        asyncio.create_task(save(index, member_id))
        for index, member_id in enumerate((ANNA, BEN, CEM))
    ]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*tasks)
    if wide is not None:
        await wide.dispose()
    async with session_pool() as session:
        stored = await action_results.logged(session, shift)
    assert stored is not None
    winner = stored.counts.conversations - 1
    assert stored.counts == Counts(winner + 1, winner + 1, winner + 1)
    assert stored.topic_ids == {topic_ids[winner]}
    assert await _count(session_pool, ActionResult) == 1
    assert await _count(session_pool, ActionResultTopic) == 1
