"""/rundschreiben: the overview, then compose a message, pick the audience and kind, send.

The draft (bot.services.broadcast_draft.Draft) lives in the conversation state, so a restart
keeps it; the broadcast becomes a row only when confirmed. Who may do this is the router's
filter (handlers.broadcast); every id from a button is checked against the database by the
services, so a forged button reaches nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audience as segments
from bot.services import audit, broadcast_draft, broadcasts
from bot.services.broadcast_draft import CONTENT_TYPES, Draft
from bot.settings import Settings
from bot.telegram.callbacks import BroadcastAction, BroadcastCallback
from bot.telegram.commands import BROADCAST
from bot.telegram.screens import show
from bot.telegram.views import broadcast as views
from bot.telegram.views import broadcast_draft as draft_views
from handlers.broadcast.flow import (
    BroadcastFlow,
    OpenDraft,
    confirmation_shown,
    is_confirmation,
    save,
)
from models import AuditAction, Broadcast, BroadcastStatus
from models.base import utcnow

logger = logging.getLogger(__name__)

# What /rundschreiben lists besides what is scheduled or running: this many broadcasts that
# ended within this time, each with a button for its report.
RECENT = 3
RECENT_FOR = timedelta(days=7)
# The buttons of an open draft; pressed when it is closed, they get a quiet "no longer open".
DRAFT_ACTIONS = frozenset(
    {
        BroadcastAction.PAGE,
        BroadcastAction.ADD,
        BroadcastAction.REMOVE,
        BroadcastAction.CLEAR,
        BroadcastAction.EVERYONE,
        BroadcastAction.HOME,
        BroadcastAction.KINDS,
        BroadcastAction.KIND,
        BroadcastAction.NOW,
        BroadcastAction.LATER,
        BroadcastAction.SEND,
        BroadcastAction.DISCARD,
    }
)


async def _panel(
    session: AsyncSession, draft: Draft, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    chosen = await segments.chosen(session, draft.audience)
    reach = await segments.reach(session, draft.audience, draft.category)
    return draft_views.panel(chosen, reach, draft, zone)


async def _to_panel(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    draft: Draft,
    zone: ZoneInfo,
) -> None:
    """Keep `draft` and show its panel."""
    text, keyboard = await _panel(session, draft, zone)
    await save(state, draft, BroadcastFlow.building)
    await query.answer()
    await show(message, text, keyboard)


async def _to_page(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    draft: Draft,
    dimension: segments.Dimension,
    options: list[segments.Option],
    page: int,
    zone: ZoneInfo,
) -> None:
    """Keep `draft` and show page `page` of one kind's `options`, with the draft's reach."""
    reach = await segments.reach(session, draft.audience, draft.category)
    text, keyboard = draft_views.dimension_page(
        dimension, options, draft.audience, reach, page, zone
    )
    await save(state, draft, BroadcastFlow.building)
    await query.answer()
    await show(message, text, keyboard)


async def _ask_for_message(message: Message, state: FSMContext) -> None:
    """Start a new draft (whatever draft was open ends) and ask for its message."""
    await state.set_data({})
    await state.set_state(BroadcastFlow.waiting_for_message)
    await message.answer(draft_views.ask_for_message())


async def broadcast_command(
    message: Message, session: AsyncSession, settings: Settings, state: FSMContext
) -> None:
    """What is scheduled, running or recently sent first; with none of that, a new draft."""
    pending = await broadcasts.open_broadcasts(session)
    finished = await broadcasts.recently_finished(session, RECENT, since=utcnow() - RECENT_FOR)
    if not (pending or finished):
        await _ask_for_message(message, state)
        return
    # A draft open until now ends here too, as it would with a new one.
    await state.clear()
    for text, keyboard in views.overview(pending, finished, settings.zone):
        await message.answer(text, reply_markup=keyboard)


async def new_pressed(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """ "New broadcast" under the overview: ask for the message (a draft open until now ends)."""
    await query.answer()
    await _ask_for_message(message, state)


async def message_received(
    message: Message, session: AsyncSession, settings: Settings, state: FSMContext
) -> None:
    """The organiser's message: keep a reference to it and open the audience panel."""
    draft = Draft.of_message(
        chat_id=message.chat.id,
        message_id=message.message_id,
        # ContentType is a str enum; its value ("photo") is what is stored and shown.
        content_type=getattr(message.content_type, "value", str(message.content_type)),
        text=message.text or message.caption,
    )
    text, keyboard = await _panel(session, draft, settings.zone)
    await save(state, draft, BroadcastFlow.building)
    await message.answer(text, reply_markup=keyboard)


async def unsupported_received(message: Message) -> None:
    """A sticker, a poll, a location instead of the message: still waiting for one."""
    await message.answer(draft_views.unsupported_content())


