"""Newcomers in the KV's groups: a welcome in the group, a private hello for join requests, and
/willkommen for organisers to switch the welcome off or give it their own text.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import JOIN_TRANSITION, ChatMemberUpdatedFilter, Command, CommandObject
from aiogram.types import (
    ChatJoinRequest,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    User,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.directory import kv_name
from bot.services.locales import resolve_locale
from bot.services.roles import allows
from bot.services.welcome import (
    MAX_TEXT_LENGTH,
    Joiner,
    TextProblem,
    WelcomeBook,
    WelcomePlan,
    check_welcome_text,
    render_custom,
    served_chat,
    set_welcome_enabled,
    set_welcome_text,
)
from bot.settings import Settings
from bot.telegram.deeplinks import group_chat_payload, start_link
from bot.telegram.format import esc, join_names
from models import Role, ServedChat
from models.base import utcnow

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP)
# Both spellings work in every group, whatever its language.
WELCOME_COMMAND = ("willkommen", "welcome")
WELCOME_ROLES = frozenset({Role.ORGANISER})
OFF_WORDS = frozenset({"aus", "off"})
ON_WORDS = frozenset({"an", "on"})
TEXT_WORDS = frozenset({"text"})
DEFAULT_WORDS = frozenset({"standard", "default"})


class _Provide(BaseMiddleware):
    """Puts this router's service objects into the handler data."""

    def __init__(self, **values: object) -> None:
        self._values = values

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Add the values, then run the handler."""
        data.update(self._values)
        return await handler(event, data)


def _group_locale(chat: ServedChat, i18n: I18n) -> str:
    # The group's language, not the sender's: everyone in the group reads the message.
    return resolve_locale(
        chat.language, None, available=i18n.available_locales, default=i18n.default_locale
    )


def _standard_welcome(count: int) -> str:
    if count == 1:
        return _(
            "Welcome, {names}! 👋 Nice to have you here.\n\n"
            "I am the bot of <b>{kv}</b>. Say hello to me privately with the button below: "
            "I'll show you our regulars' tables (Stammtische), groups and dates, and how you "
            "can get involved."
        )
    return _(
        "Welcome, {names}! 👋 Nice to have you all here.\n\n"
        "I am the bot of <b>{kv}</b>. Each of you, say hello to me privately with the button "
        "below: I'll show you our regulars' tables (Stammtische), groups and dates, and how "
        "you can get involved."
    )


def _welcome_text(chat: ServedChat, joiners: tuple[Joiner, ...], kv: str) -> str:
    names = join_names([joiner.name for joiner in joiners])
    custom = render_custom(chat, names=names, kv=kv)
    if custom is not None:
        return custom
    return _standard_welcome(len(joiners)).format(names=esc(names), kv=esc(kv))


async def _hello_button(bot: Bot, chat_id: int, label: str) -> InlineKeyboardMarkup:
    me = await bot.me()
    assert me.username is not None  # every bot has a username
    url = start_link(me.username, group_chat_payload(chat_id))
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label, url=url)]])


async def _delete_old_welcome(bot: Bot, chat_id: int, message_id: int) -> None:
    try:
        await bot.delete_message(chat_id, message_id)
    except TelegramBadRequest as exc:
        # Older than 48 hours, already removed by an admin, or no right to delete: it stays.
        logger.info("old welcome %s in chat=%s not deleted: %s", message_id, chat_id, exc)


async def _extend(
    bot: Bot, chat_id: int, plan: WelcomePlan, text: str, markup: InlineKeyboardMarkup
) -> bool:
    assert plan.edit_message_id is not None
    try:
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=plan.edit_message_id, reply_markup=markup
        )
    except TelegramBadRequest as exc:
        # Typically an admin deleted the welcome in the meantime.
        logger.info("welcome %s in chat=%s not extended: %s", plan.edit_message_id, chat_id, exc)
        return False
    return True


async def _greet(
    users: Iterable[User],
    chat_id: int,
    *,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    book: WelcomeBook,
    now: datetime,
) -> None:
    joiners = [Joiner(user.id, user.first_name) for user in users if not user.is_bot]
    if not joiners:
        return
    # Taken before the first query: a handler waiting here must not hold a database connection
    # (SQLite has one) that the handler holding the lock needs to store its welcome.
    async with book.lock(chat_id):
        chat = await served_chat(session, chat_id)
        if chat is None:
            return
        plan = book.plan(chat, joiners, now)
        if plan is None:
            return
        kv = await kv_name(session, settings.kv_name)
        with i18n.use_locale(_group_locale(chat, i18n)):
            markup = await _hello_button(bot, chat_id, _("Say hello to me privately"))
            if plan.edit_message_id is not None:
                text = _welcome_text(chat, plan.joiners, kv)
                if await _extend(bot, chat_id, plan, text, markup):
                    book.extended(chat_id, plan.joiners)
                    return
                plan = plan.as_new_post()
            text = _welcome_text(chat, plan.joiners, kv)
        sent = await bot.send_message(chat_id, text, reply_markup=markup)
        book.posted(chat, sent.message_id, plan.joiners, now)
        await session.commit()
    if plan.delete_message_id is not None:
        await _delete_old_welcome(bot, chat_id, plan.delete_message_id)


async def member_joined(
    event: ChatMemberUpdated,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    welcome_book: WelcomeBook,
    clock: Clock = utcnow,
) -> None:
    """Someone joined a group where the bot is admin (and so sees chat_member updates)."""
    await _greet(
        [event.new_chat_member.user],
        event.chat.id,
        bot=bot,
        session=session,
        settings=settings,
        i18n=i18n,
        book=welcome_book,
        now=clock(),
    )


async def members_added(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    welcome_book: WelcomeBook,
    clock: Clock = utcnow,
) -> None:
    """The "joined" service message: the only sign of a join where the bot isn't admin."""
    await _greet(
        message.new_chat_members or [],
        message.chat.id,
        bot=bot,
        session=session,
        settings=settings,
        i18n=i18n,
        book=welcome_book,
        now=clock(),
    )


