"""Who holds which shift: signing up, cancelling, offering and taking a swap.

A shift never holds more people than it needs, also when members press at the same moment: on
PostgreSQL the member's profile row and then the shift's row are locked while a sign-up is
counted (in that order everywhere, so two presses can't deadlock); SQLite runs one writing
transaction at a time. A member can't hold two shifts that overlap in time. A swap keeps the
offering member on the shift until someone takes it over; taking moves the place in one step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError
from models import (
    ActionDate,
    ActionStatus,
    FieldAction,
    Member,
    Profile,
    Shift,
    ShiftSignup,
    ShiftSwap,
    SwapStatus,
)
from models.base import valid_id


class ShiftError(DomainError, ValueError):
    """A sign-up, cancellation or swap that can't be made. `reason`: "unknown" (no such shift or
    swap, or its action is gone), "consent" (no profile: sign-ups are kept only with consent),
    "started" (the shift began or is over), "cancelled" (the date was called off), "full",
    "overlap" (the member holds a shift at the same time), "not_held" (the member doesn't hold
    the shift), "own" (taking one's own swap), "taken" (the swap was taken or withdrawn),
    "holder" (the taker holds that shift already)."""

    def __init__(self, reason: str, *, clash: Shift | None = None) -> None:
        super().__init__(reason)
        # For "overlap": the shift the member already holds.
        self.clash = clash


@dataclass(frozen=True, slots=True)
class SignUp:
    """A sign-up's outcome: the shift, how many now hold it, and whether it was held already
    (a second press changes nothing)."""

    shift: Shift
    filled: int
    already: bool = False


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A cancellation's outcome: the shift, how many still hold it, whether the member held it
    at all (a second press changes nothing), and whether it is empty now."""

    shift: Shift
    filled: int
    held: bool = True

    @property
    def emptied(self) -> bool:
        """The last person left (worth telling whoever plans the action)."""
        return self.held and self.filled == 0


@dataclass(frozen=True, slots=True)
class HeldShift:
    """A shift a member holds, and their open swap offer for it (if any)."""

    shift: Shift
    swap: ShiftSwap | None


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _lock_profile(session: AsyncSession, member_id: int) -> None:
    query = select(Profile.member_id).where(Profile.member_id == member_id)
    if _postgres(session):
        query = query.with_for_update()
    if await session.scalar(query) is None:
        raise ShiftError("consent")


async def _locked_shift(session: AsyncSession, shift_id: int) -> Shift:
    if not valid_id(shift_id):
        raise ShiftError("unknown")
    query = select(Shift).where(Shift.id == shift_id).execution_options(populate_existing=True)
    if _postgres(session):
        query = query.with_for_update(of=Shift)
    shift = await session.scalar(query)
    if shift is None or not shift.action_date.action.active:
        raise ShiftError("unknown")
    return shift


def _open(shift: Shift, now: datetime) -> None:
    if shift.action_date.status == ActionStatus.CANCELLED:
        raise ShiftError("cancelled")
    if shift.starts_at <= now:
        raise ShiftError("started")


async def count(session: AsyncSession, shift_id: int) -> int:
    """How many members hold the shift."""
    return int(
        await session.scalar(
            select(func.count()).select_from(ShiftSignup).where(ShiftSignup.shift_id == shift_id)
        )
        or 0
    )


async def clash(session: AsyncSession, member_id: int, shift: Shift) -> Shift | None:
    """A shift of a scheduled date the member holds that overlaps `shift` in time, if any."""
    return await session.scalar(
        select(Shift)
        .join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .join(ActionDate, ActionDate.id == Shift.action_date_id)
        .join(FieldAction, FieldAction.id == ActionDate.action_id)
        .where(
            ShiftSignup.member_id == member_id,
            Shift.id != shift.id,
            Shift.starts_at < shift.ends_at,
            Shift.ends_at > shift.starts_at,
            ActionDate.status == ActionStatus.SCHEDULED,
            FieldAction.active.is_(True),
        )
        .limit(1)
    )


async def sign_up(
    session: AsyncSession, shift_id: int, member_id: int, *, now: datetime, via_call: bool = False
) -> SignUp:
    """Put the member on the shift: refused when it is full, started, called off, or when they
    hold an overlapping shift. Pressing again changes nothing. The caller commits."""
    await _lock_profile(session, member_id)
    shift = await _locked_shift(session, shift_id)
    _open(shift, now)
    held = await session.get(ShiftSignup, (shift.id, member_id), populate_existing=True)
    if held is not None:
        return SignUp(shift, await count(session, shift.id), already=True)
    other = await clash(session, member_id, shift)
    if other is not None:
        raise ShiftError("overlap", clash=other)
    taken = await count(session, shift.id)
    if taken >= shift.needed:
        raise ShiftError("full")
    session.add(
        ShiftSignup(shift_id=shift.id, member_id=member_id, signed_at=now, via_call=via_call)
    )
    await session.flush()
    return SignUp(shift, taken + 1)


async def cancel(
    session: AsyncSession, shift_id: int, member_id: int, *, now: datetime
) -> Cancelled:
    """Take the member off the shift (and withdraw their swap offer for it). Refused once the
    shift started; pressing again changes nothing. The caller commits."""
    shift = await _locked_shift(session, shift_id)
    if shift.starts_at <= now:
        raise ShiftError("started")
    result = await session.execute(
        delete(ShiftSignup).where(
            ShiftSignup.shift_id == shift.id, ShiftSignup.member_id == member_id
        )
    )
    held = bool(result.rowcount)
    if held:
        await _close_offers(session, shift.id, member_id, now=now)
    return Cancelled(shift, await count(session, shift.id), held=held)


async def _close_offers(
    session: AsyncSession, shift_id: int, member_id: int, *, now: datetime
) -> None:
    offers = await session.scalars(
        select(ShiftSwap).where(
            ShiftSwap.shift_id == shift_id,
            ShiftSwap.from_member_id == member_id,
            ShiftSwap.status == SwapStatus.OPEN,
        )
    )
    for offer in offers:
        offer.status = SwapStatus.WITHDRAWN
        offer.decided_at = now
    await session.flush()


async def offer_swap(
    session: AsyncSession, shift_id: int, member_id: int, *, now: datetime
) -> ShiftSwap:
    """Offer the member's shift to someone else; they stay on it until it is taken. Offering
    again returns the open offer. The caller commits."""
    shift = await _locked_shift(session, shift_id)
    _open(shift, now)
    if await session.get(ShiftSignup, (shift.id, member_id)) is None:
        raise ShiftError("not_held")
    offer = await session.scalar(
        select(ShiftSwap).where(
            ShiftSwap.shift_id == shift.id,
            ShiftSwap.from_member_id == member_id,
            ShiftSwap.status == SwapStatus.OPEN,
        )
    )
    if offer is None:
        offer = ShiftSwap(
            shift_id=shift.id, from_member_id=member_id, status=SwapStatus.OPEN, created_at=now
        )
        session.add(offer)
        await session.flush()
    return offer


async def find_swap(session: AsyncSession, swap_id: int) -> ShiftSwap | None:
    """A swap offer by id (any status); None for unknown or forged ids."""
    return await session.get(ShiftSwap, swap_id) if valid_id(swap_id) else None


async def withdraw_swap(
    session: AsyncSession, swap_id: int, member_id: int, *, now: datetime
) -> ShiftSwap:
    """The offering member takes their offer back (they keep the shift). Someone else's offer
    is "unknown" to them. The caller commits."""
    offer = await find_swap(session, swap_id)
    if offer is None or offer.from_member_id != member_id:
        raise ShiftError("unknown")
    if offer.status != SwapStatus.OPEN:
        raise ShiftError("taken")
    offer.status = SwapStatus.WITHDRAWN
    offer.decided_at = now
    await session.flush()
    return offer


async def take_swap(
    session: AsyncSession, swap_id: int, member_id: int, *, now: datetime
) -> ShiftSwap:
    """The member takes over an offered shift: the offering member leaves it, they join it, in
    one step (the count stays). Refused for one's own offer, a taken or withdrawn one, a shift
    that started or was called off, or when the taker holds an overlapping shift. The caller
    commits."""
    await _lock_profile(session, member_id)
    offer = await find_swap(session, swap_id)
    if offer is None:
        raise ShiftError("unknown")
    shift = await _locked_shift(session, offer.shift_id)
    await session.refresh(offer)
    if offer.from_member_id == member_id:
        raise ShiftError("own")
    if offer.status != SwapStatus.OPEN:
        raise ShiftError("taken")
    _open(shift, now)
    if await session.get(ShiftSignup, (shift.id, member_id)) is not None:
        raise ShiftError("holder")
    other = await clash(session, member_id, shift)
    if other is not None:
        raise ShiftError("overlap", clash=other)
    result = await session.execute(
        delete(ShiftSignup).where(
            ShiftSignup.shift_id == shift.id, ShiftSignup.member_id == offer.from_member_id
        )
    )
    if not result.rowcount:
        # The offering member left meanwhile: the offer went with them.
        offer.status = SwapStatus.WITHDRAWN
        offer.decided_at = now
        await session.flush()
        raise ShiftError("taken")
    session.add(ShiftSignup(shift_id=shift.id, member_id=member_id, signed_at=now))
    offer.status = SwapStatus.TAKEN
    offer.to_member_id = member_id
    offer.decided_at = now
    await session.flush()
    return offer


async def open_swaps(session: AsyncSession, shift_ids: Sequence[int]) -> dict[int, list[ShiftSwap]]:
    """Open swap offers per shift, oldest first."""
    found: dict[int, list[ShiftSwap]] = {}
    if not shift_ids:
        return found
    rows = await session.scalars(
        select(ShiftSwap)
        .where(ShiftSwap.shift_id.in_(list(shift_ids)), ShiftSwap.status == SwapStatus.OPEN)
        .order_by(ShiftSwap.created_at, ShiftSwap.id)
    )
    for offer in rows:
        found.setdefault(offer.shift_id, []).append(offer)
    return found


async def held_shifts(session: AsyncSession, member_id: int, *, now: datetime) -> list[HeldShift]:
    """The shifts the member holds that have not ended, soonest first, with their open offer."""
    shifts = list(
        (
            await session.scalars(
                select(Shift)
                .join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
                .join(ActionDate, ActionDate.id == Shift.action_date_id)
                .join(FieldAction, FieldAction.id == ActionDate.action_id)
                .where(
                    ShiftSignup.member_id == member_id,
                    Shift.ends_at > now,
                    FieldAction.active.is_(True),
                )
                .order_by(Shift.starts_at, Shift.id)
            )
        ).unique()
    )
    offers = await open_swaps(session, [shift.id for shift in shifts])
    return [
        HeldShift(
            shift,
            next(
                (offer for offer in offers.get(shift.id, []) if offer.from_member_id == member_id),
                None,
            ),
        )
        for shift in shifts
    ]


async def holder_ids(session: AsyncSession, shift_ids: Sequence[int]) -> dict[int, set[int]]:
    """Which members hold each of the shifts."""
    found: dict[int, set[int]] = {shift_id: set() for shift_id in shift_ids}
    if not shift_ids:
        return found
    rows = await session.execute(
        select(ShiftSignup.shift_id, ShiftSignup.member_id).where(
            ShiftSignup.shift_id.in_(list(shift_ids))
        )
    )
    for shift_id, member_id in rows:
        found.setdefault(shift_id, set()).add(member_id)
    return found


async def people(session: AsyncSession, shift_id: int) -> list[Member]:
    """The members on a shift, in the order they signed up (for first names in reminders and
    for whoever plans the action)."""
    return list(
        (
            await session.scalars(
                select(Member)
                .join(ShiftSignup, ShiftSignup.member_id == Member.id)
                .where(ShiftSignup.shift_id == shift_id)
                .order_by(ShiftSignup.signed_at, Member.id)
            )
        ).unique()
    )
