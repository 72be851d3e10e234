"""Meetings in the group chats: a host posts one, members answer under it, /termine there.

Posting is a button of the host's panel (HostCallback POST, in the private chat); the
post's counts are kept current by the pacer (jobs.meeting_posts), not here. Presses under a
post come from the group chat: members who agreed are counted, everyone else is sent to the
private chat (a t.me start link as the press's answer) to agree first.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import meeting_posts, rsvp, schedule
from bot.services.locales import resolve_locale
from bot.services.meeting_posts import PostError, PostPlan, Target
from bot.services.rsvp import RsvpError
from bot.services.welcome import served_chat
from bot.settings import Settings
from bot.telegram.callbacks import HostAction, HostCallback, RsvpAction, RsvpCallback
from bot.telegram.commands import CALENDAR, DATES, GROUPS
from bot.telegram.deeplinks import group_chat_payload, meeting_payload, start_link
from bot.telegram.guards import explain, private_router
from bot.telegram.views import meeting_posts as views
from bot.telegram.views.meetings import answer_noted
from bot.telegram.views.meetings import error_text as answer_error
from models import Member, Role, RsvpAnswer, ServedChat
from models.base import utcnow

logger = logging.getLogger(__name__)

GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP)
ANSWERS = {
    RsvpAction.YES: RsvpAnswer.YES,
    RsvpAction.MAYBE: RsvpAnswer.MAYBE,
    RsvpAction.NO: RsvpAnswer.NO,
}
# How far ahead /termine in a group looks, and how many dates it lists.
GROUP_DATES_AHEAD = timedelta(days=28)
GROUP_DATES_LIMIT = 5


async def _bot_username(bot: Bot) -> str:
    me = await bot.me()
    assert me.username is not None  # every bot has a username
    return me.username


def _chat_locale(language: str, i18n: I18n) -> str:
    # The chat's language, not the presser's: everyone in the group reads the post.
    return resolve_locale(
        language, None, available=i18n.available_locales, default=i18n.default_locale
    )


# --- posting (the host's private chat) -------------------------------------------------------


async def post_pressed(
    query: CallbackQuery,
    callback_data: HostCallback,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """Post the meeting into its group's chat(s), pinned if asked; if it is there already,
    say so and offer to post it anew (views.REPLACE) instead of adding a second post."""
    now = utcnow()
    plan = await meeting_posts.plan_post(
        session, meeting_id=callback_data.meeting_id, member_id=member.id, roles=roles, now=now
    )
    if not callback_data.value & views.REPLACE and plan.posted_before:
        text, keyboard = views.already_posted(plan.meeting, plan.targets, settings.zone)
        await query.answer()
        await bot.send_message(query.from_user.id, text, reply_markup=keyboard)
        return
    pin = bool(callback_data.value & views.PIN)
    results = [
        await _post_into(bot, session, i18n, settings, plan, target, pin=pin, now=now)
        for target in plan.targets
    ]
    await session.commit()
    await query.answer()
    await bot.send_message(query.from_user.id, views.posted_report(results))


async def _post_into(
    bot: Bot,
    session: AsyncSession,
    i18n: I18n,
    settings: Settings,
    plan: PostPlan,
    target: Target,
    *,
    pin: bool,
    now: datetime,
) -> views.Posted:
    meeting = plan.meeting
    with i18n.use_locale(_chat_locale(target.language, i18n)):
        text, keyboard = views.post_view(meeting, plan.counts, settings.zone)
    try:
        sent = await bot.send_message(target.chat_id, text, reply_markup=keyboard)
    except TelegramAPIError as exc:
        logger.info("meeting=%s not posted in chat=%s: %s", meeting.id, target.chat_id, exc)
        return views.Posted(target.title, views.Outcome.FAILED)
    # Read before record_post: it refreshes the same row to the new post.
    old_message_id = target.existing.message_id if target.existing is not None else None
    pinned = pin and await _pin(bot, target.chat_id, sent.message_id)
    await meeting_posts.record_post(
        session,
        meeting_id=meeting.id,
        chat_id=target.chat_id,
        message_id=sent.message_id,
        language=target.language,
        pinned=pinned,
        shown=plan.counts,
        now=now,
    )
    await session.commit()
    if old_message_id is not None:
        await _delete(bot, target.chat_id, old_message_id)
    if pinned:
        outcome = views.Outcome.PINNED
    else:
        outcome = views.Outcome.PIN_FAILED if pin else views.Outcome.POSTED
    return views.Posted(target.title, outcome, views.post_link(target.chat_id, sent.message_id))


async def _pin(bot: Bot, chat_id: int, message_id: int) -> bool:
    try:
        await bot.pin_chat_message(chat_id, message_id, disable_notification=True)
    except (TelegramBadRequest, TelegramForbiddenError) as exc:
        # Typically "not enough rights to manage pinned messages in the chat".
        logger.info("post %s in chat=%s not pinned: %s", message_id, chat_id, exc)
        return False
    return True


async def _delete(bot: Bot, chat_id: int, message_id: int) -> None:
    try:
        await bot.delete_message(chat_id, message_id)
    except TelegramAPIError as exc:
        # Older than 48 hours, already deleted, or no right to delete: it stays, unanswered.
        logger.info("old post %s in chat=%s not deleted: %s", message_id, chat_id, exc)


# --- answers under a post (the group chat) ---------------------------------------------------


async def group_answer(
    query: CallbackQuery,
    callback_data: RsvpCallback,
    bot: Bot,
    session: AsyncSession,
    member: Member | None,
) -> None:
    """Yes / maybe / no under a post: counted for members who agreed (the pacer updates the
    post); everyone else gets the private chat opened, to agree first."""
    now = utcnow()
    try:
        meeting = await meeting_posts.check_answerable(session, callback_data.meeting_id, now=now)
        if member is None or not member.consented:
            username = await _bot_username(bot)
            await query.answer(url=start_link(username, meeting_payload(meeting.id)))
            return
        kind = ANSWERS[callback_data.action]
        result = await rsvp.answer(
            session,
            meeting_id=meeting.id,
            member_id=member.id,
            consented=True,
            answer=kind,
            now=now,
        )
    except RsvpError as exc:
        await session.rollback()
        await query.answer(answer_error(exc))
        return
    await session.commit()
    position = await rsvp.waiting_position(session, result.attendance)
    await query.answer(answer_noted(result.attendance, position=position))


async def group_stray_press(query: CallbackQuery) -> None:
    """Other meeting buttons (guests, show) have no place under a group post: a forged press."""
    await query.answer(answer_error(RsvpError("unknown")))


# --- /termine in a group ---------------------------------------------------------------------


async def group_dates(
    message: Message, bot: Bot, session: AsyncSession, settings: Settings, i18n: I18n
) -> None:
    """/termine (/gruppen, /kalender) in a served group: the next dates of the chat's group (of
    every group in a general chat) and a button to the private chat. Other groups get nothing:
    the bot may sit in groups that are not the KV's."""
    chat: ServedChat | None = await served_chat(session, message.chat.id)
    if chat is None:
        return
    now = utcnow()
    group_ids = [chat.group_id] if chat.group_id is not None else None
    upcoming = await schedule.upcoming(
        session,
        now=now,
        until=now + GROUP_DATES_AHEAD,
        group_ids=group_ids,
        limit=GROUP_DATES_LIMIT,
    )
    group_name = chat.group.name if chat.group is not None else None
    url = start_link(await _bot_username(bot), group_chat_payload(chat.chat_id))
    with i18n.use_locale(_chat_locale(chat.language, i18n)):
        text, keyboard = views.group_dates(
            upcoming, settings.zone, group_name=group_name, private_url=url
        )
    await message.reply(text, reply_markup=keyboard)


def create_router() -> Router:
    """Posting from the private chat; answers and /termine in group chats.

    The group part is filtered to group chats, so the private-chat answer handler
    (handlers.meetings) and this one never both see a press.
    """
    router = Router(name=__name__)

    posting = private_router(f"{__name__}.posting")
    posting.callback_query.register(
        post_pressed,
        HostCallback.filter((F.action == HostAction.POST) & F.value.in_(views.POST_VALUES)),
    )
    explain(posting, PostError, views.post_error, alert=True)

    groups = Router(name=f"{__name__}.groups")
    groups.message.filter(F.chat.type.in_(GROUP_CHATS))
    groups.callback_query.filter(F.message.chat.type.in_(GROUP_CHATS))
    groups.callback_query.register(group_answer, RsvpCallback.filter(F.action.in_(set(ANSWERS))))
    groups.callback_query.register(group_stray_press, RsvpCallback.filter())
    groups.message.register(
        group_dates, Command(*DATES.aliases, *GROUPS.aliases, *CALENDAR.aliases)
    )

    router.include_routers(posting, groups)
    return router
