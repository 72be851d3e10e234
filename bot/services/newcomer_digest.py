"""The organisers' newcomer digest: who of the last weeks' newcomers found no group yet.

A digest is something an organiser can act on, however many newcomers there are: the total,
counts per Stadtteil and per week since joining, and the newest few by name, a page at a time.
Everything is counted and picked in SQL (GROUP BY, LIMIT) with a fixed handful of bound
parameters, never an id list: 60,000 newcomers cost the same statements as 6.

The outbox row holds no names and no ids, only the NEWCOMER_DAYS it was made with; what the
message says is computed when it is sent, and each page again when an organiser turns to it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, directory
from bot.services.delivery import enqueue_once
from models import AuditAction, District, GroupMembership, Member, Profile

NEWCOMER_DIGEST = "newcomer_digest"
# The NEWCOMER_DAYS a digest row was made with, when the row doesn't say (rows from older code).
DEFAULT_DIGEST_DAYS = 14
# How long a newcomer stays in the digest once due (NEWCOMER_DAYS after joining): six weekly
# digests. Someone still without a group after that is no longer a newcomer the digest can
# help; the audience previews still reach them.
DIGEST_WEEKS = 6
# Newcomers named per page; each gets a "write" button (plus two paging buttons: far under
# Telegram's 100 buttons, and with names of at most 64 characters far under 4,096 characters).
PAGE_SIZE = 10
# Stadtteile counted by name, the largest first; the rest are summed as "other".
TOP_DISTRICTS = 5
WEEK = timedelta(weeks=1)


@dataclass(frozen=True, slots=True)
class Newcomer:
    """One newcomer as a page names them: no ORM object, just what the line shows."""

    id: int
    first_name: str | None
    district: str | None
    weeks: int


@dataclass(frozen=True, slots=True)
class DigestPage:
    """The digest as of `now`: counts over all newcomers, and one page of them by name.

    `districts` are the largest Stadtteile (name, count), largest first; `other_districts`
    counts the newcomers of all the others, `no_district` those who named none. `weeks` maps
    whole weeks since joining to counts, oldest band last, bands without newcomers left out.
    `page` is the page shown (clamped to the last one), `pages` how many there are (at least
    one), `clamped` whether the page asked for was past the end.
    """

    total: int
    days: int
    districts: tuple[tuple[str, int], ...]
    other_districts: int
    no_district: int
    weeks: tuple[tuple[int, int], ...]
    newcomers: tuple[Newcomer, ...]
    page: int
    pages: int
    clamped: bool

    @property
    def first_position(self) -> int:
        """The 1-based position of the page's first newcomer (newest first)."""
        return self.page * PAGE_SIZE + 1


def window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """Who counts as a newcomer: joined in (start, end], i.e. at least `days` days ago and
    at most DIGEST_WEEKS weeks more."""
    end = now - timedelta(days=days)
    return end - DIGEST_WEEKS * WEEK, end


def _waiting(now: datetime, days: int) -> ColumnElement[bool]:
    """Consented (has a profile: joined below), still around, in the window, no group."""
    start, end = window(now, days)
    return and_(
        Member.created_at > start,
        Member.created_at <= end,
        Member.departed_at.is_(None),
        ~exists().where(GroupMembership.member_id == Member.id),
    )


def _newcomers(now: datetime, days: int, *columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .select_from(Member)
        .join(Profile, Profile.member_id == Member.id)
        .where(_waiting(now, days))
    )


def _week_bounds(now: datetime, days: int) -> list[tuple[int, datetime]]:
    """(weeks, the latest joining time with at least that many whole weeks), from the fewest
    weeks a newcomer can have (days // 7) to the most."""
    start, _end = window(now, days)
    first = days // 7
    last = (now - start).days // 7
    return [(weeks, now - weeks * WEEK) for weeks in range(first, last + 1)]


