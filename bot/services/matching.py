"""Matching: which groups to suggest to a new member, best first, and why each one fits.

The goal is a newcomer at a table within two weeks, so the ranking favours groups that are
nearby, share the member's topics, meet soon, in the member's free time, and welcome newcomers.
This module is pure: it takes plain facts and returns plain values; the handler renders the
reasons in the member's language ("Mitte · Umwelt, Bildung · Thursday evenings, fits your
free time").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import get_args
from zoneinfo import ZoneInfo

from bot.services.recurrence import Rule, Slot, local_slot, next_occurrence, parse_rule

# ---------------------------------------------------------------------------------------------
# Weights. They are additive points; the relations between them are what matters, and the unit
# tests pin those relations down.

SAME_DISTRICT = 5.0
"""A group in the member's own Stadtteil. The strongest signal: a first visit has to be an easy
trip, and it must outweigh two shared topics (2 x TOPIC = 4) so that the group next door beats a
topic match across town."""

KV_WIDE = 2.0
"""A group open to the whole KV (no Stadtteil): reachable for everyone but usually meeting
centrally, so worth much less than the own Stadtteil; about as much as one shared topic."""

TOPIC = 2.0
"""Each of the first two topics the group shares with the member: a shared interest is what
keeps a newcomer coming back."""

TOPIC_AFTER_TWO = 0.5
"""Each further shared topic. Diminishing because a broad AG touching many topics is not three
times the fit; three topics in another Stadtteil (4.5) must not beat the own Stadtteil with one
topic (7.0)."""

TOPICS_AT_FULL_WEIGHT = 2

FREE_TIME_FIT = 2.0
"""The next meeting falls in a slot the member said they are free: they can actually go."""

FREE_TIME_CLASH = -2.0
"""The next meeting is clearly outside the member's free time. As strong as a fit but only a
penalty, never an exclusion: free-time answers are rough and a group may still be worth it."""

NEWCOMER_FRIENDLY = 2.0
"""The hosts expect and welcome newcomers; that lowers the threshold of the first visit."""

MEETS_SOON = 1.0
"""The next meeting is within SOON_WINDOW: small, it orders otherwise similar groups by how
quickly the member gets to a table."""

SOON_WINDOW = dt.timedelta(days=14)

RECENTLY_ACTIVE = 0.5
"""A meeting held or a member joined within ACTIVE_WINDOW: the group is alive. Small, because
"unknown" is common and must not hurt much."""

ACTIVE_WINDOW = dt.timedelta(days=60)

STAMMTISCH_FIRST_STEP = 0.5
"""A Stammtisch, for members who named no topic: the informal table is the easy first step. Only
a nudge, it decides between otherwise equal groups."""

STAMMTISCH = "stammtisch"
SLOTS: frozenset[str] = frozenset(get_args(Slot))


# ---------------------------------------------------------------------------------------------
# Values in and out


@dataclass(frozen=True, slots=True)
class MemberNeeds:
    """What a member told the bot during onboarding.

    district_id is None when they are not sure or live outside; free_time is a subset of SLOTS
    (empty: not said); joined_group_ids are never suggested again.
    """

    district_id: int | None
    topic_ids: frozenset[int]
    free_time: frozenset[str]
    joined_group_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """What the ranking needs to know about one group.

    district_id None means the group is open to the whole KV. topic_ids may be a tuple in the
    KV's topic order, which Reasons.shared_topic_ids then keeps; a frozenset has no order, so
    ascending ids stand in. rule is the meeting rule's phrase or None. last_activity_at is
    aware UTC (a meeting held, a member joined), None when unknown. position is the group's
    place in the KV file, the last tie-breaker before the id.
    """

    id: int
    name: str
    type: str
    district_id: int | None
    topic_ids: frozenset[int] | tuple[int, ...]
    rule: str | None
    newcomer_friendly: bool
    active: bool
    last_activity_at: dt.datetime | None
    position: int = 0


@dataclass(frozen=True, slots=True)
class Reasons:
    """Why a group was suggested, as facts for the handler to put into words.

    slot is the free-time slot of the next meeting, None without a (readable) rule or when the
    rule has no time on a weekday (evening or daytime is then unknown). fits_free_time is None
    when the member gave no free time or the slot is unknown. next_meeting is aware UTC.
    """

    same_district: bool
    kv_wide: bool
    shared_topic_ids: tuple[int, ...]
    slot: str | None
    fits_free_time: bool | None
    newcomer_friendly: bool
    next_meeting: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggested group with its score (higher is better) and the reasons."""

    group_id: int
    score: float
    reasons: Reasons


# ---------------------------------------------------------------------------------------------
# Ranking


