"""/rundschreiben: organisers compose a message, pick the audience, see who it reaches, send.

The draft lives in the conversation state (so a restart keeps it); the broadcast becomes a row
only when confirmed. Every message and button re-checks the role, and every id from a button is
checked against the database, so a forged button reaches nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audience as segments
from bot.services import broadcasts
from bot.services.roles import allows
from bot.settings import Settings
from bot.telegram.callbacks import BroadcastCallback
from bot.telegram.commands import BROADCAST
from bot.telegram.format import format_meeting, number
from bot.telegram.labels import category_label
from bot.telegram.views import broadcast as views
from models import BroadcastStatus, Category, Role
from models.base import utcnow

logger = logging.getLogger(__name__)

# Kinds of message that copyMessage carries unchanged and members can open on any phone.
CONTENT_TYPES = frozenset({"text", "photo", "document", "video", "animation", "audio", "voice"})
# Short names in callback data (64 bytes at most).
DIMENSION_KEYS: dict[str, segments.Dimension] = {
    "d": "districts",
    "t": "topics",
    "g": "groups",
    "a": "activity_types",
    "m": "meetings",
}
KEY_OF = {dimension: key for key, dimension in DIMENSION_KEYS.items()}
PAGE_SIZE = 20
# How many finished broadcasts /rundschreiben lists with a button for their report.
RECENT = 3
DRAFT = "broadcast"


class BroadcastFlow(StatesGroup):
    """Composing: the message, then the audience panel, maybe a date and time."""

    waiting_for_message = State()
    building = State()
    waiting_for_time = State()


def _no_permission() -> str:
    return _("Sorry, only organisers can send broadcasts.")


async def _refused(message: Message, roles: frozenset[Role], state: FSMContext) -> bool:
    """A draft step from someone who may not broadcast (the role was taken meanwhile)."""
    if allows(roles, BROADCAST.roles):
        return False
    await state.clear()
    await message.answer(_no_permission())
    return True


def _button(text: str, action: str, dim: str = "", value: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=BroadcastCallback(action=action, dim=dim, value=value).pack()
    )


async def _draft(state: FSMContext) -> dict[str, Any] | None:
    draft = (await state.get_data()).get(DRAFT)
    return draft if isinstance(draft, dict) else None


async def _save(state: FSMContext, draft: dict[str, Any]) -> None:
    await state.update_data({DRAFT: draft})


def _audience(draft: dict[str, Any]) -> segments.Audience:
    return segments.Audience.from_json(draft.get("audience"))


def _category(draft: dict[str, Any]) -> Category:
    return Category(draft.get("category", Category.ANNOUNCEMENTS))


def _content(draft: dict[str, Any]) -> str:
    return views.content_label(draft["content_type"], draft.get("summary", ""))


async def _panel(
    session: AsyncSession, draft: dict[str, Any], zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """The audience panel: the preview with exact counts, and the buttons to change or send."""
    audience = _audience(draft)
    category = _category(draft)
    chosen = await segments.chosen(session, audience)
    reach = await segments.reach(session, audience, category)
    text = views.preview_text(chosen, reach, category, _content(draft), zone)
    rows = []
    dimension_buttons = []
    for dimension in segments.DIMENSIONS:
        count = len(audience.values(dimension))
        label = views.dimension_label(dimension) + (f" ({count})" if count else "")
        dimension_buttons.append(_button(label, "dim", KEY_OF[dimension]))
    rows += [dimension_buttons[:2], dimension_buttons[2:4], dimension_buttons[4:]]
    if not audience.is_everyone:
        rows.append([_button(_("Everyone who signed up"), "all")])
    rows.append(
        [
            _button(
                _("Kind: {category} (change)").format(category=category_label(category)),
                "cat",
            )
        ]
    )
    if reach.recipient_ids:
        rows.append([_button(_("Send now"), "now"), _button(_("Schedule…"), "later")])
    rows.append([_button(_("Discard"), "drop")])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def _dimension_page(
    draft: dict[str, Any],
    dimension: segments.Dimension,
    page: int,
    zone: ZoneInfo,
    options: list[segments.Option],
) -> tuple[str, InlineKeyboardMarkup]:
    """One kind's values (`options`) with a tick for each chosen one, PAGE_SIZE at a time."""
    chosen = _audience(draft).values(dimension)
    pages = max(1, -(-len(options) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    key = KEY_OF[dimension]
    if not options:
        text = _("The KV's setup has nothing to choose here yet.")
    else:
        text = _("<b>{kind}</b>: tap to choose; any of the chosen ones matches.").format(
            kind=views.dimension_label(dimension)
        )
    buttons = [
        _button(
            ("✅ " if option.id in chosen else "") + views.option_label(option, zone),
            "tog",
            key,
            option.id,
        )
        for option in options[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    if pages > 1:
        rows.append(
            [
                _button("‹", "dim", key, (page - 1) % pages),
                _button(f"{page + 1}/{pages}", "dim", key, page),
                _button("›", "dim", key, (page + 1) % pages),
            ]
        )
    footer = [_button(_("« Back"), "home")]
    if chosen:
        footer.append(_button(_("Clear"), "clear", key))
    rows.append(footer)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def _confirm(count: int, content: str, when: str | None) -> tuple[str, InlineKeyboardMarkup]:
    if when is None:
        text = _("Send {content} to <b>{count}</b> members now?").format(
            content=content, count=number(count)
        )
    else:
        text = _("Send {content} to <b>{count}</b> members on {when}?").format(
            content=content, count=number(count), when=when
        )
        text += "\n" + _("Whoever fits the audience then will receive it.")
    text += "\n" + _("Please don't delete your message until it has gone out: I send copies of it.")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Yes, send it"), "go", value=0 if when is None else 1)],
            [_button(_("« Back"), "home")],
        ]
    )
    return text, keyboard


async def broadcast_command(
    message: Message,
    session: AsyncSession,
    roles: frozenset[Role],
    settings: Settings,
    state: FSMContext,
) -> None:
    """Show what is scheduled or running (with stop buttons) and ask for the message."""
    if not allows(roles, BROADCAST.roles):
        await message.answer(_no_permission())
        return
    pending = await broadcasts.open_broadcasts(session)
    finished = await broadcasts.recently_finished(session, RECENT)
    if pending or finished:
        lines = []
        if pending:
            lines.append(_("<b>Scheduled and running broadcasts</b>"))
            lines += [views.scheduled_line(item, settings.zone) for item in pending]
        if finished:
            lines.append(_("<b>Sent recently</b>"))
            lines += [views.scheduled_line(item, settings.zone) for item in finished]
        rows = [
            [_button(_("Stop #{id}").format(id=item.id), "stop", value=item.id)] for item in pending
        ]
        rows += [
            [_button(_("Report #{id}").format(id=item.id), "report", value=item.id)]
            for item in finished
        ]
        await message.answer(
            "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )
    await state.set_state(BroadcastFlow.waiting_for_message)
    await state.update_data({DRAFT: None})
    await message.answer(
        _(
            "Send me the message for the members: text with formatting, a photo or a document, "
            "just as they should see it. Then you choose who gets it. /cancel stops."
        )
    )


async def message_received(
    message: Message,
    session: AsyncSession,
    roles: frozenset[Role],
    settings: Settings,
    state: FSMContext,
) -> None:
    """The organiser's message: keep a reference to it and open the audience panel."""
    if await _refused(message, roles, state):
        return
    if message.content_type not in CONTENT_TYPES:
        await message.answer(
            _("I can send text, photos, documents, videos and audio. Please send one of those.")
        )
        return
    draft = {
        "chat_id": message.chat.id,
        "message_id": message.message_id,
        # ContentType is a str enum; its value ("photo") is what is stored and shown.
        "content_type": getattr(message.content_type, "value", str(message.content_type)),
        "summary": broadcasts.summary_of(message.text or message.caption),
        "audience": segments.Audience().to_json(),
        "category": Category.ANNOUNCEMENTS.value,
    }
    await _save(state, draft)
    await state.set_state(BroadcastFlow.building)
    text, keyboard = await _panel(session, draft, settings.zone)
    await message.answer(text, reply_markup=keyboard)


async def time_received(
    message: Message,
    session: AsyncSession,
    roles: frozenset[Role],
    settings: Settings,
    state: FSMContext,
) -> None:
    """A date and time for a scheduled broadcast, in the KV's zone."""
    if await _refused(message, roles, state):
        return
    draft = await _draft(state)
    if draft is None:
        await state.clear()
        await message.answer(_("That draft is gone. /broadcast starts a new one."))
        return
    try:
        moment = broadcasts.parse_local_time(message.text or "", settings.zone, utcnow())
    except broadcasts.ScheduleError as exc:
        errors = {
            "format": _("I didn't understand that. Write it like 24.12. 18:00."),
            "past": _("That time has already passed. Please choose a time in the future."),
            "gap": _(
                "That time doesn't exist on that day: the clocks jump forward. "
                "Please choose another time."
            ),
            "far": _("That is more than a year ahead. Please check the date."),
        }
        await message.answer(errors[exc.reason] + "\n" + _("Try again, or /cancel."))
        return
    draft["at"] = moment.isoformat()
    await _save(state, draft)
    await state.set_state(BroadcastFlow.building)
    reach = await segments.reach(session, _audience(draft), _category(draft))
    text, keyboard = _confirm(
        len(reach.recipient_ids), _content(draft), format_meeting(moment, settings.zone)
    )
    await message.answer(text, reply_markup=keyboard)


async def broadcast_pressed(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    session: AsyncSession,
    roles: frozenset[Role],
    settings: Settings,
    state: FSMContext,
    wake_outbox: Callable[[], None] | None = None,
) -> None:
    """Every button of the flow; the role is checked again on each press."""
    if not allows(roles, BROADCAST.roles):
        await query.answer(_no_permission(), show_alert=True)
        return
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    action = callback_data.action
    if action in {"stop", "stopok", "keep", "who", "report"}:
        await _follow_up(query, message, callback_data, session)
        return
    draft = await _draft(state)
    if draft is None or await state.get_state() != BroadcastFlow.building.state:
        await query.answer(
            _("This draft is no longer open. /broadcast starts a new one."), show_alert=True
        )
        return
    try:
        await _edit_draft(query, message, callback_data, session, settings, state, draft)
    except segments.UnknownSegmentError:
        await query.answer(_("That choice is no longer available."), show_alert=True)
        return
    if action == "go" and wake_outbox is not None:
        wake_outbox()


async def _edit_draft(
    query: CallbackQuery,
    message: Message,
    callback_data: BroadcastCallback,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: dict[str, Any],
) -> None:
    action = callback_data.action
    if action == "now":
        reach = await segments.reach(session, _audience(draft), _category(draft))
        text, keyboard = _confirm(len(reach.recipient_ids), _content(draft), None)
    elif action == "later":
        await state.set_state(BroadcastFlow.waiting_for_time)
        await query.answer()
        await message.answer(
            _(
                "When shall it go out? Write the date and time, e.g. 24.12. 18:00 "
                "(time in {zone}). /cancel stops."
            ).format(zone=settings.timezone)
        )
        return
    elif action == "go":
        await _send(query, message, callback_data, session, settings, state, draft)
        return
    elif action == "drop":
        await state.clear()
        await query.answer()
        await message.edit_text(_("Discarded. Nothing was sent."))
        return
    else:
        changed = await _change_audience(callback_data, session, draft, settings.zone)
        if changed is None:
            await query.answer(_("This button is no longer valid."), show_alert=True)
            return
        await _save(state, draft)
        text, keyboard = changed
    await query.answer()
    await _show(message, text, keyboard)


async def _change_audience(
    callback_data: BroadcastCallback, session: AsyncSession, draft: dict[str, Any], zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup] | None:
    """Apply an audience button to `draft`; the screen to show next (None: not such a button)."""
    action = callback_data.action
    if action in {"all", "cat", "home"}:
        if action == "all":
            draft["audience"] = segments.Audience().to_json()
        elif action == "cat":
            order = list(Category)
            draft["category"] = order[(order.index(_category(draft)) + 1) % len(order)].value
        draft.pop("at", None)
        return await _panel(session, draft, zone)
    if action not in {"dim", "tog", "clear"}:
        return None
    dimension = DIMENSION_KEYS.get(callback_data.dim)
    if dimension is None:
        raise segments.UnknownSegmentError("unknown kind")
    page = callback_data.value
    options = await segments.options(session, dimension, now=utcnow())
    if action == "tog":
        audience = _audience(draft)
        if callback_data.value not in audience.values(dimension) and callback_data.value not in {
            option.id for option in options
        }:
            raise segments.UnknownSegmentError("unknown id")
        draft["audience"] = audience.toggled(dimension, callback_data.value).to_json()
        page = _page_of(options, callback_data.value)
    elif action == "clear":
        draft["audience"] = _audience(draft).cleared(dimension).to_json()
        page = 0
    return _dimension_page(draft, dimension, page, zone, options)


def _page_of(options: list[segments.Option], option_id: int) -> int:
    for index, option in enumerate(options):
        if option.id == option_id:
            return index // PAGE_SIZE
    return 0


async def _show(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            await message.answer(text, reply_markup=keyboard)


async def _send(
    query: CallbackQuery,
    message: Message,
    callback_data: BroadcastCallback,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    draft: dict[str, Any],
) -> None:
    """Create the broadcast; start it at once, or leave it for the job at its time."""
    now = utcnow()
    scheduled = callback_data.value == 1
    at = draft.get("at")
    if scheduled and not at:
        await query.answer(_("Please choose the time again."), show_alert=True)
        return
    moment = datetime.fromisoformat(at) if scheduled and at else now
    broadcast = await broadcasts.schedule(
        session,
        author_id=query.from_user.id,
        source_chat_id=int(draft["chat_id"]),
        source_message_id=int(draft["message_id"]),
        content_type=draft["content_type"],
        summary=draft.get("summary", ""),
        category=_category(draft),
        audience=_audience(draft),
        scheduled_at=max(moment, now),
    )
    if not scheduled:
        await broadcasts.start_due(session, now, only=broadcast.id)
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
        text = _(
            "Scheduled as #{id} for {when}. /broadcast lists it, and you can stop it there."
        ).format(id=broadcast.id, when=format_meeting(broadcast.scheduled_at, settings.zone))
        await _show(message, text, views.progress_keyboard(broadcast.id))
        return
    progress = await broadcasts.progress(session, broadcast, now)
    await _show(
        message, views.progress_text(broadcast, progress), views.progress_keyboard(broadcast.id)
    )


async def _follow_up(
    query: CallbackQuery,
    message: Message,
    callback_data: BroadcastCallback,
    session: AsyncSession,
) -> None:
    """Stop (ask, then do), keep going, or list who a broadcast missed."""
    broadcast = await broadcasts.get(session, callback_data.value)
    if broadcast is None:
        await query.answer(_("I don't know that broadcast."), show_alert=True)
        return
    action = callback_data.action
    if action == "who":
        members = await broadcasts.unreached(session, broadcast.id)
        await query.answer()
        await message.answer(views.unreached_text(broadcast.id, members))
        return
    if action == "report":
        progress = await broadcasts.progress(session, broadcast, utcnow())
        reasons = await broadcasts.failure_reasons(session, broadcast.id)
        cancelled = broadcast.status is BroadcastStatus.CANCELLED
        await query.answer()
        await message.answer(
            views.report_text(broadcast, progress, reasons, cancelled=cancelled),
            reply_markup=views.report_keyboard(broadcast.id) if broadcast.started_at else None,
        )
        return
    if action == "keep":
        await query.answer(_("It goes on."))
        await message.delete_reply_markup()
        return
    if action == "stop":
        if broadcast.status not in broadcasts.OPEN:
            await query.answer(_("This broadcast has already ended."), show_alert=True)
            return
        await query.answer()
        await message.answer(
            _("Stop broadcast #{id}? Messages already sent stay sent.").format(id=broadcast.id),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        _button(_("Yes, stop it"), "stopok", value=broadcast.id),
                        _button(_("No, go on"), "keep", value=broadcast.id),
                    ]
                ]
            ),
        )
        return
    now = utcnow()
    stopped = await broadcasts.cancel(session, broadcast.id, by=query.from_user.id, now=now)
    await session.commit()
    if stopped is None:
        await query.answer(_("This broadcast has already ended."), show_alert=True)
        return
    logger.info("broadcast %s stopped by %s", broadcast.id, query.from_user.id)
    await query.answer(_("Stopped."))
    if stopped.started_at is None:
        text = _("Broadcast #{id} was stopped before it went out. Nothing was sent.")
        await _show(message, text.format(id=stopped.id), None)
        return
    progress = await broadcasts.progress(session, stopped, now)
    reasons = await broadcasts.failure_reasons(session, stopped.id)
    text = views.report_text(stopped, progress, reasons, cancelled=True)
    await _show(message, text, views.report_keyboard(stopped.id))


def create_router() -> Router:
    """The broadcast flow in the private chat; each handler checks the role itself."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(broadcast_command, Command(*BROADCAST.aliases))
    not_a_command = ~cast(Any, F.text).startswith("/")
    router.message.register(message_received, BroadcastFlow.waiting_for_message, not_a_command)
    router.message.register(time_received, BroadcastFlow.waiting_for_time, F.text, not_a_command)
    router.callback_query.register(broadcast_pressed, BroadcastCallback.filter())
    return router
