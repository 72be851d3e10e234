"""A broadcast being composed: what to copy, to whom, which kind of message, maybe when.

The draft lives in the organiser's conversation state as plain JSON (so a restart keeps it) and
becomes a Broadcast row only when it is sent (`submit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import broadcasts
from bot.services.audience import Audience
from models import Broadcast, Category

# Kinds of message that copyMessage carries unchanged and members can open on any phone.
CONTENT_TYPES = frozenset({"text", "photo", "document", "video", "animation", "audio", "voice"})


class DraftError(ValueError):
    """Conversation data that is not a draft (from an older version, or damaged)."""


@dataclass(frozen=True, slots=True)
class Draft:
    """The organiser's message (by reference), the audience, the kind of message, the time.

    `at` (UTC) is set once the organiser typed a time and cleared whenever the draft changes,
    so a confirmation always names the audience and kind it was shown with.
    """

    source_chat_id: int
    source_message_id: int
    content_type: str
    summary: str = ""
    audience: Audience = field(default_factory=Audience)
    category: Category = Category.ANNOUNCEMENTS
    at: datetime | None = None

    @classmethod
    def of_message(
        cls, *, chat_id: int, message_id: int, content_type: str, text: str | None
    ) -> Draft:
        """A new draft for everyone, announcements, of the organiser's message `message_id`."""
        return cls(chat_id, message_id, content_type, broadcasts.summary_of(text))

    def with_audience(self, audience: Audience) -> Draft:
        """The draft for another audience (and no time yet)."""
        return replace(self, audience=audience, at=None)

    def with_category(self, category: Category) -> Draft:
        """The draft as another kind of message (and no time yet)."""
        return replace(self, category=category, at=None)

    def scheduled(self, at: datetime | None) -> Draft:
        """The draft to go out at `at` (UTC), or with no time chosen."""
        return replace(self, at=at)

    def to_json(self) -> dict[str, Any]:
        """Plain values for the conversation state."""
        return {
            "chat_id": self.source_chat_id,
            "message_id": self.source_message_id,
            "content_type": self.content_type,
            "summary": self.summary,
            "audience": self.audience.to_json(),
            "category": self.category.value,
            "at": self.at.isoformat() if self.at is not None else None,
        }

    @classmethod
    def from_json(cls, data: object) -> Draft:
        """Read what to_json wrote; anything else raises a ValueError (DraftError and others)."""
        if not isinstance(data, Mapping):
            raise DraftError("no draft")
        chat_id, message_id = data.get("chat_id"), data.get("message_id")
        content_type, summary = data.get("content_type"), data.get("summary", "")
        if not (isinstance(chat_id, int) and isinstance(message_id, int)):
            raise DraftError("bad source message")
        if content_type not in CONTENT_TYPES or not isinstance(summary, str):
            raise DraftError("bad content")
        at = data.get("at")
        return cls(
            source_chat_id=chat_id,
            source_message_id=message_id,
            content_type=str(content_type),
            summary=summary,
            audience=Audience.from_json(data.get("audience")),
            category=Category(data.get("category", Category.ANNOUNCEMENTS)),
            at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        )


async def submit(
    session: AsyncSession, draft: Draft, *, author_id: int, at: datetime | None, now: datetime
) -> Broadcast:
    """Store the draft as a broadcast: started at once (`at` None) or due at `at`.

    Raises UnknownSegmentError if the audience names something that no longer exists, and
    broadcasts.AlreadySubmittedError if this draft became a broadcast already (a double tap).
    The caller commits.
    """
    broadcast = await broadcasts.schedule(
        session,
        author_id=author_id,
        source_chat_id=draft.source_chat_id,
        source_message_id=draft.source_message_id,
        content_type=draft.content_type,
        summary=draft.summary,
        category=draft.category,
        audience=draft.audience,
        scheduled_at=max(at or now, now),
        key=broadcasts.draft_key(draft.source_chat_id, draft.source_message_id),
    )
    if at is None:
        await broadcasts.start_due(session, now, only=broadcast.id)
    return broadcast
