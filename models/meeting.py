"""Meetings (one occurrence of a group's schedule) and who said they are coming."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.kv import Group


class Meeting(Base):
    """One meeting of a group at one time; created when the first member says they come."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("group_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Group] = relationship(lazy="joined")


class Attendance(Base):
    """A member said they come to a meeting (RSVP yes; saying no removes the row).

    Tied to the profile: coming to a party meeting is political data, kept only with consent and
    erased with it.
    """

    __tablename__ = "attendances"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("profiles.member_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
