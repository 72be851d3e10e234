"""Gedenktage: each memorial's yearly dates, the KV's event on them, answers, and reminders.

A Memorial holds its rule as RFC 5545 text (yearly, floating local time); its days are computed
in the KV's zone. `extend_horizon` keeps one MemorialDate row per active memorial and day for
the next HORIZON (about 13 months), so answers and last year's attendance stay per date; the
row carries the event's start as an instant, computed from the memorial's local event time on
that very day, so 18:00 stays 18:00 in Berlin on either side of a DST switch.

Reminders go out through the outbox, once per key:
- members who agreed, are reachable and did not switch off Category.MEMORIALS hear of a date
  `reminder_days` days before (default 7 and 1) at REMIND_AT local time, with the KV's event;
- organisers get a planning note `organiser_days` before (default 21), with last year's
  attendance.
A reminder missed while the bot was down is sent late while within the grace window of its
moment (and before the event starts / the day ends); otherwise it is recorded as dropped (a
CANCELLED outbox row under its key, counted once). Per member and date only the latest due
reminder counts, so a long downtime sends at most one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services.delivery import KEY_LENGTH, enqueue_once, existing_keys
from bot.services.errors import DomainError
from bot.services.preferences import opted_out_among
from bot.services.recurrence import RuleError, expand
from models import (
    Category,
    Delivery,
    DeliveryStatus,
    Member,
    MemberRole,
    Memorial,
    MemorialAnswer,
    MemorialDate,
    Profile,
    Role,
    RsvpAnswer,
)
from models.base import valid_id

MEMORIAL_REMINDER = "memorial_reminder"
MEMORIAL_PLANNING = "memorial_planning"
# How far ahead the dates are made: a year and a bit, so next year's date exists in time for
# the organisers' note.
HORIZON = timedelta(days=400)
# When, local time, the reminders of a day go out: mid-morning, not at midnight.
REMIND_AT = time(10, 0)
DROPPED = "missed during downtime, past its grace window"


class MemorialError(DomainError):
    """An answer or a card refused. `reason`: "no_consent", "unknown" (no such date, a forged
    id, or its memorial was retired), "no_event" (nothing to answer to), "past" (the event
    started)."""


# --- days and the horizon --------------------------------------------------------------------


def memorial_days(memorial: Memorial, *, zone: ZoneInfo, first: date, last: date) -> list[date]:
    """The local days of `memorial`'s rule with first <= day <= last, ascending.

    A rule text expansion can't read gives no days (the setup import checks rules already).
    """
    if last < first:
        return []
    since = datetime.combine(first, time(0), tzinfo=zone) - timedelta(seconds=1)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone) - timedelta(seconds=1)
    try:
        moments = expand(memorial.rrule, zone=zone, start=since, end=until)
    except RuleError:
        return []
    days = {moment.astimezone(zone).date() for moment in moments}
    return sorted(day for day in days if first <= day <= last)


def event_start(memorial: Memorial, day: date, zone: ZoneInfo) -> datetime | None:
    """The KV's event on `day` as a UTC instant (its local time that day), None without one."""
    if memorial.event_time is None:
        return None
    local = datetime.combine(day, memorial.event_time.replace(tzinfo=None), tzinfo=zone)
    return local.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Horizon:
    """What extend_horizon did: dates added, future dates updated or removed."""

    added: int
    updated: int
    removed: int


