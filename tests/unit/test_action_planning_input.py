"""What planners type when they create a field action in the chat: shift plans ("9:30-10
Aufbau 2, 10-12 3"), one day or a rule with a period, and the hosts who may plan."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.db.session import SessionPool
from bot.services import field_actions
from bot.services.field_actions import ActionError, PlannedShift, ShiftTextError
from bot.services.recurrence import MomentError, RuleError
from models import Member, MemberRole, Role

ZONE = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 12, 1)


def test_typed_shift_plan_is_read_with_labels_and_people() -> None:
    plan = field_actions.parse_shifts(
        "9:30-10 Aufbau 2, 10-12 3; 12.00 - 14 Uhr 3 Personen\n14-16 3"
    )
    assert plan == (
        PlannedShift(time(9, 30), time(10), 2, "Aufbau"),
        PlannedShift(time(10), time(12), 3),
        PlannedShift(time(12), time(14), 3),
        PlannedShift(time(14), time(16), 3),
    )
    # Typed out of order, kept in order.
    assert [item.start for item in field_actions.parse_shifts("12-14 1, 10-12 1")] == [
        time(10),
        time(12),
    ]


@pytest.mark.parametrize(
    ("typed", "reason", "part"),
    [
        ("", "shifts", ""),
        ("10-12", "format", "10-12"),
        ("Aufbau 2", "format", "Aufbau 2"),
        ("10-12 3, 25-26 1", "time", "25-26 1"),
        ("9:61-10 1", "time", "9:61-10 1"),
        ("12-10 3", "reversed", "12-10 3"),
        ("10-10 3", "reversed", "10-10 3"),
        ("10-12 3, 11-13 2", "overlap", "11-13 2"),
        ("10-12 0", "needed", "10-12 0"),
        ("10-12 51", "needed", "10-12 51"),
        ("10-12 " + "x" * 51 + " 2", "label", "10-12 " + "x" * 51 + " 2"),
        (", ".join(f"{hour}-{hour + 1} 1" for hour in range(9)), "shifts", ""),
        ("10-12 1, " * 100, "too_long", ""),
    ],
)
def test_typed_shift_plan_refusals_name_the_part(typed: str, reason: str, part: str) -> None:
    with pytest.raises(ShiftTextError) as caught:
        field_actions.parse_shifts(typed)
    assert (caught.value.reason, caught.value.part) == (reason, part)


def test_when_is_one_day_or_a_rule_with_a_period() -> None:
    read = field_actions.parse_when
    assert read("Sa 12.12.", today=TODAY).on_day == date(2026, 12, 12)
    assert read("12.12.2026", today=TODAY).on_day == date(2026, 12, 12)
    assert read("morgen", today=TODAY).on_day == date(2026, 12, 2)
    assert read("Samstag", today=TODAY).on_day == date(2026, 12, 5)
    rule = read("jeden Samstag 1.12.-28.2.", today=TODAY)
    assert (rule.on_day, rule.rule) == (None, "jeden Samstag")
    assert (rule.starts_on, rule.ends_on) == (date(2026, 12, 1), date(2027, 2, 28))
    until = read("samstags bis 28.2.", today=TODAY)
    assert (until.rule, until.starts_on, until.ends_on) == (
        "samstags",
        TODAY,
        date(2027, 2, 28),
    )
    head = read("vom 1.12. bis 28.2.: samstags", today=TODAY)
    assert (head.rule, head.starts_on, head.ends_on) == (
        "samstags",
        date(2026, 12, 1),
        date(2027, 2, 28),
    )
    assert read("every Saturday", today=TODAY).rule == "every Saturday"
    assert read("every Saturday", today=TODAY).starts_on is None


@pytest.mark.parametrize(
    "typed", ["1.1.2020", "31.2.", "bald", "jeden Blautag", "jeden Samstag 1.3.-1.2.2026"]
)
def test_when_refusals_say_why(typed: str) -> None:
    with pytest.raises(RuleError) as caught:
        field_actions.parse_when(typed, today=TODAY)
    assert str(caught.value)
    if typed == "1.1.2020":
        assert isinstance(caught.value, MomentError)
        assert caught.value.reason == "past"


def test_a_single_day_must_still_lie_ahead() -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
    plan = (PlannedShift(time(10), time(12), 2),)
    with pytest.raises(ActionError, match="past"):
        field_actions.check_day(TODAY, plan, now=now, zone=ZONE)
    field_actions.check_day(TODAY, (PlannedShift(time(12), time(13), 1),), now=now, zone=ZONE)
    with pytest.raises(ActionError, match="too_far"):
        field_actions.check_day(date(2028, 1, 1), plan, now=now, zone=ZONE)


async def test_hosts_as_planners_lists_hosts_and_who_is_allowed(session_pool: SessionPool) -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    async with session_pool() as session:
        for member_id, name, role in (
            (1, "Ben", Role.HOST),
            (2, "Anna", Role.HOST),
            (3, "Olga", Role.ORGANISER),
            (4, "Max", None),
        ):
            member = Member(id=member_id, first_name=name)
            if role is not None:
                member.roles = [MemberRole(role=role)]
            session.add(member)
        await session.flush()
        await field_actions.allow_planner(session, 1, allowed=True, by=3, now=now)
        await session.commit()
        listed = await field_actions.hosts_as_planners(session)
        assert [(member.first_name, allowed) for member, allowed in listed] == [
            ("Anna", False),
            ("Ben", True),
        ]
        assert await field_actions.is_host(session, 2)
        assert not await field_actions.is_host(session, 3)
        assert not await field_actions.is_host(session, 0)
