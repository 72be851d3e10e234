"""What a report holds: counts over a period, never a member's name or id.

Figures are plain numbers here; how a small count is shown is `masked` (fewer than
SMALL_COUNT, but not zero, reads "< 3"), applied by every view, chart, CSV and PDF alike, so no
one can be singled out by a report. Zero stays zero: it names no one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

# Counts from 1 to SMALL_COUNT - 1 are shown as "< 3".
SMALL_COUNT = 3
SMALL_LABEL = "< 3"


def is_small(count: int) -> bool:
    """True for a count that could single someone out (1 or 2)."""
    return 0 < count < SMALL_COUNT


def masked(count: int) -> str:
    """The count as a report shows it: "< 3" for 1 and 2, the digits otherwise."""
    return SMALL_LABEL if is_small(count) else str(count)


class PeriodKind(enum.StrEnum):
    """How the organiser chose the period."""

    LAST_30_DAYS = "last_30_days"
    HALF_YEAR = "half_year"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days in the KV's zone, both ends included."""

    kind: PeriodKind
    first_day: date
    last_day: date


class FunnelStage(enum.StrEnum):
    """The onboarding funnel, in order; each counts the people who reached it in the period."""

    JOINED_CHAT = "joined_chat"  # joined one of the KV's Telegram groups
    OPENED_CHAT = "opened_chat"  # opened the private chat with the bot
    CONSENTED = "consented"  # agreed to their answers being stored
    FINISHED_INTAKE = "finished_intake"
    JOINED_GROUP = "joined_group"  # joined a Stammtisch, Basisgruppe or AG
    FIRST_MEETING = "first_meeting"  # said "I come" to a meeting that then took place


@dataclass(frozen=True, slots=True)
class FunnelStep:
    stage: FunnelStage
    count: int


@dataclass(frozen=True, slots=True)
class GroupMonth:
    """One group's meetings in one calendar month of the period."""

    month: date  # the first of the month
    meetings: int  # meetings that took place (not cancelled)
    attendees: int  # "I come" answers to them, guests included


@dataclass(frozen=True, slots=True)
class GroupFigures:
    name: str
    kind: str  # models.GroupType value
    district: str | None
    members: int  # members at the end of the period
    joined: int  # joined during the period
    months: tuple[GroupMonth, ...]


@dataclass(frozen=True, slots=True)
class BroadcastFigures:
    """One broadcast sent in the period; `summary` is the organiser's own short label."""

    sent_at: datetime
    summary: str
    category: str  # models.Category value
    total: int
    delivered: int
    unreachable: int
    opted_out: int


@dataclass(frozen=True, slots=True)
class ActionKindFigures:
    """Field actions of one kind (models.ActionKind value) with dates in the period."""

    kind: str
    dates: int  # dates that took place (not cancelled)
    shifts: int
    shifts_filled: int  # shifts with as many sign-ups as needed
    signups: int
    conversations: int
    leaflets: int
    contacts: int


@dataclass(frozen=True, slots=True)
class TopicMentions:
    """How often a topic came up in the logged results of door-to-door and info-stand shifts."""

    topic: str
    door_to_door: int
    info_stand: int


@dataclass(frozen=True, slots=True)
class DistrictFigures:
    """One Stadtteil compared with the others."""

    name: str
    members: int  # members with this Stadtteil at the end of the period
    newcomers: int  # of them, joined in the period
    in_groups: int  # of them, in at least one group
    active: int  # of them, with an RSVP or a shift in the period


@dataclass(frozen=True, slots=True)
class Report:
    """Everything /bericht shows, the Mini App draws and the PDF prints."""

    kv_name: str
    period: Period
    generated_at: datetime
    funnel: tuple[FunnelStep, ...]
    groups: tuple[GroupFigures, ...] = field(default=())
    broadcasts: tuple[BroadcastFigures, ...] = field(default=())
    actions: tuple[ActionKindFigures, ...] = field(default=())
    topics: tuple[TopicMentions, ...] = field(default=())
    districts: tuple[DistrictFigures, ...] = field(default=())
    # The KV's zone (compute_report's tz): charts and the PDF show dates in it.
    zone: ZoneInfo | None = None
