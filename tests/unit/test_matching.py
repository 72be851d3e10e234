"""Matching: which groups a new member sees first, which never, and the reasons given."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.matching import (
    FREE_TIME_FIT,
    KV_WIDE,
    MEETS_SOON,
    NEWCOMER_FRIENDLY,
    SAME_DISTRICT,
    TOPIC,
    GroupFacts,
    MemberNeeds,
    Reasons,
    Suggestion,
    rank_groups,
    top,
)

BERLIN = ZoneInfo("Europe/Berlin")
# A Monday; Berlin is on CET (UTC+1) then.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=BERLIN).astimezone(UTC)

MITTE, NORD, SUED = 1, 2, 3
UMWELT, BILDUNG, MIETEN, FRIEDEN = 10, 11, 12, 13

THURSDAY_EVENING = "every Thursday 19:00"  # next: Thu 26.11. 19:00 CET, within two weeks
SATURDAY_MORNING = "every Saturday 10:00"  # next: Sat 28.11. 10:00 CET, within two weeks
SECOND_TUESDAY = "every 2nd Tuesday 10:00"  # next: Tue 08.12. 10:00 CET, 14 days 22 h away


def member(
    district: int | None = MITTE,
    topics: set[int] | None = None,
    free: set[str] | None = None,
    joined: set[int] | None = None,
) -> MemberNeeds:
    return MemberNeeds(
        district_id=district,
        topic_ids=frozenset(topics or ()),
        free_time=frozenset(free or ()),
        joined_group_ids=frozenset(joined or ()),
    )


def group(
    group_id: int,
    *,
    district: int | None = MITTE,
    topics: frozenset[int] | tuple[int, ...] = frozenset(),
    rule: str | None = None,
    kind: str = "basisgruppe",
    newcomer: bool = False,
    active: bool = True,
    last_activity: datetime | None = None,
    position: int = 0,
) -> GroupFacts:
    return GroupFacts(
        id=group_id,
        name=f"Gruppe {group_id}",
        type=kind,
        district_id=district,
        topic_ids=topics,
        rule=rule,
        newcomer_friendly=newcomer,
        active=active,
        last_activity_at=last_activity,
        position=position,
    )


def ranked_ids(needs: MemberNeeds, groups: list[GroupFacts]) -> list[int]:
    return [s.group_id for s in rank_groups(needs, groups, now=NOW, zone=BERLIN)]


def reasons_for(needs: MemberNeeds, facts: GroupFacts) -> Reasons:
    [suggestion] = rank_groups(needs, [facts], now=NOW, zone=BERLIN)
    return suggestion.reasons


RANK_CASES = [
    pytest.param(
        member(topics={UMWELT}),
        [
            group(1, district=NORD, topics=frozenset({UMWELT})),
            group(2),
            group(3, topics=frozenset({UMWELT}), position=9),
        ],
        [3, 2, 1],
        id="district-match-beats-topic-only",
    ),
    pytest.param(
        member(topics={UMWELT, BILDUNG}),
        [
            group(1, district=NORD, topics=frozenset({UMWELT, BILDUNG})),
            group(2),
        ],
        [2, 1],
        id="district-beats-two-topics-elsewhere",
    ),
    pytest.param(
        member(topics={BILDUNG}),
        [
            group(1, district=None),
            group(2, district=NORD),
            group(3, district=None, topics=frozenset({BILDUNG})),
            group(4, district=NORD, topics=frozenset({BILDUNG}), position=-1),
        ],
        [3, 4, 1],
        id="kv-wide-reachable-and-above-other-district-same-topics",
    ),
    pytest.param(
        member(district=NORD, topics={UMWELT}),
        [
            group(1, district=MITTE, topics=frozenset({BILDUNG})),
            group(2, district=SUED, newcomer=True, rule=THURSDAY_EVENING),
            group(3, district=MITTE, topics=frozenset({UMWELT, BILDUNG})),
        ],
        [3],
        id="other-district-without-topic-excluded",
    ),
    pytest.param(
        member(district=None, topics={UMWELT}),
        [
            group(1, district=MITTE),
            group(2, district=NORD, topics=frozenset({UMWELT}), position=5),
            group(3, district=None, position=1),
        ],
        # Neither excluded nor boosted: the KV-wide group 3 earns nothing over group 1.
        [2, 1, 3],
        id="member-without-district",
    ),
    pytest.param(
        member(free={"weekday_evening"}),
        [
            group(1, rule=SATURDAY_MORNING),
            group(2, rule=THURSDAY_EVENING, position=5),
            group(3),
        ],
        # Clash is a penalty, not an exclusion: below the group without a rule, still listed.
        [2, 3, 1],
        id="free-time-evening-fit-vs-weekend-clash",
    ),
    pytest.param(
        member(free={"weekday_daytime"}),
        [
            group(1, rule=SATURDAY_MORNING),
            group(2, rule=THURSDAY_EVENING, position=5),
            group(3, rule=SECOND_TUESDAY, position=9),
        ],
        # 3 fits (not soon: 14 days 22 h away); 1 and 2 clash equally, Thursday comes sooner.
        [3, 2, 1],
        id="free-time-daytime-fit-and-sooner-breaks-tie",
    ),
    pytest.param(
        member(),
        [
            group(1, rule=SATURDAY_MORNING),
            group(2, rule=THURSDAY_EVENING, position=5),
        ],
        [2, 1],
        id="no-free-time-given-sooner-first",
    ),
    pytest.param(
        member(),
        [
            group(1),
            group(2, newcomer=True, position=5),
            group(3, district=None, newcomer=True),
        ],
        [2, 1, 3],
        id="newcomer-friendly-breaks-tie-not-district",
    ),
    pytest.param(
        member(topics={UMWELT}, joined={1}),
        [
            group(1, topics=frozenset({UMWELT}), newcomer=True),
            group(2, topics=frozenset({UMWELT}), active=False),
            group(3),
            group(4, district=None, topics=frozenset({UMWELT}), active=False),
        ],
        [3],
        id="joined-and-inactive-excluded",
    ),
    pytest.param(
        member(),
        [
            group(1, rule="whenever we feel like it", newcomer=True),
            group(2, rule=THURSDAY_EVENING),
            group(3, rule="every other Thursday 19:00"),
            group(4, rule="31.02."),
            group(5, rule=""),
        ],
        [1, 2, 3, 4, 5],
        id="unparseable-rules-count-as-none",
    ),
    pytest.param(
        member(),
        [
            group(5, position=1),
            group(3, position=1),
            group(9, position=0),
            group(2, position=2),
        ],
        [9, 3, 5, 2],
        id="ties-by-position-then-id",
    ),
    pytest.param(
        member(),
        [
            group(1, kind="ag"),
            group(2, kind="basisgruppe"),
            group(3, kind="stammtisch", position=9),
        ],
        [3, 1, 2],
        id="no-topics-prefers-stammtisch",
    ),
    pytest.param(
        member(topics={FRIEDEN}),
        [
            group(1, kind="ag"),
            group(2, kind="basisgruppe"),
            group(3, kind="stammtisch", position=9),
        ],
        [1, 2, 3],
        id="with-topics-no-stammtisch-nudge",
    ),
    pytest.param(
        member(topics={UMWELT, BILDUNG, MIETEN}),
        [
            group(1, district=NORD, topics=frozenset({UMWELT, BILDUNG, MIETEN})),
            group(2, topics=frozenset({UMWELT}), position=5),
            group(3, district=NORD, topics=frozenset({UMWELT, BILDUNG}), position=-1),
            group(4, position=9),
        ],
        # The third topic still counts (1 above 3), but little: not even the own Stadtteil
        # without any topic (4) is beaten.
        [2, 4, 1, 3],
        id="diminishing-topic-returns",
    ),
    pytest.param(
        member(),
        [
            group(1, last_activity=NOW - timedelta(days=30), position=5),
            group(2, last_activity=NOW - timedelta(days=90), position=1),
            group(3, position=0),
            group(4, last_activity=NOW - timedelta(days=60), position=6),
        ],
        [1, 4, 3, 2],
        id="recent-activity-within-60-days",
    ),
    pytest.param(
        member(),
        [
            group(1, rule=SECOND_TUESDAY),
            group(2, rule=THURSDAY_EVENING, position=5),
            group(3, last_activity=NOW - timedelta(days=1), position=1),
            group(4, position=1),
        ],
        # Only 2 meets within two weeks; 1 (14 days 22 h away) gets no more than the recently
        # active 3 without a rule, and ties with 4, where a known meeting beats none.
        [2, 3, 1, 4],
        id="meets-soon-bonus",
    ),
]


@pytest.mark.parametrize(("needs", "groups", "expected"), RANK_CASES)
def test_rank(needs: MemberNeeds, groups: list[GroupFacts], expected: list[int]) -> None:
    assert ranked_ids(needs, groups) == expected
    # Order doesn't depend on the input order.
    assert ranked_ids(needs, groups[::-1]) == expected


def test_reasons_for_a_full_fit() -> None:
    facts = group(
        7,
        topics=(BILDUNG, UMWELT, FRIEDEN),
        rule=THURSDAY_EVENING,
        newcomer=True,
        kind="ag",
    )
    needs = member(topics={UMWELT, BILDUNG, MIETEN}, free={"weekday_evening", "weekend"})
    [suggestion] = rank_groups(needs, [facts], now=NOW, zone=BERLIN)
    assert suggestion == Suggestion(
        group_id=7,
        score=SAME_DISTRICT + 2 * TOPIC + FREE_TIME_FIT + NEWCOMER_FRIENDLY + MEETS_SOON,
        reasons=Reasons(
            same_district=True,
            kv_wide=False,
            shared_topic_ids=(BILDUNG, UMWELT),
            slot="weekday_evening",
            fits_free_time=True,
            newcomer_friendly=True,
            next_meeting=datetime(2026, 11, 26, 18, 0, tzinfo=UTC),
        ),
    )


@pytest.mark.parametrize(
    ("topics", "expected"),
    [
        ((FRIEDEN, MIETEN, UMWELT, BILDUNG), (FRIEDEN, UMWELT, BILDUNG)),
        ((BILDUNG, UMWELT, BILDUNG), (BILDUNG, UMWELT)),
        # A frozenset keeps no order; ascending ids stand in.
        (frozenset({FRIEDEN, UMWELT, BILDUNG}), (UMWELT, BILDUNG, FRIEDEN)),
        (frozenset({MIETEN}), ()),
    ],
)
def test_shared_topics_in_group_order(
    topics: frozenset[int] | tuple[int, ...], expected: tuple[int, ...]
) -> None:
    needs = member(topics={UMWELT, BILDUNG, FRIEDEN})
    assert reasons_for(needs, group(1, topics=topics)).shared_topic_ids == expected


@pytest.mark.parametrize(
    ("rule", "free", "slot", "fits"),
    [
        (THURSDAY_EVENING, {"weekday_evening"}, "weekday_evening", True),
        (THURSDAY_EVENING, {"weekend"}, "weekday_evening", False),
        (THURSDAY_EVENING, set(), "weekday_evening", None),
        (SATURDAY_MORNING, {"weekend", "weekday_daytime"}, "weekend", True),
        (SECOND_TUESDAY, {"weekday_daytime"}, "weekday_daytime", True),
        (SECOND_TUESDAY, {"weekday_evening"}, "weekday_daytime", False),
        # German rules work the same.
        ("jeden 2. Donnerstag 19 Uhr", {"weekday_evening"}, "weekday_evening", True),
        (None, {"weekday_evening"}, None, None),
        ("nach Absprache", {"weekday_evening"}, None, None),
        # All day on a weekday: evening or daytime is unknown, so no claim either way.
        ("every Thursday", {"weekday_evening"}, None, None),
        ("every Saturday", {"weekday_evening"}, "weekend", False),
        # Only unknown slot names: as if nothing was said.
        (THURSDAY_EVENING, {"morgens"}, "weekday_evening", None),
    ],
)
def test_slot_and_free_time_fit(
    rule: str | None, free: set[str], slot: str | None, fits: bool | None
) -> None:
    reasons = reasons_for(member(free=free), group(1, rule=rule))
    assert (reasons.slot, reasons.fits_free_time) == (slot, fits)


def test_district_reasons() -> None:
    assert reasons_for(member(), group(1)).same_district
    assert not reasons_for(member(), group(1)).kv_wide
    kv_wide = reasons_for(member(), group(1, district=None))
    assert (kv_wide.same_district, kv_wide.kv_wide) == (False, True)
    elsewhere = reasons_for(member(topics={UMWELT}), group(1, district=NORD, topics=(UMWELT,)))
    assert (elsewhere.same_district, elsewhere.kv_wide) == (False, False)
    # Without a Stadtteil of their own nothing is "same district"; KV-wide is still a fact.
    unsure = reasons_for(member(district=None), group(1, district=None))
    assert (unsure.same_district, unsure.kv_wide) == (False, True)


def test_member_without_district_gets_no_place_points() -> None:
    needs = member(district=None)
    [local, kv_wide] = rank_groups(
        needs, [group(1), group(2, district=None, position=1)], now=NOW, zone=BERLIN
    )
    assert local.score == kv_wide.score == 0.0
    [with_district] = rank_groups(member(), [group(2, district=None)], now=NOW, zone=BERLIN)
    assert with_district.score == KV_WIDE


@pytest.mark.parametrize(
    ("now", "rule", "expected"),
    [
        # Friday before the switch (CET, UTC+1) -> Monday after it (CEST, UTC+2).
        (
            datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN),
            "every Monday 19:00",
            datetime(2026, 3, 30, 17, 0, tzinfo=UTC),
        ),
        # On the switch day itself.
        (
            datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN),
            "every Sunday 10:00",
            datetime(2026, 3, 29, 8, 0, tzinfo=UTC),
        ),
        # Strictly after now: a meeting starting right now is not the next one.
        (
            datetime(2026, 3, 26, 19, 0, tzinfo=BERLIN),
            "every Thursday 19:00",
            datetime(2026, 4, 2, 17, 0, tzinfo=UTC),
        ),
        (
            datetime(2026, 3, 26, 18, 59, tzinfo=BERLIN),
            "every Thursday 19:00",
            datetime(2026, 3, 26, 18, 0, tzinfo=UTC),
        ),
    ],
)
def test_next_meeting_across_dst(now: datetime, rule: str, expected: datetime) -> None:
    [suggestion] = rank_groups(member(), [group(1, rule=rule)], now=now, zone=BERLIN)
    next_meeting = suggestion.reasons.next_meeting
    assert next_meeting == expected
    assert next_meeting is not None
    assert next_meeting.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("now", "soon"),
    [
        # The next 2nd Tuesday (08.12. 10:00) exactly 14 days ahead still counts ...
        (datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN), True),
        # ... a minute more doesn't.
        (datetime(2026, 11, 24, 9, 59, tzinfo=BERLIN), False),
    ],
)
def test_meets_soon_is_within_fourteen_days(now: datetime, soon: bool) -> None:
    [suggestion] = rank_groups(member(), [group(1, rule=SECOND_TUESDAY)], now=now, zone=BERLIN)
    assert suggestion.score == SAME_DISTRICT + (MEETS_SOON if soon else 0.0)


def test_next_meeting_none_without_a_readable_rule() -> None:
    assert reasons_for(member(), group(1)).next_meeting is None
    assert reasons_for(member(), group(1, rule="whenever")).next_meeting is None


def test_now_in_any_zone_gives_the_same_result_and_naive_now_is_refused() -> None:
    groups = [group(1, rule=THURSDAY_EVENING), group(2, rule=SATURDAY_MORNING, newcomer=True)]
    in_utc = rank_groups(member(), groups, now=NOW, zone=BERLIN)
    in_berlin = rank_groups(member(), groups, now=NOW.astimezone(BERLIN), zone=BERLIN)
    assert in_utc == in_berlin
    with pytest.raises(ValueError, match="timezone-aware"):
        rank_groups(member(), groups, now=NOW.replace(tzinfo=None), zone=BERLIN)


def test_accepts_any_iterable_and_nothing() -> None:
    assert rank_groups(member(), iter([group(1), group(2)]), now=NOW, zone=BERLIN)
    assert rank_groups(member(), [], now=NOW, zone=BERLIN) == []


def test_scores_are_exact_so_ties_are_real() -> None:
    # Same components reached by different groups must tie exactly, not within float noise.
    a = group(1, district=None, topics=(UMWELT,), rule=THURSDAY_EVENING)
    b = dataclasses.replace(a, id=2, topic_ids=(BILDUNG,))
    [first, second] = rank_groups(
        member(topics={UMWELT, BILDUNG}, free={"weekday_evening"}), [b, a], now=NOW, zone=BERLIN
    )
    assert first.score == second.score
    assert [first.group_id, second.group_id] == [1, 2]


def _suggestions(count: int) -> list[Suggestion]:
    return rank_groups(member(), [group(i) for i in range(1, count + 1)], now=NOW, zone=BERLIN)


@pytest.mark.parametrize(
    ("count", "n", "shown", "more"),
    [
        (0, 3, [], False),
        (2, 3, [1, 2], False),
        (3, 3, [1, 2, 3], False),
        (4, 3, [1, 2, 3], True),
        (5, 1, [1], True),
        (5, 0, [], True),
        (5, 10, [1, 2, 3, 4, 5], False),
    ],
)
def test_top(count: int, n: int, shown: list[int], more: bool) -> None:
    first, has_more = top(_suggestions(count), n)
    assert ([s.group_id for s in first], has_more) == (shown, more)


def test_top_defaults_to_three_and_refuses_negative_n() -> None:
    first, has_more = top(_suggestions(4))
    assert (len(first), has_more) == (3, True)
    with pytest.raises(ValueError, match="negative"):
        top(_suggestions(1), -1)
