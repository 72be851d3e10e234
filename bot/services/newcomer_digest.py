"""The organisers' newcomer digest: who of the last weeks' newcomers found no group yet.

A digest is something an organiser can act on, however many newcomers there are: the total,
counts per Stadtteil and per week since joining, and the newest few by name, a page at a time.
Everything is counted and picked in SQL (GROUP BY, LIMIT) with a fixed handful of bound
parameters, never an id list: 60,000 newcomers cost the same statements as 6.

The outbox row holds no names and no ids, only the NEWCOMER_DAYS it was made with; what the
message says is computed when it is sent, and each page again when an organiser turns to it.
"""

from __future__ import annotations

import itertools
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
    """One newcomer as a page names them: no ORM object, just what the line shows. Their
    Stadtteil is left out on purpose: the bot shows no one a member's answers (docs/privacy.md),
    only counts."""

    id: int
    first_name: str | None
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
        # Wrapped so no planner takes the departed_at index for it: nearly every member
        # matches, and SQLite (without statistics) would read them all through it instead of
        # the created_at range.
        func.coalesce(Member.departed_at, None).is_(None),
        ~exists().where(GroupMembership.member_id == Member.id),
    )


def _newcomers(now: datetime, days: int, *columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .select_from(Member)
        .join(Profile, Profile.member_id == Member.id)
        .where(_waiting(now, days))
    )


def _week_bands(days: int) -> list[int]:
    """Whole weeks since joining a newcomer can have, from the fewest (days // 7) to the most
    (just under days + DIGEST_WEEKS weeks: the window's start is excluded)."""
    return list(range(days // 7, (days + 7 * DIGEST_WEEKS - 1) // 7 + 1))


async def digest_page(session: AsyncSession, *, now: datetime, days: int, page: int) -> DigestPage:
    """The counts and page `page` (0 the newest) of the newcomers waiting as of `now`.

    Three statements, each binding a fixed few parameters, whatever the number of newcomers:
    the counts grouped by Stadtteil (as many rows as the KV has Stadtteile), the Stadtteile's
    names, and the page. A page past the end shows the last one (`clamped`), so a stale
    button still shows something true.
    """
    bands = _week_bands(days)
    # One row per Stadtteil (and one for none): its count and, per week band but the last, how
    # many have at most that many weeks (one comparison per row and band: the cheapest way to
    # count 60,000 rows into bands); the bands are the differences. The rows are as many as
    # the KV has Stadtteile, whatever the number of newcomers.
    at_most = [
        func.sum(case((Member.created_at > now - (weeks + 1) * WEEK, 1), else_=0))
        for weeks in bands[:-1]
    ]
    grouped = (
        await session.execute(
            _newcomers(now, days, Profile.district_id, func.count())
            .add_columns(*at_most)
            .group_by(Profile.district_id)
        )
    ).all()
    # Names for the Stadtteile counted: the KV's setup, a few dozen rows at most, read apart
    # so the count above needn't join them for every newcomer.
    places = {
        district_id: (position, name)
        for district_id, position, name in await session.execute(
            select(District.id, District.position, District.name)
        )
    }
    total = no_district = 0
    cumulative = [0] * len(at_most)
    named: list[tuple[int, int, str]] = []
    for district_id, number, *sums in grouped:
        total += int(number)
        cumulative = [kept + int(more or 0) for kept, more in zip(cumulative, sums, strict=True)]
        if district_id is None or district_id not in places:
            no_district += int(number)
        else:
            position, name = places[district_id]
            named.append((int(number), int(position or 0), str(name)))
    counts = [later - earlier for earlier, later in itertools.pairwise([0, *cumulative, total])]
    weeks = tuple((band, count) for band, count in zip(bands, counts, strict=True) if count)
    named.sort(key=lambda row: (-row[0], row[1], row[2]))
    districts = tuple((name, number) for number, _position, name in named[:TOP_DISTRICTS])
    other = sum(number for number, _position, _name in named[TOP_DISTRICTS:])

    pages = max(1, -(-total // PAGE_SIZE))
    shown = min(max(page, 0), pages - 1)
    # The page's ids first, from the narrowest rows (a late page skips tens of thousands),
    # then the names of those ten alone.
    chosen = (
        _newcomers(now, days, Member.id)
        .order_by(Member.created_at.desc(), Member.id.desc())
        .offset(shown * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .subquery()
    )
    rows = (
        await session.execute(
            select(Member.id, Member.first_name, Member.created_at)
            .join(chosen, chosen.c.id == Member.id)
            .order_by(Member.created_at.desc(), Member.id.desc())
        )
    ).all()
    newcomers = tuple(
        Newcomer(
            id=int(member_id),
            first_name=first_name,
            weeks=max(0, (now - created_at).days // 7),
        )
        for member_id, first_name, created_at in rows
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
    await audit.record_list_page(
        session,
        reader,
        AuditAction.NEWCOMER_LIST,
        named=len(page.newcomers),
        page=page.page,
        pages=page.pages,
    )


def digest_days(payload: dict[str, Any]) -> int:
    """The NEWCOMER_DAYS a digest was made with (kept in the row: settings may change)."""
    return int(payload.get("days", DEFAULT_DIGEST_DAYS))
