"""my_chat_member in private chats: a member blocked or unblocked the bot."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.members import set_reachable

logger = logging.getLogger(__name__)


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


def create_router() -> Router:
    """Block/unblock bookkeeping for private chats; never replies."""
    router = Router(name=__name__)
    router.my_chat_member.filter(F.chat.type == ChatType.PRIVATE)
    router.my_chat_member.register(
        bot_blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED)
    )
    router.my_chat_member.register(
        bot_unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER)
    )
    return router
