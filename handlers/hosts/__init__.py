"""/meine_gruppen: hosts (and organisers, for every group) run their groups' meetings.

One router for the feature in the private chat. It has no role filter of its own: a group's
hosts are named in the KV setup and may not hold the host role, so every handler asks
bot.services.hosting (`managed_group`, `managed_meeting`) on the server side, and a refusal
(another group's button, a forged id, a non-host) is explained here in one place.
"""

from __future__ import annotations

from aiogram import Router

from bot.services.hosting import HostError
from bot.telegram.guards import explain, private_router
from bot.telegram.views import hosts as views
from handlers.hosts import dates, handover, message, panel


def create_router() -> Router:
    """The host's panel, managing dates, writing to attendees, handovers."""
    router = private_router(__name__)
    router.include_routers(
        panel.create_router(),
        dates.create_router(),
        message.create_router(),
        handover.create_router(),
    )
    explain(router, HostError, views.error_text, alert=True)
    return router


__all__ = ["create_router"]