async def extend_horizon(
    session: AsyncSession,
    *,
    now: datetime,
    zone: ZoneInfo,
    memorial_ids: Collection[int] | None = None,
) -> Horizon:
    """Make a MemorialDate for every day of each active memorial up to HORIZON ahead.

    Idempotent and safe with two instances (one row per memorial and day; a second insert does
    nothing). Future dates follow the memorial's current event (time and place) until the
    event starts; future dates the rule no longer gives are removed unless someone answered.
    The caller commits.
    """
    query = select(Memorial).where(Memorial.active.is_(True))
    if memorial_ids is not None:
        query = query.where(Memorial.id.in_(list(memorial_ids)))
    memorials = list(await session.scalars(query))
    if not memorials:
        return Horizon(0, 0, 0)
    today = now.astimezone(zone).date()
    last = (now + HORIZON).astimezone(zone).date()
    existing: dict[tuple[int, date], MemorialDate] = {
        (row.memorial_id, row.day): row
        for row in (
            await session.scalars(
                select(MemorialDate).where(
                    MemorialDate.memorial_id.in_([m.id for m in memorials]),
                    MemorialDate.day >= today,
                )
            )
        ).unique()
    }
    insert = dialect_insert(session)
    added = updated = 0
    wanted: set[tuple[int, date]] = set()
    for memorial in memorials:
        for day in memorial_days(memorial, zone=zone, first=today, last=last):
            wanted.add((memorial.id, day))
            starts_at = event_start(memorial, day, zone)
            place = memorial.event_place if starts_at is not None else None
            row = existing.get((memorial.id, day))
            if row is None:
                result = await session.execute(
                    insert(MemorialDate)
                    .values(
                        memorial_id=memorial.id,
                        day=day,
                        event_starts_at=starts_at,
                        event_place=place,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["memorial_id", "day"])
                )
                added += bool(result.rowcount)
                continue
            started = row.event_starts_at is not None and row.event_starts_at <= now
            if not started and (row.event_starts_at, row.event_place) != (starts_at, place):
                row.event_starts_at, row.event_place = starts_at, place
                updated += 1
    removed = 0
    for key, row in existing.items():
        if key in wanted or row.day <= today:
            continue
        answered = await session.scalar(
            select(MemorialAnswer.member_id)
            .where(MemorialAnswer.memorial_date_id == row.id)
            .limit(1)
        )
        if answered is None:
            await session.execute(delete(MemorialDate).where(MemorialDate.id == row.id))
            removed += 1
    await session.flush()
    return Horizon(added, updated, removed)


# --- queries ---------------------------------------------------------------------------------


async def find_date(session: AsyncSession, date_id: int) -> MemorialDate | None:
    """The memorial date `date_id` of an active memorial, None for a forged or stale id."""
    if not valid_id(date_id):
        return None
    row = await session.get(MemorialDate, date_id)
    if row is None or not row.memorial.active:
        return None
    return row


async def upcoming(
    session: AsyncSession, *, now: datetime, zone: ZoneInfo, until: datetime, limit: int = 20
) -> list[MemorialDate]:
    """The dates of active memorials from today (local) until `until`, soonest first."""
    today = now.astimezone(zone).date()
    rows = await session.scalars(
        select(MemorialDate)
        .join(Memorial, Memorial.id == MemorialDate.memorial_id)
        .where(
            Memorial.active.is_(True),
            MemorialDate.day >= today,
            MemorialDate.day <= until.astimezone(zone).date(),
        )
        .order_by(MemorialDate.day, Memorial.position, Memorial.id)
        .limit(limit)
    )
    return list(rows.unique())


def has_event(row: MemorialDate) -> bool:
    """Whether the KV holds its own event on this date (something to answer to)."""
    return row.event_starts_at is not None


def is_over(row: MemorialDate, *, now: datetime, zone: ZoneInfo) -> bool:
    """Whether the date is past: its event started, or (without one) its day ended."""
    if row.event_starts_at is not None:
        return row.event_starts_at <= now
    return row.day < now.astimezone(zone).date()


@dataclass(frozen=True, slots=True)
class Counts:
    """The answers to one date's event."""

    yes: int = 0
    maybe: int = 0
    no: int = 0


async def counts(session: AsyncSession, date_id: int) -> Counts:
    """How many said yes, maybe and no to the event of date `date_id`."""
    rows = await session.execute(
        select(MemorialAnswer.answer, func.count())
        .where(MemorialAnswer.memorial_date_id == date_id)
        .group_by(MemorialAnswer.answer)
    )
    found = {RsvpAnswer(answer): int(number) for answer, number in rows}
    return Counts(
        yes=found.get(RsvpAnswer.YES, 0),
        maybe=found.get(RsvpAnswer.MAYBE, 0),
        no=found.get(RsvpAnswer.NO, 0),
    )


async def member_answer(session: AsyncSession, date_id: int, member_id: int) -> RsvpAnswer | None:
    """The member's answer to the date's event, None before they answered."""
    row = await session.get(MemorialAnswer, (date_id, member_id))
    return row.answer if row is not None else None


async def last_attendance(session: AsyncSession, row: MemorialDate) -> int | None:
    """How many said yes to the KV's event on this memorial's previous date (last year's).

    None when there is no record: no earlier date, or no event on it.
    """
    previous = await session.scalar(
        select(MemorialDate)
        .where(MemorialDate.memorial_id == row.memorial_id, MemorialDate.day < row.day)
        .order_by(MemorialDate.day.desc())
        .limit(1)
    )
    if previous is None or previous.event_starts_at is None:
        return None
    # Members who erased their data since are still counted, without their answer rows.
    return (await counts(session, previous.id)).yes + previous.erased_yes


