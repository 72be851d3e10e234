"""/aktionen: upcoming Infostände and door-to-door rounds, a date's card, signing up for a shift,
giving it up, offering, withdrawing and taking over a swap, and the member's own shifts.

Looking works without consent; everything that stores something needs it. Every press reloads
and re-checks on the server (bot.services.shifts refuses a forged, past, called-off, full or
overlapping shift); a refusal is answered as an alert and the card is shown as it stands now.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import action_notices, field_actions, shifts
from bot.services.field_actions import ActionError
from bot.services.shifts import ShiftError
from bot.settings import Settings
from bot.telegram import action_cards
from bot.telegram.callbacks import ActionAct, ActionCallback
from bot.telegram.commands import ACTIONS
from bot.telegram.guards import explain, private_router
from bot.telegram.screens import Shown, show
from bot.telegram.views import actions as views
from models import Member, Role, SwapStatus
from models.base import utcnow

Wake = Callable[[], None] | None


async def show_actions(
    message: Message, session: AsyncSession, settings: Settings, member: Member
) -> None:
    """The upcoming dates, the member's Stadtteil first (also without consent: looking)."""
    text, keyboard = await action_cards.board_screen(
        session, member, page=0, now=utcnow(), zone=settings.zone
    )
    await message.answer(text, reply_markup=keyboard)


async def list_pressed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """A page of the list, here."""
    screen = await action_cards.board_screen(
        session, member, page=callback_data.page, now=utcnow(), zone=settings.zone
    )
    await query.answer()
    await show(message, *screen)


async def date_pressed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role] = frozenset(),
) -> None:
    """A date's card, here (ActionError for a forged or gone date, explained)."""
    screen = await action_cards.date_screen(
        session, member, roles, callback_data.date_id, now=utcnow(), zone=settings.zone
    )
    await query.answer()
    await show(message, *screen)


async def mine_pressed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
) -> None:
    """The member's own shifts, here."""
    if not member.consented:
        await query.answer(views.no_consent(), show_alert=True)
        return
    screen = await action_cards.mine_screen(
        session, member, now=utcnow(), zone=settings.zone, page=callback_data.page
    )
    await query.answer()
    await show(message, *screen)


async def _card_here(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: Collection[Role],
    date_id: int | None,
) -> None:
    """Show the date's card as it stands now (nothing when it is gone)."""
    if date_id is None:
        return
    try:
        screen = await action_cards.date_screen(
            session, member, roles, date_id, now=utcnow(), zone=settings.zone
        )
    except ActionError:
        return
    await show(message, *screen)


async def _date_of_shift(session: AsyncSession, shift_id: int) -> int | None:
    shift = await field_actions.find_shift(session, shift_id)
    return shift.action_date_id if shift is not None else None


async def _date_of_swap(session: AsyncSession, swap_id: int) -> int | None:
    swap = await shifts.find_swap(session, swap_id)
    return await _date_of_shift(session, swap.shift_id) if swap is not None else None


async def _refuse(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: Collection[Role],
    error: ShiftError,
    *,
    shift_id: int = 0,
    swap_id: int = 0,
) -> None:
    """Explain the refusal (naming a clashing shift), undo what the press began, and show the
    card as it stands now, so its buttons are current again."""
    text = views.error_text(error, settings.zone)
    await session.rollback()
    # The rollback expired what the session had loaded; the card reads the member again.
    await session.refresh(member)
    await query.answer(text, show_alert=True)
    if swap_id:
        date_id = await _date_of_swap(session, swap_id)
    else:
        date_id = await _date_of_shift(session, shift_id)
    await _card_here(message, session, settings, member, roles, date_id)


async def sign_up_pressed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role] = frozenset(),
) -> None:
    """Sign up for the shift with one tap (a second tap changes nothing); `call` 1: pressed
    under a call for help."""
    if not member.consented:
        await query.answer(views.no_consent(), show_alert=True)
        return
    shift_id = callback_data.shift_id
    try:
        result = await shifts.sign_up(
            session, shift_id, member.id, now=utcnow(), via_call=callback_data.call == 1
        )
    except ShiftError as error:
        await _refuse(query, message, session, settings, member, roles, error, shift_id=shift_id)
        return
    await session.commit()
    await query.answer(views.signed_up(result.shift, settings.zone, already=result.already))
    await _card_here(message, session, settings, member, roles, result.shift.action_date_id)


async def cancel_pressed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role] = frozenset(),
) -> None:
    """Ask before giving up a shift the member holds."""
    if not member.consented:
        await query.answer(views.no_consent(), show_alert=True)
        return
    shift = await field_actions.find_shift(session, callback_data.shift_id)
    if shift is None:
        await query.answer(views.gone(), show_alert=True)
        return
    if shift.starts_at <= utcnow():
        raise ShiftError("started")
    held = await shifts.holder_ids(session, [shift.id])
    if member.id not in held.get(shift.id, set()):
        await _refuse(
            query, message, session, settings, member, roles, ShiftError("not_held"),
            shift_id=shift.id,
        )  # fmt: skip
        return
    await query.answer()
    await show(message, *views.confirm_cancel(shift, settings.zone))


