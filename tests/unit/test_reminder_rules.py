"""The clock rules of reminders and hosts' evenings, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.services.host_notices import last_evening
from bot.services.reminders import Due, latest_due, valid_offsets

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 29, 17, 0, tzinfo=UTC)  # 19:00 in Berlin, the first summer-time day
LONG_AGO = START - timedelta(days=30)


def test_offsets_are_whole_positive_minutes_largest_first() -> None:
    assert valid_offsets([120, 1440, 120, -5, 0, "60", 2.5, None, True]) == [1440, 120]
    assert valid_offsets(None) == []


def test_only_the_latest_due_offset_counts() -> None:
    offsets = [1440, 120]
    assert latest_due(START, offsets, answered_at=LONG_AGO, now=START - timedelta(days=2)) is None
    assert latest_due(START, offsets, answered_at=LONG_AGO, now=START - timedelta(hours=24)) == 1440
    assert latest_due(START, offsets, answered_at=LONG_AGO, now=START - timedelta(hours=3)) == 1440
    # After downtime past both points: only the two-hour one, not a burst.
    assert latest_due(START, offsets, answered_at=LONG_AGO, now=START - timedelta(hours=1)) == 120
    assert latest_due(START, [], answered_at=LONG_AGO, now=START) is None


def test_a_moment_before_the_answer_needs_no_reminder() -> None:
    answered = START - timedelta(hours=5)
    assert latest_due(START, [1440, 120], answered_at=answered, now=answered) is None
    now = START - timedelta(hours=2)
    assert latest_due(START, [1440, 120], answered_at=answered, now=now) == 120


def test_the_key_names_meeting_start_offset_and_member() -> None:
    due = Due(7, START, 120, 2**62)
    assert due.key == f"rem:7:{int(START.timestamp())}:120:{2**62}"
    assert due.remind_at == START - timedelta(hours=2)


def test_the_evening_is_six_in_the_kvs_zone_across_the_dst_change() -> None:
    # 19:30 summer time on the day the clocks went forward: that day's 18:00 (16:00 UTC).
    assert last_evening(START + timedelta(minutes=30), ZONE) == datetime(
        2026, 3, 29, 16, 0, tzinfo=UTC
    )
    # 17:59 local: still the evening before, 18:00 winter time (17:00 UTC).
    assert last_evening(datetime(2026, 3, 29, 15, 59, tzinfo=UTC), ZONE) == datetime(
        2026, 3, 28, 17, 0, tzinfo=UTC
    )
