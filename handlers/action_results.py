"""The result log after a shift: the prompt's quick choice and "Save", the log screen's counts
and topics, and saving (replacing a result a teammate logged before).

Every press reloads the shift and re-checks who may log it and when (bot.services.
action_results.target). The draft lives in the member's conversation data with a random rev
that every button of its screen carries: a press on an older screen, or after the data was
cleared (/abbrechen), shows the current draft instead of saving something not on screen.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import action_results
from bot.services.action_results import FIELDS, Counts, ResultError, Target
from bot.settings import Settings
from bot.telegram.callbacks import ResultAct, ResultCallback
from bot.telegram.guards import explain, private_router
from bot.telegram.screens import Shown, show
from bot.telegram.views import action_results as views
from models import Member, Role
from models.base import utcnow

DRAFT = "result_log"
# Revs are drawn at random, so a draft made after the data was cleared never takes an old
# screen's rev by counting up to it.
MAX_REV = 99_999


@dataclass(frozen=True, slots=True)
class Draft:
    """The log being filled in: for which shift, its rev, the counts and topics so far."""

    shift_id: int
    rev: int
    counts: Counts
    topic_ids: frozenset[int]

    def to_json(self) -> dict[str, Any]:
        """As stored in the conversation data."""
        return {
            "shift": self.shift_id,
            "rev": self.rev,
            "counts": [self.counts.get(index) for index in range(len(FIELDS))],
            "topics": sorted(self.topic_ids),
        }

    @classmethod
    def from_json(cls, value: object) -> Draft | None:
        """The stored draft, or None for anything else (cleared, or an older shape)."""
        if not isinstance(value, dict):
            return None
        try:
            counts = [action_results.check_count(item) for item in value["counts"]]
            return cls(
                int(value["shift"]),
                int(value["rev"]),
                Counts(*counts),
                frozenset(int(item) for item in value["topics"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def changed(
        self, *, counts: Counts | None = None, topic_ids: frozenset[int] | None = None
    ) -> Draft:
        """A new draft with a new rev."""
        return Draft(
            self.shift_id,
            _new_rev(self.rev),
            self.counts if counts is None else counts,
            self.topic_ids if topic_ids is None else topic_ids,
        )


def _new_rev(old: int = 0) -> int:
    rev = random.randint(1, MAX_REV)  # a screen's version, not a secret
    return rev if rev != old else rev % MAX_REV + 1


async def _target(
    session: AsyncSession, data: ResultCallback, member: Member, roles: Collection[Role]
) -> Target:
    return await action_results.target(session, data.shift_id, member.id, roles, now=utcnow())


async def _store(state: FSMContext, draft: Draft | None) -> None:
    await state.update_data({DRAFT: draft.to_json() if draft is not None else None})


def _fresh(found: Target) -> Draft:
    """A draft starting from what is stored (a teammate's result), or from zeros."""
    logged = found.logged
    return Draft(
        found.shift.id,
        _new_rev(),
        logged.counts if logged is not None else Counts(),
        logged.topic_ids if logged is not None else frozenset(),
    )


async def _render(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    found: Target,
    draft: Draft,
    *,
    focus: int = 0,
    page: int = 0,
) -> None:
    focus = focus if 0 <= focus < len(FIELDS) else 0
    screen = views.LogScreen(draft.counts, draft.topic_ids, draft.rev, focus=focus, page=page)
    topics = await action_results.topics(session)
    await show(message, *views.log_screen(found.shift, settings.zone, screen, topics, found.logged))


async def open_log(
    query: CallbackQuery,
    callback_data: ResultCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """The log screen, starting from the stored result (or zeros); from the quick choice with
    its conversations already set."""
    found = await _target(session, callback_data, member, roles)
    draft = _fresh(found)
    if callback_data.field == 1:
        value = action_results.check_count(callback_data.value)
        draft = draft.changed(counts=draft.counts.with_value(0, value))
    await _store(state, draft)
    await query.answer()
    await _render(message, session, settings, found, draft)


async def quick(
    query: CallbackQuery,
    callback_data: ResultCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """The prompt's quick choice of conversations: shown with "Save" (nothing stored yet)."""
    found = await _target(session, callback_data, member, roles)
    value = action_results.check_count(callback_data.value)
    topics = await action_results.topics(session)
    await query.answer()
    await show(
        message, *views.quick_confirm(found.shift, settings.zone, value, found.logged, topics)
    )


async def quick_save(
    query: CallbackQuery,
    callback_data: ResultCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
) -> None:
    """Store the quick choice as the shift's result (the second of the two taps)."""
    value = action_results.check_count(callback_data.value)
    await _save(
        query, message, session, settings, member, roles, callback_data, Counts(value), frozenset()
    )


async def _save(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    callback_data: ResultCallback,
    counts: Counts,
    topic_ids: frozenset[int],
) -> None:
    found = await _target(session, callback_data, member, roles)
    result = await action_results.log(
        session, found.shift.id, member.id, roles, counts, topic_ids, now=utcnow()
    )
    topics = await action_results.topics(session)
    await session.commit()
    await query.answer(views.saved_note())
    await show(message, *views.saved(found.shift, settings.zone, result, topics))


async def edit_log(
    query: CallbackQuery,
    callback_data: ResultCallback,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    member: Member,
    roles: frozenset[Role],
    state: FSMContext,
) -> None:
    """A press on the log screen: open a count, set or step it, toggle a topic, turn the
    topics' page, or save. A press from an older screen shows the current draft instead,
    unless it says what it sets (a count's value, a topic on or off): that is set."""
    found = await _target(session, callback_data, member, roles)
    data = await state.get_data()
    draft = Draft.from_json(data.get(DRAFT))
    act, field, value = callback_data.act, callback_data.field, callback_data.value
    if draft is None or draft.shift_id != found.shift.id:
        draft = _fresh(found)
        await _store(state, draft)
        await _refreshed(query, message, session, settings, found, draft, callback_data.page)
        return
    if draft.rev != callback_data.rev and act not in SETTING:
        # A relative or final press (a step, a toggle, Save) from a screen not current.
        await _refreshed(query, message, session, settings, found, draft, callback_data.page)
        return
    if act == ResultAct.SAVE:
        await _save(
            query, message, session, settings, member, roles, callback_data, draft.counts,
            draft.topic_ids,
        )  # fmt: skip
        await _store(state, None)
        return
    focus, page = field, callback_data.page
    if act in (ResultAct.SET, ResultAct.ADD):
        if not 0 <= field < len(FIELDS):
            raise ResultError("count")
        if act == ResultAct.SET:
            new = action_results.check_count(value)
        else:
            step = max(-MAX_STEP, min(MAX_STEP, value))
            new = action_results.clamp(draft.counts.get(field) + step)
        draft = draft.changed(counts=draft.counts.with_value(field, new))
    elif act in (ResultAct.TOPIC, ResultAct.TOPIC_ON, ResultAct.TOPIC_OFF):
        known = {topic.id for topic in await action_results.topics(session)}
        if value not in known:
            raise ResultError("topic")
        if act == ResultAct.TOPIC:
            # An old screen's toggle, on the screen it was drawn for: the opposite of shown.
            chosen = value not in draft.topic_ids
        else:
            chosen = act == ResultAct.TOPIC_ON
        topic_ids = draft.topic_ids | {value} if chosen else draft.topic_ids - {value}
        draft = draft.changed(topic_ids=topic_ids)
    await _store(state, draft)
    await query.answer()
    await _render(message, session, settings, found, draft, focus=focus, page=page)


async def _refreshed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    settings: Settings,
    found: Target,
    draft: Draft,
    page: int,
) -> None:
    """The press was from a screen not current: show the draft as it is, change nothing."""
    await query.answer(views.refreshed_note(), show_alert=True)
    await _render(message, session, settings, found, draft, page=page)


# Presses that say what they set: from an older screen of the same draft they still set it.
SETTING = frozenset({ResultAct.SET, ResultAct.TOPIC_ON, ResultAct.TOPIC_OFF})
# A forged step can't jump further than the largest button's step.
MAX_STEP = max(abs(step) for step in views.STEPS)


def create_router() -> Router:
    """The result log's buttons in the private chat; refusals are explained as alerts."""
    router = private_router(__name__)
    router.callback_query.register(
        open_log, ResultCallback.filter(F.act == ResultAct.OPEN), Shown()
    )
    router.callback_query.register(quick, ResultCallback.filter(F.act == ResultAct.QUICK), Shown())
    router.callback_query.register(
        quick_save, ResultCallback.filter(F.act == ResultAct.QUICK_SAVE), Shown()
    )
    router.callback_query.register(edit_log, ResultCallback.filter(), Shown())
    explain(router, ResultError, views.error_text, alert=True)
    return router
