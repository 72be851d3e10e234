"""Consent to be phoned, and the organisers' monthly list of quiet members to call.

Someone is on the list when they agreed to be phoned (call_consents: their own Telegram
contact, shared for this), are still quiet (bot.services.reengagement), got a check-in between
CALL_AFTER and CALL_WINDOW ago and did not react to it (no button, nothing sent to the bot since).
The list names them with their number (the call needs it): every page shown is audited like
the newcomer digest's (AuditAction.CALL_LIST). Counted and paged in SQL with a fixed few bound
parameters; each line says why the member is on it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services import audit, directory
from bot.services.delivery import enqueue_once
from bot.services.reengagement import around, no_activity_since, quiet_cutoff
from models import (
    Attendance,
    AuditAction,
    CallConsent,
    CheckIn,
    GroupMembership,
    Member,
    MemorialAnswer,
    Profile,
    ShiftSignup,
)

CALL_LIST = "call_list"
# A check-in gets this long for a reaction before the member is someone to call.
CALL_AFTER = timedelta(weeks=3)
# Only the check-in of about the last quarter counts: older ones were followed by a newer one
# or the member has had a call's chance already.
CALL_WINDOW = timedelta(days=120)
PAGE_SIZE = 10
# QUIET_MONTHS's default, for a row that doesn't say.
DEFAULT_MONTHS = 6
PHONE_LENGTH = 32


async def consent(session: AsyncSession, member_id: int) -> CallConsent | None:
    """The member's consent to be phoned, if given."""
    return await session.get(CallConsent, member_id)


async def give_consent(session: AsyncSession, member_id: int, phone: str, *, now: datetime) -> None:
    """Store the consent with the number (replacing an older one); the caller commits."""
    phone = phone.strip()[:PHONE_LENGTH]
    insert = dialect_insert(session)(CallConsent).values(
        member_id=member_id, phone=phone, consented_at=now
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["member_id"], set_={"phone": phone, "consented_at": now}
        )
    )


async def revoke_consent(session: AsyncSession, member_id: int) -> bool:
    """Withdraw the consent: the row, number and all, is deleted. Whether there was one."""
    result = await session.execute(delete(CallConsent).where(CallConsent.member_id == member_id))
    return bool(result.rowcount)


def _unanswered(now: datetime) -> ColumnElement[bool]:
    return exists().where(
        CheckIn.member_id == Member.id,
        CheckIn.sent_at <= now - CALL_AFTER,
        CheckIn.sent_at > now - CALL_WINDOW,
        CheckIn.reaction.is_(None),
        Member.last_seen_at < CheckIn.sent_at,
    )


def _to_call(now: datetime, months: int, *columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .select_from(Member)
        .join(Profile, Profile.member_id == Member.id)
        .join(CallConsent, CallConsent.member_id == Member.id)
        .where(and_(around(now), no_activity_since(quiet_cutoff(now, months)), _unanswered(now)))
    )


@dataclass(frozen=True, slots=True)
class ToCall:
    """One member to call and why: the last sign of activity and the unanswered check-in."""

    id: int
    first_name: str | None
    phone: str
    last_active: datetime
    checked_in: datetime


@dataclass(frozen=True, slots=True)
class CallPage:
    """A page of the list (0 the first), clamped to the last one."""

    total: int
    entries: tuple[ToCall, ...]
    page: int
    pages: int
    clamped: bool

    @property
    def first_position(self) -> int:
        """The 1-based position of the page's first member."""
        return self.page * PAGE_SIZE + 1


async def count_to_call(session: AsyncSession, *, now: datetime, months: int) -> int:
    """How many members the list holds as of `now`."""
    return int(await session.scalar(_to_call(now, months, func.count())) or 0)


def _latest(column: Any, member_column: Any) -> Any:
    return (
        select(func.max(column))
        .where(member_column == Member.id)
        .correlate(Member)
        .scalar_subquery()
    )


async def call_page(session: AsyncSession, *, now: datetime, months: int, page: int) -> CallPage:
    """The count and page `page` of the list, the longest quiet first."""
    total = await count_to_call(session, now=now, months=months)
    pages = max(1, -(-total // PAGE_SIZE))
    shown = min(max(page, 0), pages - 1)
    chosen = (
        _to_call(now, months, Member.id)
        .order_by(Member.last_seen_at, Member.id)
        .offset(shown * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .subquery()
    )
    rows = await session.execute(
        select(
            Member.id,
            Member.first_name,
            CallConsent.phone,
            Member.last_seen_at,
            _latest(Attendance.answered_at, Attendance.member_id),
            _latest(ShiftSignup.signed_at, ShiftSignup.member_id),
            _latest(GroupMembership.joined_at, GroupMembership.member_id),
            _latest(MemorialAnswer.answered_at, MemorialAnswer.member_id),
            _latest(CheckIn.sent_at, CheckIn.member_id),
        )
        .join(chosen, chosen.c.id == Member.id)
        .join(CallConsent, CallConsent.member_id == Member.id)
        .order_by(Member.last_seen_at, Member.id)
    )
    entries = []
    for member_id, first_name, phone, seen, *latest, checked_in in rows:
        moments = [_aware(moment) for moment in (seen, *latest) if moment is not None]
        entries.append(
            ToCall(
                id=int(member_id),
                first_name=first_name,
                phone=phone,
                last_active=max(moments),
                checked_in=_aware(checked_in),
            )
        )
    return CallPage(
        total=total, entries=tuple(entries), page=shown, pages=pages, clamped=page > shown
    )


def _aware(moment: datetime) -> datetime:
    # MAX() keeps the column's type, so values come back as aware UTC; a driver that hands
    # back a naive one gets UTC, as stored.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def record_page_view(session: AsyncSession, reader: int, page: CallPage) -> None:
    """Audit that an organiser saw a page naming members with their numbers; the caller
    commits. A page naming nobody is not recorded."""
    await audit.record_list_page(
        session,
        reader,
        AuditAction.CALL_LIST,
        named=len(page.entries),
        page=page.page,
        pages=page.pages,
    )


def list_months(payload: dict[str, Any]) -> int:
    """The QUIET_MONTHS a queued list was made with (kept in the row: settings may change)."""
    return int(payload.get("months", DEFAULT_MONTHS))


async def queue_call_list(
    session: AsyncSession, *, now: datetime, months: int, admin_ids: Collection[int]
) -> int:
    """Queue the monthly list for each organiser (the admins when there are none), once per
    month; returns for how many (0 when nobody is to be called). The row holds nothing but
    the month: the list is made when it is sent. The caller commits."""
    total = await count_to_call(session, now=now, months=months)
    if not total:
        return 0
    month = now.strftime("%Y-%m")
    queued = 0
    for recipient in await directory.organiser_ids(session, admin_ids):
        queued += await enqueue_once(
            session,
            recipient,
            key=f"{CALL_LIST}:{month}:{recipient}",
            kind=CALL_LIST,
            payload={"month": month, "months": months},
            due_at=now,
        )
    if queued:
        await audit.record(
            session,
            None,
            AuditAction.DIGEST,
            count=total,
            subject=f"call list, {queued} organisers",
            at=now,
        )
    return queued
