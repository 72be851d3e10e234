"""Rows that keep doors shut: invitation tokens and caps on notices a member makes the bot send."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Invitation(Base):
    """A member's invitation token: their t.me link carries it instead of their Telegram id, so
    a guessed id reveals nothing. Only members who agreed have one (it goes with the profile)."""

    __tablename__ = "invitations"

    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("profiles.member_id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NoticeCap(Base):
    """When a member last made the bot tell others something of one kind (about `subject_id`,
    0 when the kind has none); bot.services.notice_caps allows the next one an hour later.

    In the database, not in memory, so the cap holds across restarts and instances.
    """

    __tablename__ = "notice_caps"

    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
