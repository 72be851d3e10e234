"""Paging through the organisers' newcomer digest.

The digest arrives from the outbox with its first page; "Older »" and "« Newer" edit it to
another page, computed anew at press time. Only organisers and admins get this far (the role
filter, checked at press time, so whoever lost the role meanwhile gets the refusal); a page
past the end shows the last one with a word why; a forged page number fails the callback
data's range check and ends in the fallback's "no longer valid". A double tap edits the
message to what it shows already, which is no error (bot.telegram.screens).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import newcomer_digest
from bot.settings import Settings
from bot.telegram.callbacks import DigestCallback
from bot.telegram.guards import guard, private_router
from bot.telegram.screens import Shown, show
from bot.telegram.views import newcomers as views
from models import Role
from models.base import utcnow


async def page_pressed(
    query: CallbackQuery,
    callback_data: DigestCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """Another page of the digest, in place of the pressed one; the names shown are audited."""
    page = await newcomer_digest.digest_page(
        session, now=utcnow(), days=settings.newcomer_days, page=callback_data.page
    )
    await newcomer_digest.record_page_view(session, query.from_user.id, page)
    await session.commit()
    await query.answer(views.page_gone() if page.clamped else None)
    text, keyboard = views.newcomer_digest(page)
    await show(message, text, keyboard)


def create_router() -> Router:
    """The digest's page buttons in the private chat, for organisers and admins only."""
    router = private_router(__name__)
    router.callback_query.register(page_pressed, DigestCallback.filter(), Shown())
    return guard(
        router,
        roles={Role.ORGANISER},
        refusal=views.refusal,
        callbacks=[DigestCallback],
    )
