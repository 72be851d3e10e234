"""Consent history: every time a member gave or withdrew consent, with the text's version.

Kept when consent is withdrawn (with the id and the language), so the KV can show when a
member agreed and when they took it back; erased with everything else on "delete everything".
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, text_enum, utcnow


class ConsentEvent(enum.StrEnum):
    """What happened to a member's consent."""

    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class ConsentRecord(Base):
    """One consent given or withdrawn, when, and for which version of the consent text."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[ConsentEvent] = mapped_column(text_enum(ConsentEvent, "consent_event"))
    consent_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
