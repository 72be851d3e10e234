"""/einladen (/invite): a member's invitation link (bot.services.invitations)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import invitations
from bot.settings import Settings
from bot.telegram.commands import INVITE
from bot.telegram.deeplinks import invite_payload, start_link
from bot.telegram.guards import private_router
from bot.telegram.views import invitations as views
from models import Member
from models.base import utcnow


async def show_invitation(
    message: Message, session: AsyncSession, settings: Settings, member: Member, bot: Bot
) -> None:
    """The member's link (made on first use), or why there is none before consent."""
    if not member.consented:
        await message.answer(views.no_consent())
        return
    token = await invitations.invite_token(session, member, now=utcnow())
    await session.commit()
    me = await bot.me()
    link = start_link(me.username or "", invite_payload(token))
    text, keyboard = views.invitation(link, settings.kv_name)
    await message.answer(text, reply_markup=keyboard)


def create_router() -> Router:
    """/einladen in the private chat."""
    router = private_router(__name__)
    router.message.register(show_invitation, Command(*INVITE.aliases))
    return router
