"""Onboarding jobs: one reminder after an abandoned intake, the weekly newcomer digest."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import IntakeCallback
from bot.notify import tell
from bot.services import directory
from bot.services.locales import member_locale
from bot.services.members import get_member, set_reachable
from bot.services.profile import members_to_remind
from bot.texts import member_label
from jobs.context import JobContext
from models import Member
from models.base import utcnow

logger = logging.getLogger(__name__)

REMIND_AFTER = timedelta(hours=24)
# Telegram's limit on inline buttons per message; the digest lists the rest by name only.
MAX_DIGEST_BUTTONS = 50


def _locale(ctx: JobContext, member: Member | None) -> str:
    return member_locale(
        member, available=ctx.i18n.available_locales, default=ctx.settings.default_locale
    )


async def remind_abandoned_intakes(ctx: JobContext, now: datetime | None = None) -> int:
    """One gentle reminder, never more, to members who left the intake a day ago."""
    now = now or utcnow()
    sent = 0
    async with ctx.scope() as session:
        for member in await members_to_remind(session, now, REMIND_AFTER):
            # Marked before sending: a crash between the two loses a reminder, never doubles it.
            assert member.profile is not None
            member.profile.intake_reminded_at = now
            await session.commit()
            with ctx.i18n.use_locale(_locale(ctx, member)):
                text = _(
                    "You started telling me what you care about yesterday. Two minutes more "
                    "and I can suggest groups that fit you."
                )
                keyboard = InlineKeyboardMarkup(
                    inline_keyboard=[
                        [
                            InlineKeyboardButton(
                                text=_("Carry on"),
                                callback_data=IntakeCallback(step="resume", action="resume").pack(),
                            )
                        ]
                    ]
                )
            try:
                await ctx.bot.send_message(member.id, text, reply_markup=keyboard)
                sent += 1
            except TelegramForbiddenError:
                await set_reachable(session, member.id, reachable=False)
                await session.commit()
            except TelegramAPIError as exc:
                logger.info("intake reminder to member=%s failed: %s", member.id, exc)
    return sent


async def newcomer_digest(ctx: JobContext, now: datetime | None = None) -> int:
    """Tell the organisers who joined nothing within NEWCOMER_DAYS; returns messages sent."""
    now = now or utcnow()
    async with ctx.scope() as session:
        newcomers = await directory.newcomers_without_group(
            session, now=now, older_than=timedelta(days=ctx.settings.newcomer_days)
        )
        if not newcomers:
            return 0
        recipients = await directory.organiser_ids(session, ctx.settings.admin_ids)

        def render() -> tuple[str, InlineKeyboardMarkup | None]:
            lines = [
                _(
                    "<b>Newcomers without a group</b> ({count}): they have been with us for "
                    "{days} days or more and haven't joined a group yet. A personal message "
                    "often helps."
                ).format(count=len(newcomers), days=ctx.settings.newcomer_days)
            ]
            lines += [f"• {member_label(member)}" for member in newcomers]
            buttons = [
                [
                    InlineKeyboardButton(
                        text=_("Write to {name}").format(name=member.first_name or member.id),
                        url=f"tg://user?id={member.id}",
                    )
                ]
                for member in newcomers[:MAX_DIGEST_BUTTONS]
            ]
            return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)

        sent = 0
        for recipient_id in recipients:
            recipient = await get_member(session, recipient_id)
            if await tell(
                ctx.bot,
                ctx.i18n,
                recipient_id,
                recipient,
                default_locale=ctx.settings.default_locale,
                render=render,
            ):
                sent += 1
    return sent