async def time_received(
    message: Message, session: AsyncSession, settings: Settings, state: FSMContext, draft: Draft
) -> None:
    """A date and time in the KV's zone (a ScheduleError is explained and the draft waits)."""
    draft = draft.scheduled(
        broadcasts.parse_local_time(message.text or "", settings.zone, utcnow())
    )
    reach = await segments.reach(session, draft.audience, draft.category)
    await save(state, draft, BroadcastFlow.building)
    text, keyboard = draft_views.confirm(reach.recipients, draft, settings.zone)
    sent = await message.answer(text, reply_markup=keyboard)
    await confirmation_shown(state, sent.message_id)


async def time_without_draft(message: Message, state: FSMContext) -> None:
    """A time for a draft that is gone."""
    await state.clear()
    await message.answer(views.draft_closed())


async def _options(
    session: AsyncSession, callback_data: BroadcastCallback
) -> tuple[segments.Dimension, list[segments.Option]]:
    assert callback_data.dim is not None  # the button's filter asks for one
    dimension = draft_views.DIMENSION_OF[callback_data.dim]
    return dimension, await segments.options(session, dimension, now=utcnow())


async def page_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: Draft,
) -> None:
    """One kind of criterion (Stadtteil, topic, ...): its values to tick, page `value`."""
    dimension, options = await _options(session, callback_data)
    page = callback_data.value
    await _to_page(query, message, session, state, draft, dimension, options, page, settings.zone)


async def add_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: Draft,
) -> None:
    """Choose a value (an UnknownSegmentError for one that can't be chosen is explained)."""
    dimension, options = await _options(session, callback_data)
    value = callback_data.value
    draft = draft.with_audience(draft.audience.with_value(dimension, value, options))
    page = draft_views.page_of(options, value)
    await _to_page(query, message, session, state, draft, dimension, options, page, settings.zone)


async def remove_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: Draft,
) -> None:
    """No longer choose a value (pressed twice: the same)."""
    dimension, options = await _options(session, callback_data)
    value = callback_data.value
    draft = draft.with_audience(draft.audience.without_value(dimension, value))
    page = draft_views.page_of(options, value)
    await _to_page(query, message, session, state, draft, dimension, options, page, settings.zone)


async def clear_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: Draft,
) -> None:
    """No value of this kind chosen any more."""
    dimension, options = await _options(session, callback_data)
    draft = draft.with_audience(draft.audience.cleared(dimension))
    await _to_page(query, message, session, state, draft, dimension, options, 0, settings.zone)


async def everyone_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: Draft,
) -> None:
    """Everyone who signed up: no criteria at all."""
    draft = draft.with_audience(segments.Audience())
    await _to_panel(query, message, session, state, draft, settings.zone)


async def home_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: Draft,
) -> None:
    """Back to the panel (from a page, or from a confirmation: its time is dropped)."""
    await _to_panel(query, message, session, state, draft.scheduled(None), settings.zone)


async def kinds_pressed(
    query: CallbackQuery, message: Message, session: AsyncSession, state: FSMContext, draft: Draft
) -> None:
    """The kinds of message to choose from, the current one ticked."""
    reach = await segments.reach(session, draft.audience, draft.category)
    await save(state, draft, BroadcastFlow.building)
    await query.answer()
    await show(message, *draft_views.category_page(draft.category, reach))


async def kind_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    draft: Draft,
) -> None:
    """Make it this kind of message; pressing the chosen one again changes nothing."""
    draft = draft.with_category(draft_views.CATEGORIES[callback_data.value])
    reach = await segments.reach(session, draft.audience, draft.category)
    await save(state, draft, BroadcastFlow.building)
    await query.answer()
    await show(message, *draft_views.category_page(draft.category, reach))


async def now_pressed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: Draft,
) -> None:
    """Ask before sending now."""
    draft = draft.scheduled(None)
    reach = await segments.reach(session, draft.audience, draft.category)
    await save(state, draft, BroadcastFlow.building)
    await query.answer()
    shown = await show(message, *draft_views.confirm(reach.recipients, draft, settings.zone))
    await confirmation_shown(state, shown.message_id)


async def later_pressed(
    query: CallbackQuery, message: Message, settings: Settings, state: FSMContext, draft: Draft
) -> None:
    """Ask for the date and time; the panel stays usable meanwhile."""
    await save(state, draft, BroadcastFlow.waiting_for_time)
    await query.answer()
    await message.answer(draft_views.ask_for_time(settings.zone))


