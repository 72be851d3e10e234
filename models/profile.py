"""What a member told the bot after agreeing to it: interests, Stadtteil, free time, groups.

Political interests are special-category data (GDPR Art. 9): a profile row exists only with
consent, and erasing it erases all of this at once (the link tables cascade).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.kv import ActivityType, District, Group, Topic

# 24 h and 2 h before, in minutes.
DEFAULT_REMINDER_OFFSETS = (24 * 60, 2 * 60)


class FreeTime(enum.StrEnum):
    """When someone can come; the same names as bot.services.recurrence.local_slot."""

    WEEKDAY_EVENING = "weekday_evening"
    WEEKDAY_DAYTIME = "weekday_daytime"
    WEEKEND = "weekend"


class ContactFrequency(enum.StrEnum):
    """How often a member wants to hear from the KV."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    IMPORTANT_ONLY = "important_only"


profile_topics = Table(
    "profile_topics",
    Base.metadata,
    Column(
        "member_id",
        BigInteger,
        ForeignKey("profiles.member_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    # Audiences by topic start from the topic: the primary key leads with the member.
    Index("ix_profile_topics_topic_id_member_id", "topic_id", "member_id"),
)

profile_activity_types = Table(
    "profile_activity_types",
    Base.metadata,
    Column(
        "member_id",
        BigInteger,
        ForeignKey("profiles.member_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "activity_type_id", ForeignKey("activity_types.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Profile(Base):
    """A consenting member's answers; one row per member, created when they agree."""

    __tablename__ = "profiles"

    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Which wording of the consent text they agreed to, so a changed text can ask again.
    consent_version: Mapped[int] = mapped_column(Integer, default=1)
    # Indexed for audiences by Stadtteil (a preview per button press, bot.services.audience).
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    # "Not sure / outside": answered, but no Stadtteil to match on.
    outside_districts: Mapped[bool] = mapped_column(Boolean, default=False)
    free_time: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_frequency: Mapped[str | None] = mapped_column(String(16))
    intake_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    intake_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    intake_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Minutes before a meeting the member wants reminding of it; empty: no reminders.
    reminder_offsets: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_REMINDER_OFFSETS)
    )

    district: Mapped[District | None] = relationship(lazy="joined")
    # Not loaded with the profile: the member (and so the profile) is loaded on every update,
    # and two SELECTs for answers that few updates read were a third of its cost. Code that
    # reads them loads them first (bot.services.members.load_answers, or selectinload), and
    # "raise" makes a forgotten load fail in the tests instead of doing IO on attribute access.
    topics: Mapped[list[Topic]] = relationship(secondary=profile_topics, lazy="raise")
    activity_types: Mapped[list[ActivityType]] = relationship(
        secondary=profile_activity_types, lazy="raise"
    )


class GroupMembership(Base):
    """A member joined a group through the bot."""

    __tablename__ = "group_memberships"
    # Matching asks each group for its newest member (bot.services.directory.last_activity).
    __table_args__ = (Index("ix_group_memberships_group_id_joined_at", "group_id", "joined_at"),)

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Group] = relationship(lazy="joined")
