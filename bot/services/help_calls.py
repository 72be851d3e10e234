"""Calls for help: who was asked to help with a shift that lacked people, and who answered.

Each call is a HelpCall row (one per member and shift, kept with the member's profile); a
sign-up pressed under a call is marked `via_call`, so whoever plans the action sees how many
were asked and who came through a call.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import HelpCall, Member, ShiftSignup


@dataclass(frozen=True, slots=True)
class CallStats:
    """For one shift: how many members were asked, and who of them signed up through a call."""

    asked: int
    answered: tuple[Member, ...] = ()


async def stats(session: AsyncSession, shift_ids: Collection[int]) -> dict[int, CallStats]:
    """The calls for each of the shifts (shifts without calls are left out)."""
    found: dict[int, CallStats] = {}
    if not shift_ids:
        return found
    asked = dict(
        (
            await session.execute(
                select(HelpCall.shift_id, func.count())
                .where(HelpCall.shift_id.in_(list(shift_ids)))
                .group_by(HelpCall.shift_id)
            )
        ).all()
    )
    answered: dict[int, list[Member]] = {}
    rows = await session.execute(
        select(ShiftSignup.shift_id, Member)
        .join(Member, Member.id == ShiftSignup.member_id)
        .where(ShiftSignup.shift_id.in_(list(shift_ids)), ShiftSignup.via_call.is_(True))
        .order_by(ShiftSignup.signed_at, Member.id)
    )
    for shift_id, member in rows.unique():
        answered.setdefault(shift_id, []).append(member)
    for shift_id in set(asked) | set(answered):
        found[shift_id] = CallStats(
            asked=int(asked.get(shift_id, 0)), answered=tuple(answered.get(shift_id, ()))
        )
    return found


async def calls_received(session: AsyncSession, member_id: int) -> int:
    """How many calls for help the member was sent (kept with their profile; /datenschutz)."""
    return int(
        await session.scalar(
            select(func.count()).select_from(HelpCall).where(HelpCall.member_id == member_id)
        )
        or 0
    )
