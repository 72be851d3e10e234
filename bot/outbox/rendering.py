"""What the outbox sends: a renderer turns a delivery row into text and buttons, or a copy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from models import Delivery, Member


@dataclass(frozen=True, slots=True)
class Copy:
    """Send a copy of an existing message (copyMessage keeps its formatting, photo or file)."""

    from_chat_id: int
    message_id: int
    reply_markup: InlineKeyboardMarkup | None = None


# What a renderer returns: the text and buttons, a message to copy, or None when the message is
# no longer wanted (the member finished the intake meanwhile, the batch was withdrawn...).
Rendered = tuple[str, InlineKeyboardMarkup | None] | Copy | None
Renderer = Callable[[AsyncSession, Delivery, Member | None], Awaitable[Rendered]]
