"""Field actions (Infostände, door-to-door rounds): campaigns, actions, their dates and shifts,
who signs up, swaps, calls for help, and the results logged afterwards.

An action is a plan: a single day or a rule ("jeden Samstag" within a campaign's period) and a
shift plan (times and how many people each needs). bot.services.field_actions turns it into
ActionDate rows on a rolling horizon, each with its Shift rows, so every date keeps its own
sign-ups. Results are counts and topics per shift, never who logged them or whom they met.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, text_enum, utcnow
from models.kv import KEY_LENGTH, NAME_LENGTH, District

PLACE_LENGTH = 200
MATERIAL_LENGTH = 1000
LABEL_LENGTH = 50
MAX_NEEDED = 50
MAX_SHIFTS = 8


class ActionKind(enum.StrEnum):
    """What kind of field action."""

    INFOSTAND = "infostand"
    DOOR_TO_DOOR = "door_to_door"


class ActionStatus(enum.StrEnum):
    """Whether an action's date takes place."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class SwapStatus(enum.StrEnum):
    """Where an offered shift swap stands."""

    OPEN = "open"
    TAKEN = "taken"
    WITHDRAWN = "withdrawn"


class Campaign(Base):
    """A campaign ("Heiße Getränke gegen soziale Kälte") that actions belong to, with a period."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    # Local dates, inclusive; None: open-ended on that side.
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer, default=0)


class FieldAction(Base):
    """A planned Infostand or door-to-door round: one day, or a series by rule.

    `shift_plan` lists the shifts of every date as plain values:
    [{"label": "Aufbau" | None, "start": "09:30", "end": "10:00", "needed": 2}, ...], local
    wall-clock times, ascending, each ending after it starts on the same day.
    """

    __tablename__ = "field_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The setup file's key; None for actions created in the chat.
    key: Mapped[str | None] = mapped_column(String(KEY_LENGTH), unique=True)
    kind: Mapped[ActionKind] = mapped_column(text_enum(ActionKind, "action_kind"))
    title: Mapped[str] = mapped_column(String(NAME_LENGTH))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    # Where the stand is, or the area a round covers (streets, a quarter).
    place: Mapped[str] = mapped_column(String(PLACE_LENGTH))
    material: Mapped[str | None] = mapped_column(String(MATERIAL_LENGTH))
    # One day ...
    on_day: Mapped[date | None] = mapped_column(Date)
    # ... or a rule as written ("jeden Samstag") and as RFC 5545 text, within the period below
    # and the campaign's.
    rule: Mapped[str | None] = mapped_column(String(200))
    rrule: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    shift_plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Who plans it and hears of swaps and emptied shifts; None: the organisers.
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="SET NULL")
    )
    # Actions dropped from the setup file stay, inactive, so their dates keep their history.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign | None] = relationship(lazy="joined")
    district: Mapped[District | None] = relationship(lazy="joined")


class ActionDate(Base):
    """One date of an action, with its shifts."""

    __tablename__ = "action_dates"
    __table_args__ = (UniqueConstraint("action_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("field_actions.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[ActionStatus] = mapped_column(
        text_enum(ActionStatus, "action_status"), default=ActionStatus.SCHEDULED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    action: Mapped[FieldAction] = relationship(lazy="joined")
    shifts: Mapped[list[Shift]] = relationship(
        back_populates="action_date",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Shift.starts_at",
    )

    @property
    def cancelled(self) -> bool:
        """Whether this date was called off."""
        return self.status == ActionStatus.CANCELLED


class Shift(Base):
    """One shift of an action's date: from, to, how many people it needs."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_date_id: Mapped[int] = mapped_column(
        ForeignKey("action_dates.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str | None] = mapped_column(String(LABEL_LENGTH))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    needed: Mapped[int] = mapped_column(Integer, default=2)

    action_date: Mapped[ActionDate] = relationship(back_populates="shifts", lazy="joined")


class ShiftSignup(Base):
    """A member holds a shift. Tied to the profile: erased with it."""

    __tablename__ = "shift_signups"

    shift_id: Mapped[int] = mapped_column(
        ForeignKey("shifts.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("profiles.member_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Signed up from a call for help (the organiser sees who answered one).
    via_call: Mapped[bool] = mapped_column(Boolean, default=False)


class ShiftSwap(Base):
    """A member offers their shift; another member takes it over (the organiser is told)."""

    __tablename__ = "shift_swaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    from_member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("profiles.member_id", ondelete="CASCADE"), index=True
    )
    to_member_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("profiles.member_id", ondelete="SET NULL")
    )
    status: Mapped[SwapStatus] = mapped_column(
        text_enum(SwapStatus, "swap_status"), default=SwapStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HelpCall(Base):
    """A member was asked to help with a shift that lacked people (one call per shift)."""

    __tablename__ = "help_calls"

    shift_id: Mapped[int] = mapped_column(
        ForeignKey("shifts.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("profiles.member_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    called_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ActionResult(Base):
    """What a shift achieved: counts only (no names, no addresses), plus topics raised."""

    __tablename__ = "action_results"

    shift_id: Mapped[int] = mapped_column(
        ForeignKey("shifts.id", ondelete="CASCADE"), primary_key=True
    )
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    leaflets: Mapped[int] = mapped_column(Integer, default=0)
    contacts: Mapped[int] = mapped_column(Integer, default=0)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionResultTopic(Base):
    """A topic people raised during a shift, and how often it came up."""

    __tablename__ = "action_result_topics"

    shift_id: Mapped[int] = mapped_column(
        ForeignKey("action_results.shift_id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    mentions: Mapped[int] = mapped_column(Integer, default=1)


class ActionPlanner(Base):
    """A host an organiser allowed to create and manage field actions."""

    __tablename__ = "action_planners"

    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
