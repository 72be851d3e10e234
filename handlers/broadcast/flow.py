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
# The message showing the draft's confirmation, the one whose "Send" may send it. Any other
# screen of the draft clears it (`save`): a "Send" from an older confirmation, or from one the
# draft changed after, only shows the confirmation again.
CONFIRMATION = "broadcast_confirmation"


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
    """Keep `draft` and be at `step` (writes only what changed, see bot.db.fsm_storage).

    No confirmation stands after this until `confirmation_shown` names one.
    """
    await state.update_data({DRAFT: draft.to_json(), CONFIRMATION: None})
    await state.set_state(step)


async def confirmation_shown(state: FSMContext, message_id: int) -> None:
    """Message `message_id` shows the draft's confirmation: its "Send" sends what it shows."""
    await state.update_data({CONFIRMATION: message_id})


async def is_confirmation(state: FSMContext, message_id: int) -> bool:
    """Whether message `message_id` shows the open draft's latest confirmation."""
    return (await state.get_data()).get(CONFIRMATION) == message_id
