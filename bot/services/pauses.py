""" "Pause bis ...": a member pauses every bulk message from the bot until a date.

While paused, the delivery worker cancels each outbox row to them with the reason "paused"
(recorded, not silently lost; bot.outbox.worker), and the jobs that pick recipients in SQL
(check-ins) skip them. What answers the member's own doing still comes: replies to their taps
and commands are no outbox rows, and the few outbox kinds in ANSWERS (a place from the waiting
list they queued for, a swap they offered being taken) are answers to their own request.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from bot.services.action_notices import SWAP_TAKEN
from bot.services.errors import DomainError
from bot.services.meeting_notices import RSVP_PROMOTED
from models import Member

# Outbox kinds that answer what the member asked for themselves: they come during a pause.
ANSWERS = frozenset({RSVP_PROMOTED, SWAP_TAKEN})
# The longest pause: a year (longer is leaving; /datenschutz erases everything).
LONGEST = relativedelta(years=1)
PAUSED = "paused"


class PauseChoice(enum.StrEnum):
    """The ready-made lengths of /einstellungen's pause buttons."""

    TWO_WEEKS = "2w"
    ONE_MONTH = "1m"
    THREE_MONTHS = "3m"


_LENGTHS = {
    PauseChoice.TWO_WEEKS: relativedelta(weeks=2),
    PauseChoice.ONE_MONTH: relativedelta(months=1),
    PauseChoice.THREE_MONTHS: relativedelta(months=3),
}


class PauseError(DomainError):
    """A typed date the pause can't end on: `format`, `past` or `too_far`."""


def end_of(day: date, zone: ZoneInfo) -> datetime:
    """A pause "until" a day lasts through it: it ends at the next local midnight."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def last_day(until: datetime, zone: ZoneInfo) -> date:
    """The last local day of a pause ending at `until` (for "paused until <day>")."""
    return (until.astimezone(zone) - timedelta(microseconds=1)).date()


def choice_day(choice: PauseChoice, now: datetime, zone: ZoneInfo) -> date:
    """The last day of a ready-made pause starting today."""
    return now.astimezone(zone).date() + _LENGTHS[choice]


_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})?\s*$")


def parse_day(text: str, *, today: date) -> date:
    """A typed day, "24.12.2026", "24.12.26" or "24.12." (the next such day), which must lie
    after today and at most a year ahead; PauseError otherwise."""
    match = _DATE.match(text or "")
    if match is None:
        raise PauseError("format")
    day_, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    try:
        if year is None:
            day = date(today.year, month, day_)
            if day <= today:
                day = date(today.year + 1, month, day_)
        else:
            day = date(int(year) + (2000 if len(year) == 2 else 0), month, day_)
    except ValueError as error:
        raise PauseError("format") from error
    if day <= today:
        raise PauseError("past")
    if day > today + LONGEST:
        raise PauseError("too_far")
    return day


def paused(member: Member | None, now: datetime) -> bool:
    """Whether the member's pause holds at `now`."""
    return member is not None and member.paused_until is not None and member.paused_until > now


def holds_back(member: Member | None, kind: str, now: datetime) -> bool:
    """Whether an outbox row of `kind` to `member` waits out the pause (is cancelled)."""
    return paused(member, now) and kind not in ANSWERS


def pause(member: Member, day: date, zone: ZoneInfo) -> datetime:
    """Pause the member's messages through `day`; returns when it ends. The caller commits."""
    member.paused_until = end_of(day, zone)
    return member.paused_until


def end_pause(member: Member) -> bool:
    """End the pause now; whether there was one. The caller commits."""
    was = member.paused_until is not None
    member.paused_until = None
    return was
