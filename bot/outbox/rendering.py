"""What the outbox sends: a renderer turns a delivery row into text and buttons, or a copy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from models import Delivery, Member


@dataclass(frozen=True, slots=True)
class Copy:
    """Send a copy of an existing message (copyMessage keeps its formatting, photo or file)."""

    from_chat_id: int
    message_id: int
    reply_markup: InlineKeyboardMarkup | None = None


TextMessage = tuple[str, InlineKeyboardMarkup | None]


@dataclass(slots=True)
class Parts:
    """A notice too long for one message (a digest of 500 newcomers), sent as several in order.

    `sent` counts the parts Telegram took: a part that has to wait (429) or fails resumes there
    instead of repeating the earlier ones while the worker still holds the row.
    """

    messages: tuple[TextMessage, ...]
    sent: int = 0


def as_parts(messages: list[TextMessage]) -> TextMessage | Parts:
    """One message as it is, several as Parts."""
    return messages[0] if len(messages) == 1 else Parts(tuple(messages))


# What a renderer returns: the text and buttons, several such parts, a message to copy, or None
# when the message is no longer wanted (the member finished the intake meanwhile, the batch was
# withdrawn...).
Rendered = TextMessage | Parts | Copy | None
Renderer = Callable[[AsyncSession, Delivery, Member | None], Awaitable[Rendered]]


_ZONE = "kv_zone"


def set_zone(session: AsyncSession, zone: ZoneInfo) -> None:
    """Give the renderers of this session the KV's time zone (the worker does, from settings)."""
    session.info[_ZONE] = zone


def kv_zone(session: AsyncSession) -> ZoneInfo:
    """The KV's time zone for a renderer showing times (Europe/Berlin where none was set)."""
    zone = session.info.get(_ZONE)
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo("Europe/Berlin")