async def join_requested(
    event: ChatJoinRequest, bot: Bot, session: AsyncSession, settings: Settings
) -> None:
    """Greet an applicant privately in their language; approve them when the group says so.

    Telegram lets the bot write to `user_chat_id` only while the request is pending, so the
    greeting goes out before the approval.
    """
    chat = await served_chat(session, event.chat.id)
    if chat is None:
        return
    approve = chat.approve_join_requests
    if chat.welcome_enabled:
        group = esc(event.chat.title or chat.title)
        head = (
            _("Hello {name}! 👋 Welcome to <b>{group}</b>: I'm letting you in right away.")
            if approve
            else _(
                "Hello {name}! 👋 Thank you for your request to join <b>{group}</b>. "
                "The group's admins will decide on it soon."
            )
        ).format(name=esc(event.from_user.first_name), group=group)
        body = _(
            "Say hello to me: I am the bot of <b>{kv}</b> and I'll show you our regulars' "
            "tables (Stammtische), groups and dates, and how you can get involved."
        ).format(kv=esc(await kv_name(session, settings.kv_name)))
        markup = await _hello_button(bot, event.chat.id, _("Say hello to me"))
        try:
            await bot.send_message(event.user_chat_id, f"{head}\n\n{body}", reply_markup=markup)
        except TelegramForbiddenError as exc:
            # The window has closed or the person blocked the bot; the request itself stands.
            logger.info("could not greet applicant=%s: %s", event.from_user.id, exc)
    if approve:
        try:
            await event.approve()
        except TelegramBadRequest as exc:
            # Another admin was quicker, the request was withdrawn, or the bot lacks the right.
            logger.info(
                "join request of user=%s in chat=%s not approved: %s",
                event.from_user.id,
                event.chat.id,
                exc,
            )


def _usage() -> str:
    return _(
        "Change it with:\n"
        "/welcome off – no welcome in this group\n"
        "/welcome on – welcome newcomers again\n"
        "/welcome text … – your own text; {names} stands for the newcomers' names, "
        "{kv} for the KV's name\n"
        "/welcome default – back to the standard text"
    ).format(names="{names}", kv="{kv}")