def rank_groups(
    needs: MemberNeeds, groups: Iterable[GroupFacts], *, now: dt.datetime, zone: ZoneInfo
) -> list[Suggestion]:
    """The groups worth suggesting to the member, best first.

    Inactive groups, groups the member already joined, and groups in another Stadtteil that
    share no topic with the member are left out. The order is deterministic: score descending,
    then the sooner next meeting (groups without one last), then position, then id. A rule that
    can't be read counts as no rule; it never raises. now must be aware.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    now = now.astimezone(dt.UTC)
    free_time = needs.free_time & SLOTS
    ranked: list[tuple[Suggestion, int]] = []
    for group in groups:
        if not group.active or group.id in needs.joined_group_ids:
            continue
        shared = _shared_topics(group.topic_ids, needs.topic_ids)
        if (
            needs.district_id is not None
            and group.district_id is not None
            and group.district_id != needs.district_id
            and not shared
        ):
            # Another Stadtteil and nothing in common: not a fit at all.
            continue
        reasons = _reasons(needs, group, shared, free_time, now=now, zone=zone)
        score = _score(needs, group, reasons, now=now)
        ranked.append((Suggestion(group.id, score, reasons), group.position))
    ranked.sort(key=_order)
    return [suggestion for suggestion, _ in ranked]


def top(suggestions: Sequence[Suggestion], n: int = 3) -> tuple[list[Suggestion], bool]:
    """The first n suggestions and whether there are more (for a "show more" button)."""
    if n < 0:
        raise ValueError(f"n must not be negative, not {n}")
    return list(suggestions[:n]), len(suggestions) > n


def _shared_topics(
    group_topics: frozenset[int] | tuple[int, ...], member_topics: frozenset[int]
) -> tuple[int, ...]:
    ordered = sorted(group_topics) if isinstance(group_topics, frozenset) else group_topics
    # dict.fromkeys drops a topic listed twice while keeping the first position.
    return tuple(dict.fromkeys(topic for topic in ordered if topic in member_topics))


def _reasons(
    needs: MemberNeeds,
    group: GroupFacts,
    shared: tuple[int, ...],
    free_time: frozenset[str],
    *,
    now: dt.datetime,
    zone: ZoneInfo,
) -> Reasons:
    rule = _rule(group.rule)
    next_meeting = _next_meeting(rule, now=now, zone=zone)
    slot: Slot | None = None
    if rule is not None and next_meeting is not None:
        slot = local_slot(next_meeting, zone)
        if rule.time is None and slot != "weekend":
            # An all-day rule sits at midnight; calling that "weekday daytime" would be a guess.
            slot = None
    fits = None if slot is None or not free_time else slot in free_time
    return Reasons(
        same_district=needs.district_id is not None and group.district_id == needs.district_id,
        kv_wide=group.district_id is None,
        shared_topic_ids=shared,
        slot=slot,
        fits_free_time=fits,
        newcomer_friendly=group.newcomer_friendly,
        next_meeting=next_meeting,
    )


def _score(needs: MemberNeeds, group: GroupFacts, reasons: Reasons, *, now: dt.datetime) -> float:
    score = 0.0
    # For members without a Stadtteil the place plays no role, so KV-wide earns nothing either.
    if needs.district_id is not None:
        if reasons.same_district:
            score += SAME_DISTRICT
        elif reasons.kv_wide:
            score += KV_WIDE
    full = min(len(reasons.shared_topic_ids), TOPICS_AT_FULL_WEIGHT)
    score += full * TOPIC + (len(reasons.shared_topic_ids) - full) * TOPIC_AFTER_TWO
    if reasons.fits_free_time is True:
        score += FREE_TIME_FIT
    elif reasons.fits_free_time is False:
        score += FREE_TIME_CLASH
    if reasons.newcomer_friendly:
        score += NEWCOMER_FRIENDLY
    if reasons.next_meeting is not None and reasons.next_meeting - now <= SOON_WINDOW:
        score += MEETS_SOON
    if group.last_activity_at is not None and now - group.last_activity_at <= ACTIVE_WINDOW:
        score += RECENTLY_ACTIVE
    if not needs.topic_ids and group.type == STAMMTISCH:
        score += STAMMTISCH_FIRST_STEP
    return score


# The same few dozen rule texts are read again for every member who finishes onboarding.
@lru_cache(maxsize=512)
def _rule(text: str | None) -> Rule | None:
    if text is None:
        return None
    try:
        return parse_rule(text)
    except ValueError:
        # RuleError is one; catching its base too keeps a parser slip from breaking onboarding.
        return None


def _next_meeting(rule: Rule | None, *, now: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    if rule is None:
        return None
    try:
        return next_occurrence(rule, after=now, zone=zone)
    except (ValueError, OverflowError):
        # No date left before year 9999: as good as no rule, and ranking must not fail over it.
        return None


def _order(entry: tuple[Suggestion, int]) -> tuple[float, bool, dt.datetime, int, int]:
    suggestion, position = entry
    next_meeting = suggestion.reasons.next_meeting
    return (
        -suggestion.score,
        next_meeting is None,
        next_meeting or dt.datetime.min.replace(tzinfo=dt.UTC),
        position,
        suggestion.group_id,
    )
