"""What the host handlers share: the conversation's states, rendering the panel's screens, and
turning a schedule's refusal into the host's words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, directory, hosting, rsvp, schedule
from bot.services.hosting import HostError
from bot.services.schedule import ScheduleError
from bot.telegram.views import hosts as views
from models import AuditAction, Group, Meeting, Member, Role


class HostFlow(StatesGroup):
    """What a host is typing: a new meeting's time, a meeting's places, note or new time, a
    pause's period and name, a message to everyone coming, the new host's @username."""

    moment = State()
    capacity = State()
    note = State()
    move = State()
    period = State()
    label = State()
    message = State()
    message_ready = State()
    new_host = State()


# A typed answer is any text that is not a command (commands keep working mid-conversation).
TYPED = (F.text, ~cast(Any, F.text).startswith("/"))


@contextmanager
def schedule_refusals() -> Iterator[None]:
    """A schedule's refusal as the host's: explained by the host router, in the host's words."""
    try:
        yield
    except ScheduleError as error:
        raise HostError(error.reason) from error


async def group_view(
    session: AsyncSession, group: Group, member: Member, *, zone: ZoneInfo, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """A group as its host sees it."""
    meetings = await hosting.group_meetings(session, group, now=now)
    pauses = await schedule.pauses(session, group.id, today=now.astimezone(zone).date())
    own = member.id in await directory.host_ids(session, group)
    return views.group_screen(group, meetings, pauses, zone, can_hand_over=own)


async def meeting_view(
    session: AsyncSession,
    meeting: Meeting,
    *,
    zone: ZoneInfo,
    now: datetime,
    page: int = 0,
    reader: int | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """A meeting as its host sees it: who comes (`page` of a long list), and the buttons.

    With `reader` (the host who opened the list), the list shown is in the audit log.
    """
    counts = (await rsvp.counts(session, [meeting]))[meeting.id]
    attendees = await rsvp.attendees(session, meeting)
    if reader is not None:
        await audit.record(
            session,
            reader,
            AuditAction.ATTENDEE_LIST,
            count=len(attendees),
            subject=f"{meeting.group.name} #{meeting.id}",
            at=now,
        )
        await session.commit()
    can_post = await hosting.has_chat(session, meeting.group_id)
    return views.meeting_screen(
        meeting, counts, attendees, zone, can_post=can_post, now=now, page=page
    )


def _stored_id(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    # 0 is no id: the service refuses it as unknown.
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def in_step(state: FSMContext, step: State, key: str, value: int) -> bool:
    """Whether the conversation is still at `step` about `key` = `value`: a button from an
    earlier or another step's message must not act on the current one."""
    data = await state.get_data()
    return await state.get_state() == step.state and data.get(key) == value


async def typed_group(
    session: AsyncSession, member: Member, roles: frozenset[Role], state: FSMContext
) -> Group:
    """The group a typed step is about, checked again (the role may be gone); a refusal ends
    the step."""
    group_id = _stored_id(await state.get_data(), "group_id")
    try:
        return await hosting.managed_group(session, member, roles, group_id)
    except HostError:
        await state.clear()
        raise


async def typed_meeting(
    session: AsyncSession, member: Member, roles: frozenset[Role], state: FSMContext
) -> Meeting:
    """The meeting a typed step is about, checked again; a refusal ends the step."""
    meeting_id = _stored_id(await state.get_data(), "meeting_id")
    try:
        return await hosting.managed_meeting(session, member, roles, meeting_id)
    except HostError:
        await state.clear()
        raise