def _status(chat: ServedChat) -> str:
    state = (
        _("I welcome newcomers to this group, including those who ask to join.")
        if chat.welcome_enabled
        else _("The welcome for newcomers is switched off in this group.")
    )
    text = (
        _("I use this welcome text:") + "\n\n" + esc(chat.welcome_text)
        if chat.welcome_text
        else _("I use the standard welcome text.")
    )
    return f"{state}\n{text}\n\n{_usage()}"


def _text_problem(problem: TextProblem) -> str:
    if problem.kind == "empty":
        return _(
            "Write your text after the command, for example:\n"
            "/welcome text Hello {names}, nice to have you at {kv}!"
        ).format(names="{names}", kv="{kv}")
    if problem.kind == "too_long":
        return _(
            "That text is too long: {length} characters, at most {limit} are possible. "
            "Nothing was saved."
        ).format(length=problem.length, limit=MAX_TEXT_LENGTH)
    if problem.kind == "placeholder":
        return _(
            "I can't fill in {placeholder}: only {names} and {kv} may stand in curly braces. "
            "Nothing was saved."
        ).format(placeholder=esc(problem.detail), names="{names}", kv="{kv}")
    return _(
        "There is a lone curly brace: only {names} and {kv} may stand in curly braces. "
        "Nothing was saved."
    ).format(names="{names}", kv="{kv}")


async def _apply(
    action: str, rest: str, chat: ServedChat, session: AsyncSession, kv: str, example: str
) -> str:
    """Carry out one /willkommen change and return the reply."""
    if action in OFF_WORDS:
        if set_welcome_enabled(chat, False):
            await session.commit()
        return _("Done: I don't welcome newcomers here any more. /welcome on switches it back on.")
    if action in ON_WORDS:
        if set_welcome_enabled(chat, True):
            await session.commit()
        return _("Done: I welcome newcomers here again.")
    if action in DEFAULT_WORDS:
        if set_welcome_text(chat, None):
            await session.commit()
        return _("Done: newcomers get the standard welcome again.")
    problem = check_welcome_text(rest)
    if problem is not None:
        return _text_problem(problem)
    if set_welcome_text(chat, rest):
        await session.commit()
    preview = render_custom(chat, names=example, kv=kv)
    reply = _("Saved. This is how newcomers will be welcomed:") + "\n\n" + (preview or "")
    if not chat.welcome_enabled:
        reply += "\n\n" + _(
            "The welcome is switched off here at the moment; /welcome on switches it on."
        )
    return reply


async def welcome_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    roles: frozenset[Role],
    settings: Settings,
    i18n: I18n,
) -> None:
    """/willkommen [aus|an|text …|standard]: organisers set up the welcome of this group."""
    chat = await served_chat(session, message.chat.id)
    if chat is None:
        return
    with i18n.use_locale(_group_locale(chat, i18n)):
        if not allows(roles, WELCOME_ROLES):
            await message.reply(_("Sorry, only organisers can change the welcome."))
            return
        parts = (command.args or "").strip().split(maxsplit=1)
        action = parts[0].lower() if parts else ""
        if action in OFF_WORDS | ON_WORDS | DEFAULT_WORDS | TEXT_WORDS:
            rest = parts[1].strip() if len(parts) > 1 else ""
            example = message.from_user.first_name if message.from_user else ""
            kv = await kv_name(session, settings.kv_name)
            reply = await _apply(action, rest, chat, session, kv, example)
        else:
            reply = _status(chat)
        await message.reply(reply)


def create_router() -> Router:
    """Greetings in groups and for join requests; /willkommen in groups.

    Unregistered groups (no ServedChat) get nothing at all.
    """
    router = Router(name=__name__)
    provide = _Provide(welcome_book=WelcomeBook())
    router.message.filter(F.chat.type.in_(GROUP_CHATS))
    router.chat_member.filter(F.chat.type.in_(GROUP_CHATS))
    router.chat_join_request.filter(F.chat.type.in_(GROUP_CHATS))
    router.message.middleware(provide)
    router.chat_member.middleware(provide)
    router.chat_member.register(member_joined, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    router.message.register(members_added, F.new_chat_members)
    router.message.register(welcome_command, Command(*WELCOME_COMMAND))
    router.chat_join_request.register(join_requested)
    return router
