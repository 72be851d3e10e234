"""A group's card, a meeting's card, and joining a group: shared by /gruppen, /start links and
actions kept until consent (handlers don't import each other).

Joining tells the group's hosts privately, gives the member the group's Telegram chat link
when the KV setup maps a chat to the group, and shows the next meeting with its answer buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory, notice_caps, rsvp, schedule
from bot.services.notice_caps import NoticeKind
from bot.services.profile import join_group, joined_group_ids
from bot.settings import Settings
from bot.telegram.deeplinks import group_payload, start_link
from bot.telegram.notify import tell_member
from bot.telegram.views import groups as views
from bot.telegram.views.meeting_card import meeting_card
from models import Group, Meeting, Member

Screen = tuple[str, InlineKeyboardMarkup | None]

# How many dates a group's card lists.
DETAIL_DATES = 3


@dataclass(frozen=True, slots=True)
class Joined:
    """What joining did, and the messages for the member (the confirmation, the next meeting)."""

    newly_joined: bool
    screens: list[Screen]


async def share_link(bot: Bot, group: Group) -> str:
    """The t.me link that opens the group's card in the private chat."""
    me = await bot.me()
    assert me.username is not None  # every bot has a username
    return start_link(me.username, group_payload(group.id))


async def group_card(
    session: AsyncSession, bot: Bot, member: Member, group: Group, settings: Settings, now: datetime
) -> Screen:
    """Everything about one group with Join (Leave for its members) and the link to share it."""
    dates = (await directory.upcoming_dates(session, [group.id], now=now, count=DETAIL_DATES))[
        group.id
    ]
    joined = group.id in await joined_group_ids(session, member.id)
    return views.details(
        group,
        directory.meeting_rule(group),
        dates,
        settings.zone,
        joined=joined,
        share_link=await share_link(bot, group),
    )


async def meeting_screen(
    session: AsyncSession, member: Member, meeting: Meeting, settings: Settings
) -> Screen:
    """One meeting's card with the member's answer marked and the answer buttons."""
    counts = (await rsvp.counts(session, [meeting]))[meeting.id]
    answer = (await rsvp.member_answers(session, member.id, [meeting.id])).get(meeting.id)
    return meeting_card(meeting, counts, settings.zone, answer=answer)


async def join(
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    member: Member,
    group_id: int,
    *,
    now: datetime,
) -> Joined:
    """Join the group (committed) and tell its hosts; joining again changes nothing, tells nobody.

    Raises the service's errors (ProfileError for an unknown group or without consent).
    """
    result = await join_group(session, member, group_id, now)
    # Joining, leaving and joining again tells the hosts once an hour (they know already).
    tell_hosts = result.newly_joined and await notice_caps.claim(
        session, member.id, NoticeKind.JOINED, result.group.id, now=now
    )
    await session.commit()
    if not result.newly_joined:
        return Joined(newly_joined=False, screens=[])
    group = result.group
    hosts = [
        host_id for host_id in await directory.host_ids(session, group) if host_id != member.id
    ]
    # The warm handoff: each host hears privately, in their language, who joined.
    note = partial(views.host_note, member, group, first_group=result.first_group)
    told = [
        await tell_member(
            bot, i18n, session, host_id, default_locale=settings.default_locale, render=note
        )
        for host_id in (hosts if tell_hosts else [])
    ]
    meeting = await schedule.next_meeting(session, group.id, now=now)
    link = await directory.chat_link(session, group.id)
    screens: list[Screen] = [
        views.joined(
            group,
            has_meeting=meeting is not None,
            hosts_told=any(told) if tell_hosts else bool(hosts),
            chat_link=link,
        )
    ]
    if meeting is not None:
        screens.append(await meeting_screen(session, member, meeting, settings))
    return Joined(newly_joined=True, screens=screens)


async def send(bot: Bot, chat_id: int, screens: list[Screen]) -> None:
    """Send screens one after the other to a chat."""
    for text, keyboard in screens:
        await bot.send_message(chat_id, text, reply_markup=keyboard)
