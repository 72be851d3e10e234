"""Gedenktage: memorial dates by rule, their yearly dates, and answers to the KV's own event.

A memorial is a yearly rule ("27.01.", "2. Sonntag im September", "letzter Sonntag im
November") with a name and why it matters, and optionally the KV's own event that day (time,
place) members can answer to. bot.services.memorials makes a MemorialDate row per year on a
rolling horizon, so answers and last year's attendance stay per date.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, text_enum, utcnow
from models.kv import KEY_LENGTH, NAME_LENGTH
from models.meeting import RsvpAnswer

PLACE_LENGTH = 200
ABOUT_LENGTH = 1000


class Memorial(Base):
    """A Gedenktag: its rule, name, why it matters, and the KV's event when there is one."""

    __tablename__ = "memorials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    # The rule as written and as RFC 5545 text (yearly, floating local time).
    rule: Mapped[str] = mapped_column(String(200))
    rrule: Mapped[str] = mapped_column(Text)
    about: Mapped[str | None] = mapped_column(String(ABOUT_LENGTH))
    # The KV's own event on the day: local time and place; no time: no event to answer to.
    event_time: Mapped[time | None] = mapped_column(Time)
    event_place: Mapped[str | None] = mapped_column(String(PLACE_LENGTH))
    event_note: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class MemorialDate(Base):
    """One year's date of a memorial, with the KV's event as planned for it."""

    __tablename__ = "memorial_dates"
    __table_args__ = (UniqueConstraint("memorial_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    memorial_id: Mapped[int] = mapped_column(
        ForeignKey("memorials.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date, index=True)
    # The event's start (UTC) and place for this year; None: no event this year.
    event_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_place: Mapped[str | None] = mapped_column(String(PLACE_LENGTH))
    # Yes answers to a past event of members who since erased their data: the count organisers
    # see as "last year" stays right without keeping who.
    erased_yes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memorial: Mapped[Memorial] = relationship(lazy="joined")


class MemorialAnswer(Base):
    """A member's answer to the KV's event on a memorial date. Erased with the profile."""

    __tablename__ = "memorial_answers"

    memorial_date_id: Mapped[int] = mapped_column(
        ForeignKey("memorial_dates.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("profiles.member_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    answer: Mapped[RsvpAnswer] = mapped_column(text_enum(RsvpAnswer, "memorial_answer"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
