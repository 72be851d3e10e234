"""Every outbox kind and the function that renders it at sending time."""

from __future__ import annotations

from bot.outbox import Renderer
from bot.services.broadcasts import BROADCAST_KIND
from jobs import broadcasts, onboarding

RENDERERS: dict[str, Renderer] = {
    **onboarding.RENDERERS,
    BROADCAST_KIND: broadcasts.render_broadcast,
}