async def digest_page(session: AsyncSession, *, now: datetime, days: int, page: int) -> DigestPage:
    """The counts and page `page` (0 the newest) of the newcomers waiting as of `now`.

    Four statements, each binding a fixed few parameters, whatever the number of newcomers.
    A page past the end shows the last one (`clamped`), so a stale button still shows
    something true.
    """
    bounds = _week_bounds(now, days)
    # One row: the total, those without a Stadtteil and one sum per week band. A band holds
    # who joined at or before its bound and after the next (longer) band's bound.
    week_sums = [
        func.sum(
            case(
                (
                    and_(
                        Member.created_at <= bound,
                        Member.created_at > now - (weeks + 1) * WEEK,
                    ),
                    1,
                ),
                else_=0,
            )
        )
        for weeks, bound in bounds
    ]
    totals = (
        await session.execute(
            _newcomers(
                now,
                days,
                func.count(),
                func.sum(case((Profile.district_id.is_(None), 1), else_=0)),
                *week_sums,
            )
        )
    ).one()
    total, no_district = int(totals[0] or 0), int(totals[1] or 0)
    weeks = tuple(
        (band, int(count or 0))
        for (band, _bound), count in zip(bounds, totals[2:], strict=True)
        if count
    )
    count = func.count().label("count")
    top = (
        await session.execute(
            _newcomers(now, days, District.name, count)
            .join(District, District.id == Profile.district_id)
            .group_by(District.id, District.name, District.position)
            .order_by(count.desc(), District.position, District.name)
            .limit(TOP_DISTRICTS)
        )
    ).all()
    districts = tuple((str(name), int(number)) for name, number in top)
    other = total - no_district - sum(number for _name, number in districts)

    pages = max(1, -(-total // PAGE_SIZE))
    shown = min(max(page, 0), pages - 1)
    rows = (
        await session.execute(
            _newcomers(now, days, Member.id, Member.first_name, District.name, Member.created_at)
            .outerjoin(District, District.id == Profile.district_id)
            .order_by(Member.created_at.desc(), Member.id.desc())
            .offset(shown * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    ).all()
    newcomers = tuple(
        Newcomer(
            id=int(member_id),
            first_name=first_name,
            district=district,
            weeks=max(0, (now - created_at).days // 7),
        )
        for member_id, first_name, district, created_at in rows
    )
    return DigestPage(
        total=total,
        days=days,
        districts=districts,
        other_districts=max(0, other),
        no_district=no_district,
        weeks=weeks,
        newcomers=newcomers,
        page=shown,
        pages=pages,
        clamped=page > shown,
    )


async def count_waiting(session: AsyncSession, *, now: datetime, days: int) -> int:
    """How many newcomers the digest would list as of `now`."""
    return int(await session.scalar(_newcomers(now, days, func.count())) or 0)


async def queue_newcomer_digest(
    session: AsyncSession, *, now: datetime, days: int, admin_ids: Collection[int]
) -> int:
    """Queue the digest for each organiser (the admins when there are none), once per day.

    The row holds only `days`; names and counts are computed when it is sent. Returns how many
    organisers it was queued for (0 when nobody is waiting, or it was queued today already,
    say by a second instance); the caller commits.
    """
    total = await count_waiting(session, now=now, days=days)
    if not total:
        return 0
    recipients = await directory.organiser_ids(session, admin_ids)
    queued = 0
    for recipient in recipients:
        queued += await enqueue_once(
            session,
            recipient,
            key=f"{NEWCOMER_DIGEST}:{now.date().isoformat()}:{recipient}",
            kind=NEWCOMER_DIGEST,
            payload={"days": days},
            due_at=now,
        )
    if queued:
        # A list of members sent to organisers on the KV's behalf: the bot is the actor.
        await audit.record(
            session,
            None,
            AuditAction.DIGEST,
            count=total,
            subject=f"{queued} organisers",
            at=now,
        )
    return queued


async def record_page_view(session: AsyncSession, reader: int, page: DigestPage) -> None:
    """Record that an organiser turned to a page naming newcomers (a member list read); the
    caller commits. A page naming nobody is no read of member data and is not recorded."""
    if page.newcomers:
        await audit.record(
            session,
            reader,
            AuditAction.NEWCOMER_LIST,
            count=len(page.newcomers),
            subject=f"page {page.page + 1} of {page.pages}",
        )


def digest_days(payload: dict[str, Any]) -> int:
    """The NEWCOMER_DAYS a digest was made with (kept in the row: settings may change)."""
    return int(payload.get("days", DEFAULT_DIGEST_DAYS))
