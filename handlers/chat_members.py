"""Members coming and going: my_chat_member in private chats (a member blocked or unblocked the
bot) and chat_member in the KV's groups (someone left or joined), for departed-member retention;
joins are also counted per chat and day for the reports (bot.services.chat_joins, no ids).
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import (
    JOIN_TRANSITION,
    KICKED,
    LEAVE_TRANSITION,
    MEMBER,
    ChatMemberUpdatedFilter,
)
from aiogram.types import ChatMemberUpdated, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import departures
from bot.services.chat_joins import JoinSource, count_joins
from bot.services.members import set_reachable
from bot.settings import Settings
from models.base import utcnow

logger = logging.getLogger(__name__)

GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP)
# Statuses of someone who is in a chat (restricted members may be in it or not).
_IN_CHAT = frozenset({"creator", "administrator", "member"})


async def bot_blocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    """Stop sending to someone who blocked the bot, until they come back."""
    if await set_reachable(session, event.from_user.id, reachable=False):
        await session.commit()
        logger.info("member=%s blocked the bot", event.from_user.id)


async def bot_unblocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    """Someone who had blocked the bot is back."""
    if await set_reachable(session, event.from_user.id, reachable=True):
        await session.commit()
        logger.info("member=%s unblocked the bot", event.from_user.id)


async def left_group(event: ChatMemberUpdated, bot: Bot, session: AsyncSession) -> None:
    """Someone left (or was removed from) a KV group: departed once they are in none of them.

    The other KV groups are asked with getChatMember, at most departures.MAX_CHECKED of them;
    with more, or when Telegram can't say, the member counts as still around.
    """
    user = event.new_chat_member.user
    others = await departures.other_served_chats(session, user.id, event.chat.id)
    if others is None:
        return  # not a KV group, not a member the bot knows, or too many groups to ask
    for chat_id in others:
        try:
            found = await bot.get_chat_member(chat_id, user.id)
        except TelegramAPIError as exc:
            logger.info("could not ask chat=%s about a member who left: %s", chat_id, exc)
            return
        if found.status in _IN_CHAT or getattr(found, "is_member", False):
            return
    if await departures.mark_departed(session, user.id, now=utcnow()):
        await session.commit()
        logger.info("member=%s left the last KV group", user.id)


async def joined_group(event: ChatMemberUpdated, session: AsyncSession, settings: Settings) -> None:
    """Someone joined a KV group: a departed member is back, and the join is counted (bots
    not). The greeting runs after this."""
    user = event.new_chat_member.user
    changed = await departures.returned_to(session, user.id, event.chat.id)
    if not user.is_bot:
        counted = await count_joins(
            session,
            event.chat.id,
            1,
            source=JoinSource.MEMBER_UPDATE,
            at=utcnow(),
            zone=settings.zone,
        )
        changed = counted or changed
    if changed:
        await session.commit()
    raise SkipHandler  # on to the greeting (handlers.greeting)


async def joins_announced(message: Message, session: AsyncSession, settings: Settings) -> None:
    """The "joined" service message: its people (bots not) are counted for the reports. The
    greeting runs after this."""
    people = sum(1 for user in message.new_chat_members or [] if not user.is_bot)
    if await count_joins(
        session,
        message.chat.id,
        people,
        source=JoinSource.SERVICE_MESSAGE,
        at=utcnow(),
        zone=settings.zone,
    ):
        await session.commit()
    raise SkipHandler  # on to the greeting (handlers.greeting)


def create_router() -> Router:
    """Block/unblock bookkeeping in private chats, leaving and joining in groups (joins counted,
    from both kinds of update); never replies."""
    router = Router(name=__name__)
    router.my_chat_member.filter(F.chat.type == ChatType.PRIVATE)
    router.my_chat_member.register(
        bot_blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED)
    )
    router.my_chat_member.register(
        bot_unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER)
    )
    router.chat_member.filter(F.chat.type.in_(GROUP_CHATS))
    router.chat_member.register(left_group, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    router.chat_member.register(joined_group, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    router.message.register(joins_announced, F.chat.type.in_(GROUP_CHATS), F.new_chat_members)
    return router
