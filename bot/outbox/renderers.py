"""Every outbox kind and the function that renders it at sending time.

A renderer asks a service what is still true (the member may have finished the intake, the
broadcast may have been stopped) and renders with the feature's view; None withdraws the row.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.rendering import Copy, Rendered, Renderer
from bot.services import broadcasts, onboarding
from bot.telegram.views import broadcast as broadcast_views
from bot.telegram.views.intake import intake_reminder
from bot.telegram.views.newcomers import newcomer_digest
from models import Delivery, Member


async def render_intake_reminder(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The reminder, unless the member finished the intake or withdrew consent meanwhile."""
    del session, row
    return intake_reminder() if onboarding.reminder_still_wanted(member) else None


async def render_newcomer_digest(
    session: AsyncSession, row: Delivery, member: Member | None
) -> Rendered:
    """The digest with whoever of the listed newcomers still has no group and still agrees."""
    del member
    newcomers = await onboarding.newcomers_still_waiting(session, row.payload)
    if not newcomers:
        return None
    return newcomer_digest(newcomers, onboarding.digest_days(row.payload))


async def render_broadcast(session: AsyncSession, row: Delivery, member: Member | None) -> Rendered:
    """A copy of the organiser's message, unless the broadcast was stopped meanwhile."""
    del member
    source = await broadcasts.source_to_copy(session, row.payload)
    if source is None:
        return None
    chat_id, message_id = source
    return Copy(
        from_chat_id=chat_id, message_id=message_id, reply_markup=broadcast_views.settings_button()
    )


RENDERERS: dict[str, Renderer] = {
    onboarding.INTAKE_REMINDER: render_intake_reminder,
    onboarding.NEWCOMER_DIGEST: render_newcomer_digest,
    broadcasts.BROADCAST_KIND: render_broadcast,
}
