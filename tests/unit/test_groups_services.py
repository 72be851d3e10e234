"""Services behind /gruppen: next dates from meeting rows, browsing, leaving, proposals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db.session import SessionPool
from bot.services import directory, proposals, rsvp, schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.services.profile import leave_group
from bot.services.recurrence import RuleError
from models import (
    Attendance,
    Delivery,
    Group,
    GroupMembership,
    Member,
    Profile,
    ProposalStatus,
    Role,
    RsvpAnswer,
)

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday

SETUP = """
name: KV Testhausen
districts: [Mitte, Nord]
topics: [Umwelt, Bildung]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    topics: [umwelt]
    meets: every Thursday 19:00
  - key: ag-umwelt
    name: AG Umwelt
    type: ag
    topics: [umwelt]
  - key: basisgruppe-nord
    name: Basisgruppe Nord
    type: basisgruppe
    district: nord
    topics: [bildung]
telegram_groups:
  - chat_id: -100
    title: Mitte Chat
    group: stammtisch-mitte
    link: https://t.me/+mitte
"""


async def _member(session_pool: SessionPool, member_id: int, name: str) -> None:
    async with session_pool() as session:
        member = Member(id=member_id, first_name=name)
        member.profile = Profile(member_id=member_id, topics=[], activity_types=[], free_time=[])
        session.add(member)
        await session.commit()


@pytest.fixture
async def kv(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.flush()
        await schedule.extend_horizon(session, now=NOW, zone=ZONE)
        await session.commit()


async def _group(session: object, key: str) -> Group:
    group = await session.scalar(select(Group).where(Group.key == key))  # type: ignore[attr-defined]
    assert group is not None
    return group


async def test_lists_show_the_next_date_from_the_rows(session_pool: SessionPool, kv: None) -> None:
    async with session_pool() as session:
        mitte = await _group(session, "stammtisch-mitte")
        first = await schedule.next_meeting(session, mitte.id, now=NOW)
        assert first is not None
        await schedule.cancel(session, first.id, now=NOW)
        await session.commit()
        page = await directory.listing(session, now=NOW, page=0, size=10)
        listed = {item.group.key: item for item in page.groups}
        dates = listed["stammtisch-mitte"].dates
        # The cancelled Thursday stays, shown as cancelled; the next one is a week later.
        assert [meeting.cancelled for meeting in dates] == [True, False]
        next_meeting = listed["stammtisch-mitte"].next_meeting
        assert next_meeting is not None
        assert next_meeting.starts_at == first.starts_at + timedelta(weeks=1)
        assert listed["ag-umwelt"].next_meeting is None
        # A one-off date counts like any other.
        umwelt = listed["ag-umwelt"].group
        one_off = await schedule.add_one_off(
            session, group_id=umwelt.id, starts_at=NOW + timedelta(days=40), now=NOW
        )
        await session.commit()
        dates = await directory.upcoming_dates(session, [umwelt.id], now=NOW)
        assert [meeting.id for meeting in dates[umwelt.id]] == [one_off.id]
        assert await directory.chat_link(session, mitte.id) == "https://t.me/+mitte"
        assert await directory.chat_link(session, umwelt.id) is None


async def test_browse_by_kind_stadtteil_and_topic(session_pool: SessionPool, kv: None) -> None:
    async with session_pool() as session:

        async def keys(kind: directory.BrowseKind, value: int) -> list[str]:
            page = await directory.browse(session, kind, value, now=NOW, page=0, size=10)
            return [listed.group.key for listed in page.groups]

        kinds = directory.GROUP_TYPES
        assert await keys("type", kinds.index(directory.GroupType.AG)) == ["ag-umwelt"]
        mitte = await _group(session, "stammtisch-mitte")
        assert mitte.district_id is not None
        assert await keys("district", mitte.district_id) == ["stammtisch-mitte"]
        assert await keys("district", 0) == ["ag-umwelt"]
        umwelt = mitte.topics[0].id
        assert await keys("topic", umwelt) == ["stammtisch-mitte", "ag-umwelt"]
        for kind, value in (("type", 7), ("district", 4242), ("topic", 0), ("topic", 2**63)):
            with pytest.raises(directory.GroupError) as error:
                await keys(kind, value)  # type: ignore[arg-type]
            assert error.value.reason == "unknown_filter"
        with pytest.raises(directory.GroupError):
            await directory.browse(session, "district", 0, now=NOW, page=1, size=10)
        assert await directory.active_group(session, 2**63) is None


async def test_leaving_withdraws_future_answers_and_lets_the_waiting_in(
    session_pool: SessionPool, kv: None
) -> None:
    for member_id, name in ((1, "Anna"), (2, "Ben")):
        await _member(session_pool, member_id, name)
    async with session_pool() as session:
        mitte = await _group(session, "stammtisch-mitte")
        meeting = await schedule.next_meeting(session, mitte.id, now=NOW)
        assert meeting is not None
        await schedule.set_capacity(session, meeting.id, 1, now=NOW)
        session.add(GroupMembership(group_id=mitte.id, member_id=1, joined_at=NOW))
        for member_id in (1, 2):
            await rsvp.answer(
                session,
                meeting_id=meeting.id,
                member_id=member_id,
                consented=True,
                answer=RsvpAnswer.YES,
                now=NOW,
            )
        await session.commit()
        anna = await session.get(Member, 1)
        assert anna is not None
        result = await leave_group(session, anna, mitte.id, NOW + timedelta(minutes=1))
        await session.commit()
        assert (result.left, result.withdrawn) == (True, 1)
        assert await session.get(Attendance, (meeting.id, 1)) is None
        ben = await session.get(Attendance, (meeting.id, 2), populate_existing=True)
        assert ben is not None
        assert not ben.waitlisted  # moved up, and told
        assert await session.scalar(select(Delivery.recipient_id)) == 2
        again = await leave_group(session, anna, mitte.id, NOW)
        assert (again.left, again.withdrawn) == (False, 0)


def test_the_members_words_are_checked() -> None:
    assert proposals.check_name("  Stammtisch   Süd ") == "Stammtisch Süd"
    for bad in ("ab", "x" * 101, "   "):
        with pytest.raises(proposals.ProposalError):
            proposals.check_name(bad)
    with pytest.raises(proposals.ProposalError):
        proposals.check_place("x" * 201)
    phrase, _rule = proposals.check_rhythm("jeden  Donnerstag 19 Uhr")
    assert phrase == "jeden Donnerstag 19 Uhr"
    with pytest.raises(RuleError):
        proposals.check_rhythm("wenn es passt")


async def test_approve_once_and_unique_keys(session_pool: SessionPool, kv: None) -> None:
    await _member(session_pool, 1, "Anna")
    async with session_pool() as session:
        proposal = await proposals.propose(
            session,
            proposer_id=1,
            name="Stammtisch Mitte",
            district_id=None,
            place=None,
            rule="every Tuesday 19:00",
            now=NOW,
        )
        with pytest.raises(proposals.ProposalError):
            await proposals.propose(
                session,
                proposer_id=1,
                name="Stammtisch X",
                district_id=4242,
                place=None,
                rule=None,
                now=NOW,
            )
        decision = await proposals.decide(
            session, proposal.id, approve=True, decided_by=99, now=NOW, zone=ZONE
        )
        await session.commit()
        assert decision.decided
        assert decision.group is not None
        # "stammtisch-mitte" is taken by the setup's group.
        assert decision.group.key == "stammtisch-mitte-2"
        assert decision.group.rrule is not None
        anna = await session.get(Member, 1)
        assert anna is not None
        assert Role.HOST in anna.role_set
        later = await proposals.decide(
            session, proposal.id, approve=False, decided_by=98, now=NOW, zone=ZONE
        )
        assert not later.decided
        assert (later.proposal.status, later.proposal.decided_by) == (ProposalStatus.APPROVED, 99)
        for forged in (0, 4242, 2**63):
            with pytest.raises(proposals.ProposalError):
                await proposals.decide(
                    session, forged, approve=True, decided_by=99, now=NOW, zone=ZONE
                )
        assert await proposals.unique_key(session, "Stammtisch Mitte") == "stammtisch-mitte-3"
        assert await proposals.unique_key(session, "!!!") == "stammtisch"