async def send_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: Draft,
    wake_outbox: Callable[[], None] | None = None,
) -> None:
    """Create the broadcast; start it at once, or leave it for the job at its time.

    Only from the draft's latest confirmation: a "Send" from an older one (another draft's,
    or one shown before the draft changed) shows the confirmation of the draft as it is.
    """
    if not await is_confirmation(state, message.message_id):
        reach = await segments.reach(session, draft.audience, draft.category)
        await query.answer(draft_views.confirm_again())
        shown = await show(message, *draft_views.confirm(reach.recipients, draft, settings.zone))
        await confirmation_shown(state, shown.message_id)
        return
    scheduled = callback_data.value == 1
    if scheduled and draft.at is None:
        # A confirmation from before the draft was changed.
        await query.answer(draft_views.choose_time_again())
        return
    now = utcnow()
    try:
        broadcast = await broadcast_draft.submit(
            session,
            draft,
            author_id=query.from_user.id,
            at=draft.at if scheduled else None,
            now=now,
        )
    except broadcasts.AlreadySubmittedError as exc:
        # A second tap (maybe on another instance): show what the first one created.
        await state.clear()
        await session.commit()
        await query.answer()
        await show_existing(message, session, settings, exc.broadcast, now)
        return
    if scheduled:
        reach = await segments.reach(session, draft.audience, draft.category)
        await audit.record(
            session,
            query.from_user.id,
            AuditAction.BROADCAST_SCHEDULED,
            count=reach.recipients,
            subject=broadcasts.audit_subject(broadcast),
            at=now,
        )
    else:
        broadcasts.note_progress_message(
            broadcast, chat_id=message.chat.id, message_id=message.message_id, at=now
        )
    await state.clear()
    await session.commit()
    logger.info(
        "broadcast %s by %s: %s, %s recipients, at %s",
        broadcast.id,
        query.from_user.id,
        broadcast.category.value,
        broadcast.total if not scheduled else "later",
        broadcast.scheduled_at.isoformat(),
    )
    await query.answer()
    if scheduled:
        text = views.scheduled_text(broadcast, settings.zone)
    else:
        text = views.progress_text(broadcast, await broadcasts.progress(session, broadcast, now))
        if wake_outbox is not None:
            wake_outbox()
    await show(message, text, views.progress_keyboard(broadcast.id))


async def show_existing(
    message: Message, session: AsyncSession, settings: Settings, broadcast: Broadcast, now: datetime
) -> None:
    """Show a broadcast that a draft already became: its time, or how far it has got."""
    if broadcast.status is BroadcastStatus.SCHEDULED:
        text = views.scheduled_text(broadcast, settings.zone)
    else:
        text = views.progress_text(broadcast, await broadcasts.progress(session, broadcast, now))
    await show(message, text, views.progress_keyboard(broadcast.id))


async def discard_pressed(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """Forget the draft; nothing was stored."""
    await state.clear()
    await query.answer()
    await show(message, draft_views.discarded())


async def draft_closed_pressed(query: CallbackQuery) -> None:
    """A button of a draft that was sent, discarded or cancelled: a quiet note, no alert."""
    await query.answer(views.draft_closed())


def _press(action: BroadcastAction, rule: Any = None) -> tuple[Any, ...]:
    """The filters of a draft button: its action (and `rule`) and an open draft."""
    match = F.action == action
    if rule is not None:
        match = match & rule
    return (BroadcastCallback.filter(match), OpenDraft())


def create_router() -> Router:
    """Composing; the feature's router (handlers.broadcast) filters chat and role."""
    router = Router(name=__name__)
    router.message.register(broadcast_command, Command(*BROADCAST.aliases))
    not_a_command = ~cast(Any, F.text).startswith("/")
    waiting = BroadcastFlow.waiting_for_message
    router.message.register(
        message_received, waiting, not_a_command, F.content_type.in_(CONTENT_TYPES)
    )
    router.message.register(unsupported_received, waiting, not_a_command)
    timing = BroadcastFlow.waiting_for_time
    router.message.register(time_received, timing, F.text, not_a_command, OpenDraft())
    router.message.register(time_without_draft, timing, F.text, not_a_command)

    register = router.callback_query.register
    register(new_pressed, BroadcastCallback.filter(F.action == BroadcastAction.NEW))
    has_kind = F.dim.is_not(None)
    register(page_pressed, *_press(BroadcastAction.PAGE, has_kind))
    register(add_pressed, *_press(BroadcastAction.ADD, has_kind))
    register(remove_pressed, *_press(BroadcastAction.REMOVE, has_kind))
    register(clear_pressed, *_press(BroadcastAction.CLEAR, has_kind))
    register(everyone_pressed, *_press(BroadcastAction.EVERYONE))
    register(home_pressed, *_press(BroadcastAction.HOME))
    register(kinds_pressed, *_press(BroadcastAction.KINDS))
    is_kind = F.value.in_(range(len(draft_views.CATEGORIES)))
    register(kind_pressed, *_press(BroadcastAction.KIND, is_kind))
    register(now_pressed, *_press(BroadcastAction.NOW))
    register(later_pressed, *_press(BroadcastAction.LATER))
    register(send_pressed, *_press(BroadcastAction.SEND, F.value.in_({0, 1})))
    register(discard_pressed, *_press(BroadcastAction.DISCARD))
    register(
        draft_closed_pressed,
        BroadcastCallback.filter(F.action.in_(DRAFT_ACTIONS)),
        ~OpenDraft(),
    )
    return router
