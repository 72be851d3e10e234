"""Meetings (one date of a group), who answers how, posts of a meeting in group chats, pauses.

A group's rule yields its meetings on a rolling horizon (bot.services.schedule): each date is a
row with its own answers, so a moved or cancelled date keeps who said what. One-off meetings are
rows without a rule behind them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, text_enum, utcnow
from models.kv import Group

NOTE_LENGTH = 500
PLACE_LENGTH = 200
MAX_GUESTS = 5


class MeetingStatus(enum.StrEnum):
    """Whether a meeting takes place. A cancelled one stays, shown as cancelled."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class CancelReason(enum.StrEnum):
    """Why a meeting was cancelled, for what members are shown."""

    CANCELLED = "cancelled"  # the host cancelled this date
    PAUSE = "pause"  # the series pauses (Sommerpause)
    SERIES_ENDED = "series_ended"  # the host ended the series
    SCHEDULE_CHANGED = "schedule_changed"  # the group's rule changed in the KV setup


class Meeting(Base):
    """One meeting of a group.

    `occurrence` is the date of the series this meeting is (RFC 5545's RECURRENCE-ID; for a
    one-off the time it was created for), so a moved meeting stays the same row and the series
    doesn't produce its original date again. `starts_at` is when it actually starts.
    """

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("group_id", "occurrence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    occurrence: Mapped[datetime] = mapped_column(UTCDateTime)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    one_off: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[MeetingStatus] = mapped_column(
        text_enum(MeetingStatus, "meeting_status"), default=MeetingStatus.SCHEDULED
    )
    cancel_reason: Mapped[CancelReason | None] = mapped_column(
        text_enum(CancelReason, "cancel_reason")
    )
    # None: as many as come; guests count towards it.
    capacity: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(NOTE_LENGTH))
    # None: the group's place.
    place: Mapped[str | None] = mapped_column(String(PLACE_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[Group] = relationship(lazy="joined")

    @property
    def cancelled(self) -> bool:
        """Whether the meeting was called off."""
        return self.status == MeetingStatus.CANCELLED

    @property
    def where(self) -> str | None:
        """Where it takes place: its own place, else the group's."""
        return self.place or self.group.place


class RsvpAnswer(enum.StrEnum):
    """A member's answer to a meeting."""

    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


class Attendance(Base):
    """A member's answer to one meeting (yes / maybe / no, guests, waiting list).

    Tied to the profile: coming to a party meeting is political data, kept only with consent and
    erased with it. A yes that doesn't fit the capacity waits (`waitlisted`), in the order of
    `queued_at`, until a place frees up.
    """

    __tablename__ = "attendances"
    __table_args__ = (Index("ix_attendances_meeting_answer", "meeting_id", "answer"),)

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("profiles.member_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    answer: Mapped[RsvpAnswer] = mapped_column(
        text_enum(RsvpAnswer, "rsvp_answer"), default=RsvpAnswer.YES
    )
    guests: Mapped[int] = mapped_column(Integer, default=0)
    waitlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the current yes was given (its place in the waiting list).
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The host's notice about this answer went out (for hosts who hear of each answer).
    host_notified: Mapped[bool] = mapped_column(Boolean, default=False)

    meeting: Mapped[Meeting] = relationship(lazy="raise")

    @property
    def seats(self) -> int:
        """Places this answer takes when confirmed: the member and their guests."""
        return 1 + self.guests


class GroupPause(Base):
    """A series pauses on these local dates (inclusive), e.g. a Sommerpause."""

    __tablename__ = "group_pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingPost(Base):
    """A meeting posted into a group's Telegram chat, its counts kept current by edits.

    `revision` counts changes to the answers; the post shows `shown_revision`. The pacer edits
    a post whose two differ, at most as often as Telegram allows per group.
    """

    __tablename__ = "meeting_posts"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="de")
    revision: Mapped[int] = mapped_column(Integer, default=0)
    shown_revision: Mapped[int] = mapped_column(Integer, default=0)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship(lazy="raise")


class HostNotice(enum.StrEnum):
    """How a host hears of answers to their meetings."""

    EACH = "each"  # every answer as it comes
    DAILY = "daily"  # one summary a day
    DAY_BEFORE = "day_before"  # only the list the day before


class HostPreference(Base):
    """A host's choices about their meetings."""

    __tablename__ = "host_preferences"

    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    notice: Mapped[HostNotice] = mapped_column(
        text_enum(HostNotice, "host_notice"), default=HostNotice.DAILY
    )


class CalendarFeed(Base):
    """A member's personal calendar feed; only a hash of the secret in its URL is kept."""

    __tablename__ = "calendar_feeds"

    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalStatus(enum.StrEnum):
    """Where a proposed Stammtisch stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class GroupProposal(Base):
    """A member proposes a new Stammtisch; an organiser approves (it becomes a group) or not."""

    __tablename__ = "group_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="SET NULL"))
    place: Mapped[str | None] = mapped_column(String(PLACE_LENGTH))
    # The rhythm as the member wrote it (parsed by bot.services.recurrence).
    rule: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ProposalStatus] = mapped_column(
        text_enum(ProposalStatus, "proposal_status"), default=ProposalStatus.PENDING
    )
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HandoverStatus(enum.StrEnum):
    """Where a handover of a group's host role stands."""

    PENDING = "pending"
    DONE = "done"
    DECLINED = "declined"


class HostHandover(Base):
    """A host hands a group to another member; an organiser confirms."""

    __tablename__ = "host_handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    from_member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE")
    )
    to_member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE")
    )
    status: Mapped[HandoverStatus] = mapped_column(
        text_enum(HandoverStatus, "handover_status"), default=HandoverStatus.PENDING
    )
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
