"""Actions kept until consent: a join or an answer pressed, or a group's or meeting's link
followed, before the member agreed. Kept in the conversation data (stored in the database, so a
restart loses nothing) and carried out after the intake's summary, or at once when the member
skips the questions. Only ids are kept; "not now" drops it, as nothing is stored without
consent beyond what the member is asking for right then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory, rsvp, schedule
from bot.services.directory import GroupError
from bot.services.profile import ProfileError
from bot.services.rsvp import RsvpError
from bot.services.schedule import ScheduleError
from bot.settings import Settings
from bot.telegram import membership
from bot.telegram.callbacks import RsvpAction
from bot.telegram.views import kept as views
from bot.telegram.views import meetings as meeting_views
from models import Member, RsvpAnswer

# The key in the conversation data.
KEPT = "kept"

KeptKind = Literal["join", "rsvp", "group", "meeting"]
ANSWERS = {
    RsvpAction.YES: RsvpAnswer.YES,
    RsvpAction.MAYBE: RsvpAnswer.MAYBE,
    RsvpAction.NO: RsvpAnswer.NO,
    RsvpAction.GUESTS: RsvpAnswer.YES,
}


@dataclass(frozen=True, slots=True)
class Kept:
    """One kept action: join group `id`, answer meeting `id` (`action`, `value` as the
    button had them), or show group / meeting `id`."""

    kind: KeptKind
    id: int
    action: str = ""
    value: int = 0

    def dump(self) -> dict[str, Any]:
        """As stored in the conversation data."""
        return {"kind": self.kind, "id": self.id, "action": self.action, "value": self.value}

    @classmethod
    def load(cls, data: object) -> Kept | None:
        """From the conversation data; None for nothing or anything malformed."""
        if not isinstance(data, dict):
            return None
        kind, kept_id = data.get("kind"), data.get("id")
        if kind not in ("join", "rsvp", "group", "meeting") or not isinstance(kept_id, int):
            return None
        if kind == "rsvp" and data.get("action") not in {action.value for action in ANSWERS}:
            return None
        return cls(kind, kept_id, str(data.get("action", "")), int(data.get("value", 0)))


async def keep(state: FSMContext, kept: Kept) -> None:
    """Keep `kept` (replacing what was kept before)."""
    await state.update_data({KEPT: kept.dump()})


async def peek(state: FSMContext) -> Kept | None:
    """What is kept, leaving it kept."""
    return Kept.load((await state.get_data()).get(KEPT))


async def take(state: FSMContext) -> Kept | None:
    """What is kept, no longer kept."""
    data = await state.get_data()
    raw = data.pop(KEPT, None)
    if raw is not None:
        await state.set_data(data)
    return Kept.load(raw)


async def describe(session: AsyncSession, kept: Kept, settings: Settings) -> str | None:
    """The kept action in words ("join <b>Stammtisch Mitte</b>"); None when its group or
    meeting is gone."""
    if kept.kind in ("join", "group"):
        group = await directory.active_group(session, kept.id)
        if group is None:
            return None
        return views.join_what(group) if kept.kind == "join" else views.group_what(group)
    try:
        meeting = await schedule.get_meeting(session, kept.id)
    except ScheduleError:
        return None
    if kept.kind == "meeting":
        return views.meeting_what(meeting, settings.zone)
    return views.answer_what(meeting, ANSWERS[RsvpAction(kept.action)], settings.zone)


async def carry_out(
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    member: Member,
    kept: Kept,
    *,
    now: datetime,
) -> None:
    """Do the kept action now (the member has consented) and tell the member it was done."""
    what = await describe(session, kept, settings)
    if what is None:
        await bot.send_message(member.id, views.gone())
        return
    screens: list[membership.Screen] = [(views.done(what), None)]
    try:
        screens += await _do(session, bot, i18n, settings, member, kept, now=now)
    except (GroupError, ProfileError, ScheduleError):
        screens = [(views.gone(), None)]
    except RsvpError as error:
        await session.rollback()
        screens.append((meeting_views.error_text(error), None))
    await membership.send(bot, member.id, screens)


async def _do(
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    member: Member,
    kept: Kept,
    *,
    now: datetime,
) -> list[membership.Screen]:
    if kept.kind == "join":
        joined = await membership.join(session, bot, i18n, settings, member, kept.id, now=now)
        if not joined.newly_joined:
            group = await directory.require_active_group(session, kept.id)
            return [await membership.group_card(session, bot, member, group, settings, now)]
        return joined.screens
    if kept.kind == "group":
        group = await directory.require_active_group(session, kept.id)
        return [await membership.group_card(session, bot, member, group, settings, now)]
    if kept.kind == "meeting":
        meeting = await schedule.get_meeting(session, kept.id)
        return [await membership.meeting_screen(session, member, meeting, settings)]
    action = RsvpAction(kept.action)
    result = await rsvp.answer(
        session,
        meeting_id=kept.id,
        member_id=member.id,
        consented=member.consented,
        answer=ANSWERS[action],
        guests=kept.value if action == RsvpAction.GUESTS else None,
        now=now,
    )
    await session.commit()
    return [await membership.meeting_screen(session, member, result.meeting, settings)]
