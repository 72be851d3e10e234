"""Re-engagement's rules: who is quiet, the caps, reactions, pauses and the call list."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Application
from bot.db.session import SessionPool
from bot.scheduler import create_scheduler, register_jobs
from bot.services import call_list, pauses, reengagement
from bot.services.action_notices import SWAP_TAKEN
from bot.services.meeting_notices import RSVP_PROMOTED
from bot.services.pauses import PauseChoice, PauseError
from bot.services.reengagement import Reacted
from jobs.reengagement import queue_call_list, queue_check_ins
from models import (
    AuditAction,
    AuditEntry,
    Category,
    CheckIn,
    ContactFrequency,
    Delivery,
    Group,
    GroupMembership,
    GroupType,
    Member,
    OptOut,
    Reaction,
)
from tests.quiet_members import add_member

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 2, 10, 9, 30, tzinfo=UTC)
MONTHS = 6
DAY = timedelta(days=1)


async def _due(session: Any, now: datetime = NOW) -> set[int]:
    await reengagement.queue_check_ins(session, now=now, months=MONTHS, zone=ZONE)
    rows = await session.scalars(select(CheckIn.member_id).where(CheckIn.queued_at == now))
    return set(rows)


async def test_who_is_quiet_and_may_get_a_check_in(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        quiet = await add_member(session, 1, now=NOW)
        weekly = await add_member(session, 2, now=NOW, frequency=ContactFrequency.WEEKLY)
        monthly = await add_member(session, 3, now=NOW, frequency=ContactFrequency.MONTHLY)
        await add_member(session, 4, now=NOW, frequency=ContactFrequency.IMPORTANT_ONLY)
        await add_member(session, 5, now=NOW, seen=timedelta(days=30))  # wrote to the bot
        await add_member(session, 6, now=NOW, consented=timedelta(days=30))  # agreed lately
        await add_member(session, 7, now=NOW, consented=None)  # never agreed
        await add_member(session, 8, now=NOW, departed=True)
        await add_member(session, 9, now=NOW, reachable=False)
        await add_member(session, 10, now=NOW, paused_until=NOW + DAY)
        await add_member(session, 11, now=NOW, opted_out=True)
        ended = await add_member(session, 12, now=NOW, paused_until=NOW - DAY)
        joined = await add_member(session, 13, now=NOW)
        long_ago = await add_member(session, 14, now=NOW)
        group = Group(key="g", name="Stammtisch", type=GroupType.STAMMTISCH)
        session.add(group)
        await session.flush()
        session.add(GroupMembership(group_id=group.id, member_id=joined, joined_at=NOW - DAY))
        session.add(
            GroupMembership(group_id=group.id, member_id=long_ago, joined_at=NOW - 300 * DAY)
        )
        await session.flush()
        assert await reengagement.count_due(session, now=NOW, months=MONTHS, zone=ZONE) == 5
        assert await _due(session) == {quiet, weekly, monthly, ended, long_ago}
        # The outbox holds one row per member, keyed by quarter, in the check-ins category.
        keys = set(await session.scalars(select(Delivery.dedupe_key)))
        assert f"check_in:2027Q1:{quiet}" in keys
        assert len(keys) == 5
        categories = set(await session.scalars(select(Delivery.category)))
        assert categories == {Category.CHECK_INS.value}


async def test_caps_quarter_gap_and_snooze(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        member = await add_member(session, 1, now=NOW)
        assert await _due(session) == {member}
        # Again the same day, the same quarter, the next day: nothing.
        assert await reengagement.queue_check_ins(session, now=NOW, months=MONTHS, zone=ZONE) == 0
        assert await _due(session, NOW + DAY) == set()
        # A new quarter (1 April) but not 91 days since the last one: still nothing.
        april = datetime(2027, 4, 2, 9, tzinfo=UTC)
        assert await _due(session, april) == set()
        # 91 days on: the next one.
        later = NOW + reengagement.QUARTER + DAY
        assert await _due(session, later) == {member}
        quarter = reengagement.quarter_of(later, ZONE)
        assert quarter == "2027Q2"
        # "Later", tapped a while after: the snooze counts from the tap.
        tapped = later + 60 * DAY
        reacted = await reengagement.react(session, member, quarter, Reaction.LATER, now=tapped)
        assert reacted == Reacted.RECORDED
        assert await _due(session, later + reengagement.QUARTER + DAY) == set()
        assert await _due(session, tapped + reengagement.SNOOZE + DAY) == {member}


async def test_reactions_first_counts_fewer_always_switches_off(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        member = await add_member(session, 1, now=NOW)
        await _due(session)
        quarter = reengagement.quarter_of(NOW, ZONE)
        react = reengagement.react
        assert await react(session, member, "2026Q1", Reaction.SHOW, now=NOW) == Reacted.UNKNOWN
        assert await react(session, 2, quarter, Reaction.SHOW, now=NOW) == Reacted.UNKNOWN
        assert await react(session, member, quarter, Reaction.LATER, now=NOW) == Reacted.RECORDED
        assert await react(session, member, quarter, Reaction.LATER, now=NOW) == Reacted.ALREADY
        assert await react(session, member, quarter, Reaction.SHOW, now=NOW) == Reacted.ALREADY
        assert await react(session, member, quarter, Reaction.FEWER, now=NOW) == Reacted.RECORDED
        assert await react(session, member, quarter, Reaction.FEWER, now=NOW) == Reacted.ALREADY
        row = await reengagement.find(session, member, quarter)
        assert row is not None
        assert row.reaction == Reaction.FEWER
        opted = await session.scalar(select(func.count()).select_from(OptOut))
        assert opted == 1


def test_quarters_in_the_kvs_zone() -> None:
    # 31 December 23:30 UTC is already the new year in Berlin.
    assert reengagement.quarter_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), ZONE) == "2027Q1"
    assert reengagement.quarter_of(datetime(2027, 6, 30, 12, tzinfo=UTC), ZONE) == "2027Q2"


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[int]]:
    binds: list[int] = []

    def count(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
        binds.append(len(parameters) if parameters else 0)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield binds
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_counting_binds_a_fixed_few_parameters(
    session_pool: SessionPool, engine: AsyncEngine
) -> None:
    async with session_pool() as session:
        for member_id in range(1, 301):
            await add_member(session, member_id, now=NOW)
        await session.commit()
        with statements(engine) as binds:
            due = await reengagement.count_due(session, now=NOW, months=MONTHS, zone=ZONE)
            listed = await call_list.call_page(session, now=NOW, months=MONTHS, page=0)
        assert due == 300
        assert listed.total == 0
        assert binds
        assert max(binds) < 30
        # A run queues at most its batch.
        queued = await reengagement.queue_check_ins(
            session, now=NOW, months=MONTHS, zone=ZONE, limit=120
        )
        assert queued == 120


def test_typed_pause_days() -> None:
    today = date(2027, 2, 10)
    assert pauses.parse_day("24.12.2027", today=today) == date(2027, 12, 24)
    assert pauses.parse_day(" 1.3.27 ", today=today) == date(2027, 3, 1)
    # Without a year: the next such day.
    assert pauses.parse_day("11.2.", today=today) == date(2027, 2, 11)
    assert pauses.parse_day("9.2.", today=today) == date(2028, 2, 9)
    for text, reason in [
        ("morgen", "format"),
        ("31.02.2027", "format"),
        ("", "format"),
        ("10.02.2027", "past"),
        ("01.01.2027", "past"),
        ("11.02.2028", "too_far"),
    ]:
        with pytest.raises(PauseError) as caught:
            pauses.parse_day(text, today=today)
        assert caught.value.reason == reason, text


def test_a_pause_lasts_through_its_last_day_and_holds_back_bulk_only() -> None:
    member = Member(id=1)
    until = pauses.pause(member, date(2027, 2, 24), ZONE)
    assert until == datetime(2027, 2, 24, 23, tzinfo=UTC)
    assert pauses.last_day(until, ZONE) == date(2027, 2, 24)
    assert pauses.choice_day(PauseChoice.TWO_WEEKS, NOW, ZONE) == date(2027, 2, 24)
    assert pauses.choice_day(PauseChoice.THREE_MONTHS, NOW, ZONE) == date(2027, 5, 10)
    assert pauses.holds_back(member, "broadcast", NOW)
    assert pauses.holds_back(member, reengagement.CHECK_IN, NOW)
    # Answers to the member's own requests still come.
    assert not pauses.holds_back(member, RSVP_PROMOTED, NOW)
    assert not pauses.holds_back(member, SWAP_TAKEN, NOW)
    assert not pauses.holds_back(member, "broadcast", until)
    assert pauses.end_pause(member)
    assert not pauses.paused(member, NOW)
    assert not pauses.end_pause(member)


async def _sent(session: Any, member_id: int, at: datetime) -> None:
    await reengagement.queue_check_ins(session, now=at, months=MONTHS, zone=ZONE)
    row = await reengagement.find(session, member_id, reengagement.quarter_of(at, ZONE))
    assert row is not None
    await reengagement.mark_sent(session, row, now=at)
    await session.flush()


async def test_the_call_list_who_and_why(session_pool: SessionPool) -> None:
    sent = NOW - 4 * 7 * DAY
    async with session_pool() as session:
        to_call = await add_member(session, 1, now=NOW, name="Anna")
        no_consent = await add_member(session, 2, now=NOW)
        reacted = await add_member(session, 3, now=NOW)
        recent = await add_member(session, 4, now=NOW)
        for member_id in (to_call, no_consent, reacted):
            await _sent(session, member_id, sent)
        await _sent(session, recent, NOW - 7 * DAY)
        quarter = reengagement.quarter_of(sent, ZONE)
        await reengagement.react(session, reacted, quarter, Reaction.SHOW, now=sent + DAY)
        for member_id in (to_call, reacted, recent):
            await call_list.give_consent(session, member_id, "+49 30 1234567", now=NOW)
        await session.flush()
        page = await call_list.call_page(session, now=NOW, months=MONTHS, page=0)
        assert page.total == 1
        [entry] = page.entries
        assert (entry.id, entry.first_name, entry.phone) == (to_call, "Anna 1", "+49 30 1234567")
        assert entry.checked_in == sent
        assert entry.last_active == NOW - timedelta(days=400)
        # Reading it is audited; a page past the end shows the last one.
        await call_list.record_page_view(session, 99, page)
        audited = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == AuditAction.CALL_LIST)
        )
        assert audited is not None
        assert audited.count == 1
        clamped = await call_list.call_page(session, now=NOW, months=MONTHS, page=7)
        assert clamped.clamped
        assert clamped.page == 0
        # Withdrawing deletes the number: off the list.
        assert await call_list.revoke_consent(session, to_call)
        assert not await call_list.revoke_consent(session, to_call)
        assert await call_list.count_to_call(session, now=NOW, months=MONTHS) == 0


async def test_the_monthly_list_is_queued_once_per_organiser(session_pool: SessionPool) -> None:
    sent = NOW - 4 * 7 * DAY
    async with session_pool() as session:
        member = await add_member(session, 1, now=NOW)
        await _sent(session, member, sent)
        # Nobody to call yet: nothing queued.
        assert await call_list.queue_call_list(session, now=NOW, months=MONTHS, admin_ids={7}) == 0
        await call_list.give_consent(session, member, "+4930123", now=NOW)
        assert await call_list.queue_call_list(session, now=NOW, months=MONTHS, admin_ids={7}) == 1
        assert await call_list.queue_call_list(session, now=NOW, months=MONTHS, admin_ids={7}) == 0
        row = await session.scalar(select(Delivery).where(Delivery.kind == call_list.CALL_LIST))
        assert row is not None
        assert row.recipient_id == 7
        assert row.payload == {"month": "2027-02", "months": MONTHS}


async def test_the_jobs_run_daily_and_on_the_first_monday(app: Application) -> None:
    scheduler = create_scheduler()
    scheduler.start(paused=True)
    try:
        register_jobs(scheduler, app.job_context())
        daily = scheduler.get_job("reengagement-check-ins")
        monthly = scheduler.get_job("reengagement-call-list")
    finally:
        scheduler.shutdown(wait=False)
    assert daily is not None
    assert monthly is not None
    assert daily.func is queue_check_ins
    assert monthly.func is queue_call_list
    after = datetime(2027, 2, 10, tzinfo=UTC)
    fire = monthly.trigger.get_next_fire_time(None, after)
    assert fire.astimezone(ZONE).date() == date(2027, 3, 1)  # the first Monday of March
    fire = monthly.trigger.get_next_fire_time(None, fire + DAY)
    assert fire.astimezone(ZONE).date() == date(2027, 4, 5)
    fire = daily.trigger.get_next_fire_time(None, after)
    assert (fire.astimezone(ZONE).hour, fire.astimezone(ZONE).minute) == (10, 30)
