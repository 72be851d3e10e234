"""What the broadcast handlers share: the conversation's states, its filters, showing a screen."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import TelegramObject

from bot.services.broadcast_draft import Draft

# Where the draft is kept in the conversation data.
DRAFT = "broadcast"


class BroadcastFlow(StatesGroup):
    """Composing: the message, then the audience panel, maybe a date and time."""

    waiting_for_message = State()
    building = State()
    waiting_for_time = State()


# States in which the draft exists; its panel's buttons work in both.
DRAFT_STATES = (BroadcastFlow.building.state, BroadcastFlow.waiting_for_time.state)


class OpenDraft(Filter):
    """Passes while a draft is open, handing it to the handler as `draft`.

    A press from a draft that was sent, discarded or cancelled (or a message after that) does
    not pass; the router answers it as stale.
    """

    async def __call__(self, event: TelegramObject, state: FSMContext) -> bool | dict[str, Any]:
        """The open draft, or False."""
        del event
        if await state.get_state() not in DRAFT_STATES:
            return False
        try:
            draft = Draft.from_json((await state.get_data()).get(DRAFT))
        except ValueError:
            return False
        return {"draft": draft}


async def save(state: FSMContext, draft: Draft, step: State) -> None:
    """Keep `draft` and be at `step` (writes only what changed, see bot.db.fsm_storage)."""
    await state.update_data({DRAFT: draft.to_json()})
    await state.set_state(step)
