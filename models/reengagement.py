"""Gentle re-engagement: the check-in messages sent to quiet members and how they reacted, and
a member's consent to be phoned by the KV (with the number they shared for it)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, text_enum, utcnow


class Reaction(enum.StrEnum):
    """What a member did with a check-in: one of its three buttons."""

    SHOW = "show"
    LATER = "later"
    FEWER = "fewer"


class CheckIn(Base):
    """One check-in queued for a quiet member, at most one per member and quarter.

    Kept so the caps hold (the last check-in, a "later" and its time) and so the organisers'
    call list can say why someone is on it. Erased with the member.
    """

    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("member_id", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Tied to the profile (only members who agreed get check-ins): withdrawn with it.
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("profiles.member_id", ondelete="CASCADE"), index=True
    )
    # The quarter in the KV's zone, "2026Q4": the outbox key and the cap.
    quarter: Mapped[str] = mapped_column(String(8))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the delivery worker rendered it to send (None: not sent, e.g. paused meanwhile).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reaction: Mapped[Reaction | None] = mapped_column(text_enum(Reaction, "check_in_reaction"))
    reacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallConsent(Base):
    """A member agreed to be phoned by someone of the KV; the number is their own Telegram
    contact, shared for this. Revoking deletes the row, number and all."""

    __tablename__ = "call_consents"

    # Tied to the profile: withdrawing consent to it withdraws this consent too.
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("profiles.member_id", ondelete="CASCADE"), primary_key=True
    )
    phone: Mapped[str] = mapped_column(String(32))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
