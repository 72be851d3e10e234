"""What people are told about field actions, queued through the outbox.

Whoever plans an action (its contact, else every organiser) hears when a shift changes hands
by a swap and when a shift empties close to its start; the people on a date hear when it is
called off; a member whose offered shift was taken over hears who took it. Rows carry ids
only; the renderers read what is still true when they send, and each
key makes a notice once-only across restarts and instances.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.delivery import enqueue_once
from models import ActionDate, FieldAction, Member, MemberRole, Role, Shift, ShiftSignup, ShiftSwap

ACTION_CANCELLED = "action_cancelled"
SHIFT_SWAPPED = "shift_swapped"
SHIFT_EMPTIED = "shift_emptied"
SWAP_TAKEN = "swap_taken"


async def planner_ids(session: AsyncSession, action: FieldAction) -> list[int]:
    """Who hears about an action's staffing: its contact when it has one (and they are still
    known), else every organiser."""
    if action.contact_id is not None and await session.get(Member, action.contact_id) is not None:
        return [action.contact_id]
    rows = await session.scalars(
        select(MemberRole.member_id)
        .where(MemberRole.role == Role.ORGANISER)
        .order_by(MemberRole.member_id)
    )
    return list(rows)


async def queue_cancelled(session: AsyncSession, row: ActionDate, *, now: datetime) -> int:
    """Tell everyone on any shift of a date that it was called off; returns how many were
    queued. The caller commits with the cancellation."""
    shift_ids = [shift.id for shift in row.shifts]
    if not shift_ids:
        return 0
    member_ids = sorted(
        set(
            await session.scalars(
                select(ShiftSignup.member_id).where(ShiftSignup.shift_id.in_(shift_ids))
            )
        )
    )
    queued = 0
    for member_id in member_ids:
        queued += await enqueue_once(
            session,
            member_id,
            key=f"acan:{row.id}:{member_id}",
            kind=ACTION_CANCELLED,
            payload={"date_id": row.id},
            due_at=now,
        )
    return queued


async def queue_swapped(session: AsyncSession, swap: ShiftSwap, *, now: datetime) -> int:
    """Tell whoever plans the action that a shift changed hands by a swap. The caller commits."""
    shift = await session.get(Shift, swap.shift_id)
    if shift is None:
        return 0
    queued = 0
    for planner_id in await planner_ids(session, shift.action_date.action):
        queued += await enqueue_once(
            session,
            planner_id,
            key=f"aswp:{swap.id}:{planner_id}",
            kind=SHIFT_SWAPPED,
            payload={"swap_id": swap.id},
            due_at=now,
        )
    return queued


async def queue_emptied(session: AsyncSession, shift: Shift, *, now: datetime) -> int:
    """Tell whoever plans the action that the last person left a shift. The caller commits
    (and decides whether the shift is close enough to its start to be worth it)."""
    stamp = int(now.timestamp() * 1000)
    queued = 0
    for planner_id in await planner_ids(session, shift.action_date.action):
        queued += await enqueue_once(
            session,
            planner_id,
            key=f"aemp:{shift.id}:{stamp}:{planner_id}",
            kind=SHIFT_EMPTIED,
            payload={"shift_id": shift.id},
            due_at=now,
        )
    return queued


async def queue_swap_taken(session: AsyncSession, swap: ShiftSwap, *, now: datetime) -> bool:
    """Tell the member who offered a shift that someone took it over. The caller commits."""
    return await enqueue_once(
        session,
        swap.from_member_id,
        key=f"atkn:{swap.id}",
        kind=SWAP_TAKEN,
        payload={"swap_id": swap.id},
        due_at=now,
    )


def shift_emptied_soon(shift: Shift, *, now: datetime, hours: int) -> bool:
    """Whether an emptied shift starts within `hours`: close enough to tell whoever plans it."""
    return shift.starts_at - now <= timedelta(hours=hours)
