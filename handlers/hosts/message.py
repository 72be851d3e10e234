"""Writing to everyone who said yes or maybe to a meeting, through the broadcast engine.

The host's message becomes a broadcast (bot.services.broadcast_draft) whose audience is fixed to
that one meeting's yes and maybe; it goes through the outbox with its pacing, progress and
report like any broadcast. The audience is set here, never taken from a button, and the host is
checked again when sending. A host may follow their own broadcasts (stop, report, who was not
reached); everything else about broadcasts stays the organisers'.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audience as segments
from bot.services import broadcast_draft, broadcasts, hosting
from bot.services.broadcast_draft import CONTENT_TYPES, Draft
from bot.services.broadcasts import BroadcastError
from bot.settings import Settings
from bot.telegram.callbacks import BroadcastAction, BroadcastCallback, HostAction, HostCallback
from bot.telegram.screens import Shown, drop_buttons, show
from bot.telegram.views import broadcast as broadcast_views
from bot.telegram.views import hosts as views
from handlers.broadcast import follow_up
from handlers.hosts.common import HostFlow, in_step, typed_meeting
from models import Category, Meeting, Member, Role
from models.base import utcnow, valid_id

logger = logging.getLogger(__name__)

# Messages about a meeting someone said they come to: the kind members know as reminders
# ("meetings ... coming up"), so whoever switched those off isn't written to either.
CATEGORY = Category.REMINDERS
DRAFT = "draft"
# The message showing the confirmation whose "Send" sends the current draft.
CONFIRMATION = "confirmation"
FOLLOW_UP = frozenset(
    {
        BroadcastAction.STOP,
        BroadcastAction.STOP_CONFIRMED,
        BroadcastAction.KEEP,
        BroadcastAction.WHO,
        BroadcastAction.REPORT,
    }
)


def _audience(meeting: Meeting) -> segments.Audience:
    return segments.Audience(meetings=frozenset({meeting.id}))


async def message_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """Ask for the message, saying how many it will reach; nobody to reach: say so."""
    meeting = await hosting.managed_meeting(session, member, roles, callback_data.meeting_id)
    reach = await segments.reach(session, _audience(meeting), CATEGORY)
    if not reach.recipients:
        await query.answer(views.nobody_to_write(), show_alert=True)
        return
    await state.set_state(HostFlow.message)
    await state.set_data({"meeting_id": meeting.id})
    await query.answer()
    await message.answer(views.ask_message(meeting, settings.zone, reach.recipients))


async def message_received(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The host's message: keep a reference to it and ask before sending."""
    meeting = await typed_meeting(session, member, roles, state)
    draft = Draft.of_message(
        chat_id=message.chat.id,
        message_id=message.message_id,
        content_type=getattr(message.content_type, "value", str(message.content_type)),
        text=message.text or message.caption,
    )
    draft = draft.with_audience(_audience(meeting)).with_category(CATEGORY)
    reach = await segments.reach(session, draft.audience, draft.category)
    await state.set_state(HostFlow.message_ready)
    text, keyboard = views.message_confirm(meeting, settings.zone, reach.recipients)
    sent = await message.answer(text, reply_markup=keyboard)
    # Only this confirmation's "Send" sends this message (an earlier one's is for an earlier
    # message of the host's, not this one).
    await state.set_data(
        {"meeting_id": meeting.id, DRAFT: draft.to_json(), CONFIRMATION: sent.message_id}
    )


async def unsupported_received(message: Message) -> None:
    """A sticker or a poll instead of the message: still waiting for one."""
    await message.answer(views.unsupported_message())


async def send_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
    wake_outbox: Callable[[], None] | None = None,
) -> None:
    """Send it now to the meeting's yes and maybe; the progress and report follow as usual."""
    if not await in_step(state, HostFlow.message_ready, "meeting_id", callback_data.meeting_id):
        await query.answer(views.message_closed())
        return
    data = await state.get_data()
    if data.get(CONFIRMATION, message.message_id) != message.message_id:
        # The confirmation of a message written before the current one.
        await query.answer(views.message_closed())
        await drop_buttons(message)
        return
    meeting = await typed_meeting(session, member, roles, state)
    try:
        draft = Draft.from_json(data.get(DRAFT))
    except ValueError:
        await state.clear()
        await query.answer(views.message_closed())
        return
    # Whatever the stored draft says, it goes to this meeting's people and no one else.
    draft = draft.with_audience(_audience(meeting)).with_category(CATEGORY)
    now = utcnow()
    try:
        broadcast = await broadcast_draft.submit(
            session, draft, author_id=member.id, at=None, now=now
        )
    except broadcasts.AlreadySubmittedError as exc:
        # A second tap (maybe on another instance): show what the first one created.
        await state.clear()
        await session.commit()
        await query.answer()
        text = broadcast_views.progress_text(
            exc.broadcast, await broadcasts.progress(session, exc.broadcast, now)
        )
        await show(message, text, broadcast_views.progress_keyboard(exc.broadcast.id))
        return
    broadcasts.note_progress_message(
        broadcast, chat_id=message.chat.id, message_id=message.message_id, at=now
    )
    await state.clear()
    await session.commit()
    logger.info(
        "host message %s by %s to meeting %s: %s recipients",
        broadcast.id,
        member.id,
        meeting.id,
        broadcast.total,
    )
    await query.answer()
    text = broadcast_views.progress_text(
        broadcast, await broadcasts.progress(session, broadcast, now)
    )
    if wake_outbox is not None:
        wake_outbox()
    await show(message, text, broadcast_views.progress_keyboard(broadcast.id))


class OwnBroadcast(Filter):
    """Passes for a follow-up button (stop, report, who) of a broadcast the presser wrote as a
    host; organisers' presses go to the broadcast feature as before."""

    async def __call__(
        self,
        event: TelegramObject,
        session: AsyncSession,
        roles: frozenset[Role] = frozenset(),
    ) -> bool:
        """Whether the broadcast named is the presser's own (and they are no organiser)."""
        if hosting.is_manager(roles) or not isinstance(event, CallbackQuery) or not event.data:
            return False
        try:
            data = BroadcastCallback.unpack(event.data)
            if not valid_id(data.value):
                return False
            broadcast = await broadcasts.find(session, data.value)
        except (ValueError, TypeError, BroadcastError):
            return False
        return broadcast.author_id == event.from_user.id


def create_router() -> Router:
    """Writing to a meeting's people; the feature's router (handlers.hosts) filters the chat."""
    router = Router(name=__name__)
    router.callback_query.register(
        message_pressed, HostCallback.filter(F.action == HostAction.MESSAGE), Shown()
    )
    router.callback_query.register(
        send_pressed, HostCallback.filter(F.action == HostAction.MESSAGE_SEND), Shown()
    )
    waiting: Any = HostFlow.message
    not_a_command = ~F.text.startswith("/")
    router.message.register(
        message_received, waiting, not_a_command, F.content_type.in_(CONTENT_TYPES)
    )
    router.message.register(unsupported_received, waiting, not_a_command)
    handlers = {
        BroadcastAction.STOP: follow_up.stop_pressed,
        BroadcastAction.STOP_CONFIRMED: follow_up.stop_confirmed,
        BroadcastAction.KEEP: follow_up.keep_pressed,
        BroadcastAction.WHO: follow_up.who_pressed,
        BroadcastAction.REPORT: follow_up.report_pressed,
    }
    for action, handler in handlers.items():
        router.callback_query.register(
            handler, BroadcastCallback.filter(F.action == action), Shown(), OwnBroadcast()
        )
    return router