async def cancel_confirmed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role] = frozenset(),
    wake_outbox: Wake = None,
) -> None:
    """Give the shift up; whoever plans the action hears when it empties close to its start."""
    if not member.consented:
        await query.answer(views.no_consent(), show_alert=True)
        return
    now = utcnow()
    shift_id = callback_data.shift_id
    try:
        result = await shifts.cancel(session, shift_id, member.id, now=now)
    except ShiftError as error:
        await _refuse(query, message, session, settings, member, roles, error, shift_id=shift_id)
        return
    queued = 0
    if result.emptied and action_notices.shift_emptied_soon(
        result.shift, now=now, hours=settings.shift_emptied_hours
    ):
        queued = await action_notices.queue_emptied(session, result.shift, now=now)
    await session.commit()
    if queued and wake_outbox is not None:
        wake_outbox()
    await query.answer(views.gave_up(held=result.held))
    await _card_here(message, session, settings, member, roles, result.shift.action_date_id)


async def swap_pressed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role] = frozenset(),
) -> None:
    """Offer the member's shift for a swap (they stay on it until someone takes it)."""
    if not member.consented:
        await query.answer(views.no_consent(), show_alert=True)
        return
    shift_id = callback_data.shift_id
    try:
        await shifts.offer_swap(session, shift_id, member.id, now=utcnow())
    except ShiftError as error:
        await _refuse(query, message, session, settings, member, roles, error, shift_id=shift_id)
        return
    await session.commit()
    await query.answer(views.offered())
    await _card_here(
        message, session, settings, member, roles, await _date_of_shift(session, shift_id)
    )


async def withdraw_pressed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role] = frozenset(),
) -> None:
    """Take back the member's own offer (a second tap changes nothing)."""
    if not member.consented:
        await query.answer(views.no_consent(), show_alert=True)
        return
    swap_id = callback_data.swap_id
    try:
        await shifts.withdraw_swap(session, swap_id, member.id, now=utcnow())
    except ShiftError as error:
        swap = await shifts.find_swap(session, swap_id)
        again = (
            swap is not None
            and swap.from_member_id == member.id
            and swap.status == SwapStatus.WITHDRAWN
        )
        if not again:
            await _refuse(query, message, session, settings, member, roles, error, swap_id=swap_id)
            return
    await session.commit()
    await query.answer(views.offer_withdrawn())
    await _card_here(
        message, session, settings, member, roles, await _date_of_swap(session, swap_id)
    )


async def take_pressed(
    query: CallbackQuery,
    callback_data: ActionCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role] = frozenset(),
    wake_outbox: Wake = None,
) -> None:
    """Take over someone's offered shift; whoever plans the action and the offering member
    are told (a second tap by the taker changes nothing)."""
    if not member.consented:
        await query.answer(views.no_consent(), show_alert=True)
        return
    now = utcnow()
    swap_id = callback_data.swap_id
    try:
        swap = await shifts.take_swap(session, swap_id, member.id, now=now)
    except ShiftError as error:
        await session.rollback()
        await session.refresh(member)
        again = await shifts.find_swap(session, swap_id)
        if again is None or again.to_member_id != member.id:
            await _refuse(query, message, session, settings, member, roles, error, swap_id=swap_id)
            return
        await query.answer(views.took_over())
        await _card_here(
            message, session, settings, member, roles, await _date_of_swap(session, swap_id)
        )
        return
    await action_notices.queue_swapped(session, swap, now=now)
    await action_notices.queue_swap_taken(session, swap, now=now)
    await session.commit()
    if wake_outbox is not None:
        wake_outbox()
    await query.answer(views.took_over())
    await _card_here(
        message, session, settings, member, roles, await _date_of_swap(session, swap_id)
    )


def _explain(error: ShiftError | ActionError) -> str:
    return views.error_text(error)


def create_router() -> Router:
    """/aktionen and its buttons in the private chat; refusals explained as alerts."""
    router = private_router(__name__)
    router.message.register(show_actions, Command(*ACTIONS.aliases))
    presses = {
        ActionAct.LIST: list_pressed,
        ActionAct.DATE: date_pressed,
        ActionAct.MINE: mine_pressed,
        ActionAct.SIGN_UP: sign_up_pressed,
        ActionAct.CANCEL: cancel_pressed,
        ActionAct.CANCEL_OK: cancel_confirmed,
        ActionAct.SWAP: swap_pressed,
        ActionAct.SWAP_WITHDRAW: withdraw_pressed,
        ActionAct.SWAP_TAKE: take_pressed,
    }
    for act, handler in presses.items():
        router.callback_query.register(handler, ActionCallback.filter(F.act == act), Shown())
    explain(router, ShiftError, _explain, alert=True)
    explain(router, ActionError, _explain, alert=True)
    return router
