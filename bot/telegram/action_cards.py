"""The screens of /aktionen, loaded for one member: the list, a date's card, their own shifts.

Shared by the /aktionen handlers and /start's `a<date_id>` links; they read through the
services and render with bot.telegram.views.actions.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import field_actions, shifts
from bot.telegram.views import actions as views
from models import District, Member, Role

Screen = views.Screen


async def _district(session: AsyncSession, member: Member) -> District | None:
    profile = member.profile
    if profile is None or profile.district_id is None:
        return None
    return await session.get(District, profile.district_id)


async def board_screen(
    session: AsyncSession, member: Member, *, page: int, now: datetime, zone: ZoneInfo
) -> Screen:
    """The upcoming dates (eight weeks), the member's Stadtteil first, then its neighbours,
    then the rest, page `page`."""
    dates = await field_actions.upcoming_dates(session, now=now, until=now + field_actions.HORIZON)
    staffing = await field_actions.staffing(session, dates)
    district = await _district(session, member)
    district_id = district.id if district is not None else None
    neighbours = await field_actions.neighbour_ids(session, district_id)
    mine: set[int] = set()
    if member.consented:
        holders = await shifts.holder_ids(
            session, [shift.id for row in dates for shift in row.shifts]
        )
        mine = {
            row.id
            for row in dates
            if any(member.id in holders.get(shift.id, ()) for shift in row.shifts)
        }
    return views.board(
        field_actions.by_nearness(staffing, district_id, neighbours),
        mine=mine,
        district=district,
        page=page,
        can_sign_up=member.consented,
        zone=zone,
    )


async def date_screen(
    session: AsyncSession,
    member: Member,
    roles: Collection[Role],
    date_id: int,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> Screen:
    """One date's card for the member; ActionError("unknown") for a forged or gone date."""
    row = await field_actions.get_date(session, date_id)
    [item] = await field_actions.staffing(session, [row])
    shift_ids = [shift.id for shift in row.shifts]
    holders = await shifts.holder_ids(session, shift_ids)
    offers = await shifts.open_swaps(session, shift_ids)
    cards = []
    for entry in item.shifts:
        shift = entry.shift
        found = offers.get(shift.id, [])
        cards.append(
            views.CardShift(
                staffing=entry,
                mine=member.id in holders.get(shift.id, ()),
                my_offer=next((o for o in found if o.from_member_id == member.id), None),
                other_offer=next((o for o in found if o.from_member_id != member.id), None),
                open=shift.starts_at > now,
            )
        )
    planner = member.consented and await field_actions.is_planner(session, member.id, roles)
    return views.date_card(item, cards, can_sign_up=member.consented, planner=planner, zone=zone)


async def mine_screen(
    session: AsyncSession, member: Member, *, now: datetime, zone: ZoneInfo, page: int = 0
) -> Screen:
    """The member's shifts that have not ended (`page` of a long list)."""
    held = await shifts.held_shifts(session, member.id, now=now)
    return views.my_shifts([(item.shift, item.swap is not None) for item in held], zone, page=page)
