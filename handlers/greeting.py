"""Newcomers in the KV's groups: a welcome in the group, a private hello for join requests, and
/willkommen for organisers to switch the welcome off or give it their own text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import (
    JOIN_TRANSITION,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
    Filter,
)
from aiogram.types import ChatJoinRequest, ChatMemberUpdated, InlineKeyboardMarkup, Message, User
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.directory import kv_name
from bot.services.locales import resolve_locale
from bot.services.welcome import (
    Joiner,
    WelcomeBook,
    WelcomePlan,
    check_welcome_text,
    served_chat,
    set_welcome_enabled,
    set_welcome_text,
)
from bot.settings import Settings
from bot.telegram.commands import WELCOME
from bot.telegram.deeplinks import group_chat_payload, start_link
from bot.telegram.guards import HasRoles
from bot.telegram.views import greeting as views
from models import ServedChat
from models.base import utcnow

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP)
# What follows /willkommen; both spellings work in every group, whatever its language.
OFF_WORDS = frozenset({"aus", "off"})
ON_WORDS = frozenset({"an", "on"})
TEXT_WORDS = frozenset({"text"})
DEFAULT_WORDS = frozenset({"standard", "default"})


class ServedGroup(Filter):
    """Passes in groups the KV registered, handing their row on as `served`.

    Everywhere else /willkommen gets no answer at all: the bot may sit in groups that are
    not the KV's.
    """

    async def __call__(self, message: Message, session: AsyncSession) -> bool | dict[str, Any]:
        """The ServedChat of the message's group, or False."""
        chat = await served_chat(session, message.chat.id)
        return {"served": chat} if chat is not None else False


def _group_locale(chat: ServedChat, i18n: I18n) -> str:
    # The group's language, not the sender's: everyone in the group reads the message.
    return resolve_locale(
        chat.language, None, available=i18n.available_locales, default=i18n.default_locale
    )


async def _hello_url(bot: Bot, chat_id: int) -> str:
    me = await bot.me()
    assert me.username is not None  # every bot has a username
    return start_link(me.username, group_chat_payload(chat_id))


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
            markup = views.hello_keyboard(await _hello_url(bot, chat_id), in_group=True)
            if plan.edit_message_id is not None:
                text = views.welcome_text(chat, plan.joiners, kv)
                if await _extend(bot, chat_id, plan, text, markup):
                    book.extended(chat_id, plan.joiners)
                    return
                plan = plan.as_new_post()
            text = views.welcome_text(chat, plan.joiners, kv)
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
        text = views.join_request_text(
            event.from_user.first_name,
            event.chat.title or chat.title,
            await kv_name(session, settings.kv_name),
            approve=approve,
        )
        markup = views.hello_keyboard(await _hello_url(bot, event.chat.id), in_group=False)
        try:
            await bot.send_message(event.user_chat_id, text, reply_markup=markup)
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


def _word(args: str | None) -> str:
    """The first word after /willkommen, lower-cased ("" for none)."""
    parts = (args or "").split(maxsplit=1)
    return parts[0].lower() if parts else ""


def _rest(args: str | None) -> str:
    """What follows the first word: the text of /willkommen text …"""
    parts = (args or "").strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def _welcome(words: frozenset[str]) -> Command:
    """/willkommen followed by one of `words`."""
    return Command(*WELCOME.aliases, magic=F.args.func(_word).in_(words))


async def welcome_status(message: Message, served: ServedChat, i18n: I18n) -> None:
    """/willkommen (or an unknown word after it): the setting, and how to change it."""
    with i18n.use_locale(_group_locale(served, i18n)):
        await message.reply(views.status(served))


async def welcome_off(
    message: Message, served: ServedChat, session: AsyncSession, i18n: I18n
) -> None:
    """/willkommen aus: no welcome in this group."""
    if set_welcome_enabled(served, False):
        await session.commit()
    with i18n.use_locale(_group_locale(served, i18n)):
        await message.reply(views.switched_off())


async def welcome_on(
    message: Message, served: ServedChat, session: AsyncSession, i18n: I18n
) -> None:
    """/willkommen an: welcome newcomers again."""
    if set_welcome_enabled(served, True):
        await session.commit()
    with i18n.use_locale(_group_locale(served, i18n)):
        await message.reply(views.switched_on())


async def welcome_default(
    message: Message, served: ServedChat, session: AsyncSession, i18n: I18n
) -> None:
    """/willkommen standard: back to the standard text."""
    if set_welcome_text(served, None):
        await session.commit()
    with i18n.use_locale(_group_locale(served, i18n)):
        await message.reply(views.back_to_standard())


async def welcome_text(
    message: Message,
    command: CommandObject,
    served: ServedChat,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    """/willkommen text …: the group's own welcome; checked first, nothing stored if it fails."""
    text = _rest(command.args)
    problem = check_welcome_text(text)
    if problem is None and set_welcome_text(served, text):
        await session.commit()
    kv = await kv_name(session, settings.kv_name)
    example = message.from_user.first_name if message.from_user else ""
    with i18n.use_locale(_group_locale(served, i18n)):
        if problem is not None:
            await message.reply(views.text_problem(problem))
        else:
            await message.reply(views.text_saved(served, example=example, kv=kv))


async def welcome_refused(message: Message, served: ServedChat, i18n: I18n) -> None:
    """/willkommen from someone who is no organiser: refused in the group's language."""
    with i18n.use_locale(_group_locale(served, i18n)):
        await message.reply(views.refusal())


def create_router() -> Router:
    """Greetings in groups and for join requests; /willkommen in groups.

    Unregistered groups (no ServedChat) get nothing at all. The WelcomeBook comes from the
    composition root as workflow data (`welcome_book`).
    """
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_(GROUP_CHATS))
    router.chat_member.filter(F.chat.type.in_(GROUP_CHATS))
    router.chat_join_request.filter(F.chat.type.in_(GROUP_CHATS))
    router.chat_member.register(member_joined, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    router.message.register(members_added, F.new_chat_members)
    # /willkommen: who may is a filter (WELCOME.roles); the rest get this router's refusal,
    # which, unlike guards.guard's, answers in the group's language.
    served, organiser = ServedGroup(), HasRoles(WELCOME.roles)
    router.message.register(welcome_off, _welcome(OFF_WORDS), served, organiser)
    router.message.register(welcome_on, _welcome(ON_WORDS), served, organiser)
    router.message.register(welcome_default, _welcome(DEFAULT_WORDS), served, organiser)
    router.message.register(welcome_text, _welcome(TEXT_WORDS), served, organiser)
    router.message.register(welcome_status, Command(*WELCOME.aliases), served, organiser)
    router.message.register(welcome_refused, Command(*WELCOME.aliases), served)
    router.chat_join_request.register(join_requested)
    return router