@dataclass(frozen=True, slots=True)
class Answered:
    """An answer recorded: the date and whether it changed anything."""

    row: MemorialDate
    answer: RsvpAnswer
    changed: bool


async def answer(
    session: AsyncSession,
    *,
    date_id: int,
    member_id: int,
    consented: bool,
    answer: RsvpAnswer,
    now: datetime,
) -> Answered:
    """Record the member's yes / maybe / no to the KV's event on date `date_id`.

    Changeable until the event starts; the same answer again changes nothing. MemorialError
    without consent, for an unknown date, a date without an event, or one whose event started.
    The caller commits.
    """
    if not consented:
        raise MemorialError("no_consent")
    row = await find_date(session, date_id)
    if row is None:
        raise MemorialError("unknown")
    if row.event_starts_at is None:
        raise MemorialError("no_event")
    if row.event_starts_at <= now:
        raise MemorialError("past")
    before = await session.get(MemorialAnswer, (row.id, member_id))
    if before is not None:
        if before.answer == answer:
            return Answered(row, answer, changed=False)
        before.answer, before.answered_at = answer, now
        await session.flush()
        return Answered(row, answer, changed=True)
    # An upsert: a double tap racing itself (or two instances) leaves one row.
    statement = dialect_insert(session)(MemorialAnswer).values(
        memorial_date_id=row.id, member_id=member_id, answer=answer, answered_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["memorial_date_id", "member_id"],
            set_={"answer": answer, "answered_at": now},
        )
    )
    return Answered(row, answer, changed=True)


# --- reminders -------------------------------------------------------------------------------


def reminder_moment(day: date, days_before: int, zone: ZoneInfo) -> datetime:
    """When a reminder `days_before` the day goes out: REMIND_AT local time, as UTC."""
    return datetime.combine(day - timedelta(days=days_before), REMIND_AT, tzinfo=zone).astimezone(
        UTC
    )


def latest_due(day: date, offsets: Collection[int], *, now: datetime, zone: ZoneInfo) -> int | None:
    """Of the offsets (days before), the one whose moment is due at `now` and closest to the
    day; None when none is due yet."""
    due = [days for days in set(offsets) if days >= 0 and reminder_moment(day, days, zone) <= now]
    return min(due) if due else None


def reminder_key(date_id: int, days: int, member_id: int) -> str:
    """The occasion of a member's reminder: the date, how many days before, the member."""
    return f"gd:{date_id}:{days}:{member_id}"[:KEY_LENGTH]


def planning_key(date_id: int, days: int, member_id: int) -> str:
    """The occasion of an organiser's planning note."""
    return f"gdo:{date_id}:{days}:{member_id}"[:KEY_LENGTH]


@dataclass(frozen=True, slots=True)
class Queued:
    """What a run did: reminders and planning notes queued, missed ones dropped."""

    reminders: int
    notes: int
    dropped: int


async def _dates_between(session: AsyncSession, first: date, last: date) -> list[MemorialDate]:
    rows = await session.scalars(
        select(MemorialDate)
        .join(Memorial, Memorial.id == MemorialDate.memorial_id)
        .where(Memorial.active.is_(True), MemorialDate.day >= first, MemorialDate.day <= last)
        .order_by(MemorialDate.day, MemorialDate.id)
    )
    return list(rows.unique())


async def reminded_members(session: AsyncSession) -> list[int]:
    """Members a memorial reminder is for: agreed, reachable, Gedenktage not switched off."""
    ids = list(
        await session.scalars(
            select(Member.id)
            .join(Profile, Profile.member_id == Member.id)
            .where(Member.reachable.is_(True))
            .order_by(Member.id)
        )
    )
    opted_out = await opted_out_among(session, ids, Category.MEMORIALS)
    return [member_id for member_id in ids if member_id not in opted_out]


async def organiser_ids(session: AsyncSession) -> list[int]:
    """Every reachable organiser: they plan the KV's events."""
    rows = await session.scalars(
        select(MemberRole.member_id)
        .join(Member, Member.id == MemberRole.member_id)
        .where(MemberRole.role == Role.ORGANISER, Member.reachable.is_(True))
        .order_by(MemberRole.member_id)
    )
    return list(dict.fromkeys(rows))


def reminder_payload(row: MemorialDate, days: int) -> dict[str, Any]:
    """What a reminder or note row carries: the date and how many days before it was meant."""
    return {"date_id": row.id, "days": days}


