"""/rundschreiben: organisers compose a broadcast and follow it until its report.

One router for the feature: composing (compose) and following up (follow_up), for organisers
only (bot.telegram.guards.guard: one role filter, one refusal), with the services' refusals
explained in one place each.
"""

from __future__ import annotations

from aiogram import Router

from bot.services.audience import UnknownSegmentError
from bot.services.broadcasts import BroadcastError, ScheduleError
from bot.telegram.callbacks import BroadcastCallback
from bot.telegram.commands import BROADCAST
from bot.telegram.guards import explain, guard, private_router
from bot.telegram.screens import Shown
from bot.telegram.views import broadcast as views
from bot.telegram.views import broadcast_draft as draft_views
from handlers.broadcast import compose, follow_up
from handlers.broadcast.flow import BroadcastFlow


def create_router() -> Router:
    """The broadcast feature in the private chat, guarded by the organiser role."""
    feature = private_router(__name__)
    # Every button edits or answers its message: one too old to edit falls to the fallback.
    feature.callback_query.filter(Shown())
    feature.include_routers(compose.create_router(), follow_up.create_router())
    # A chosen value that is gone is a real refusal of what was pressed: an alert.
    explain(feature, UnknownSegmentError, draft_views.segment_error_text, alert=True)
    explain(feature, ScheduleError, draft_views.schedule_error_text)
    # A stop button pressed late: a quiet note.
    explain(feature, BroadcastError, views.broadcast_error_text)
    return guard(
        feature,
        roles=BROADCAST.roles,
        refusal=views.no_permission,
        commands=[BROADCAST],
        callbacks=[BroadcastCallback],
        states=[BroadcastFlow],
    )


__all__ = ["create_router"]