async def _record_dropped(
    session: AsyncSession,
    *,
    member_id: int,
    key: str,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    category: str | None,
    now: datetime,
) -> bool:
    """Note a reminder downtime made miss: a CANCELLED row under its key (counted once)."""
    statement = dialect_insert(session)(Delivery).values(
        recipient_id=member_id,
        kind=kind,
        payload=payload,
        due_at=due_at,
        category=category,
        status=DeliveryStatus.CANCELLED,
        attempts=0,
        last_error=DROPPED,
        created_at=now,
        dedupe_key=key,
    )
    result = await session.execute(statement.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return bool(result.rowcount)


async def _queue(
    session: AsyncSession,
    row: MemorialDate,
    days: int,
    recipients: Sequence[int],
    *,
    kind: str,
    key: Any,
    category: str | None,
    send: bool,
    now: datetime,
    zone: ZoneInfo,
) -> int:
    keys = {member_id: key(row.id, days, member_id) for member_id in recipients}
    existing = await existing_keys(session, list(keys.values()))
    moment = reminder_moment(row.day, days, zone)
    payload = reminder_payload(row, days)
    done = 0
    for member_id, member_key in keys.items():
        if member_key in existing:
            continue
        if send:
            done += await enqueue_once(
                session,
                member_id,
                key=member_key,
                kind=kind,
                payload=payload,
                # When it was meant; a late one is thus due at once.
                due_at=moment,
                category=category,
            )
        else:
            done += await _record_dropped(
                session,
                member_id=member_id,
                key=member_key,
                kind=kind,
                payload=payload,
                due_at=moment,
                category=category,
                now=now,
            )
    return done


async def queue_due(
    session: AsyncSession,
    *,
    now: datetime,
    zone: ZoneInfo,
    reminder_days: Collection[int],
    organiser_days: int,
    grace: timedelta,
) -> Queued:
    """Queue the memorial reminders and organisers' notes due at `now`; the caller commits.

    Per date only the latest due offset counts; it is queued while within `grace` of its moment
    and before the date is over, otherwise recorded as dropped. Keys make every run after the
    first (a restart, a second instance) add nothing.
    """
    today = now.astimezone(zone).date()
    farthest = max([*reminder_days, organiser_days, 0])
    rows = await _dates_between(session, today - timedelta(days=1), today + timedelta(farthest + 1))
    queued = noted = dropped = 0
    members: list[int] | None = None
    organisers: list[int] | None = None
    for row in rows:
        over = is_over(row, now=now, zone=zone)
        days = latest_due(row.day, reminder_days, now=now, zone=zone)
        if days is not None:
            if members is None:
                members = await reminded_members(session)
            send = not over and now - reminder_moment(row.day, days, zone) <= grace
            done = await _queue(
                session,
                row,
                days,
                members,
                kind=MEMORIAL_REMINDER,
                key=reminder_key,
                category=Category.MEMORIALS.value,
                send=send,
                now=now,
                zone=zone,
            )
            if send:
                queued += done
            else:
                dropped += done
        moment = reminder_moment(row.day, organiser_days, zone)
        # The note is for planning: only while the reminders to members are still ahead.
        if moment <= now and organiser_days > 0:
            if organisers is None:
                organisers = await organiser_ids(session)
            send = not over and now - moment <= grace
            done = await _queue(
                session,
                row,
                organiser_days,
                organisers,
                kind=MEMORIAL_PLANNING,
                key=planning_key,
                category=None,
                send=send,
                now=now,
                zone=zone,
            )
            if send:
                noted += done
            else:
                dropped += done
    return Queued(reminders=queued, notes=noted, dropped=dropped)


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder or note still worth sending: the date, its counts, the member's answer."""

    row: MemorialDate
    counts: Counts
    answer: RsvpAnswer | None
    last_year: int | None


async def still_due(
    session: AsyncSession,
    payload: dict[str, Any],
    member: Member | None,
    *,
    now: datetime,
    zone: ZoneInfo,
    organiser: bool = False,
) -> Reminder | None:
    """The reminder as it stands at sending time, or None when it is no longer wanted.

    None when the date is gone, its memorial inactive, the date is over; for a member's
    reminder also when the member withdrew consent; for a note when the member is no organiser
    any more.
    """
    if member is None:
        return None
    try:
        date_id = int(payload["date_id"])
    except (KeyError, TypeError, ValueError):
        return None
    row = await find_date(session, date_id)
    if row is None or is_over(row, now=now, zone=zone):
        return None
    if organiser:
        if Role.ORGANISER not in member.role_set:
            return None
        return Reminder(
            row, await counts(session, row.id), None, await last_attendance(session, row)
        )
    if not member.consented:
        return None
    return Reminder(
        row, await counts(session, row.id), await member_answer(session, row.id, member.id), None
    )
