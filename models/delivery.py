"""The outbox: every bulk message is a row with a status, so nothing is lost or sent twice."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, text_enum, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer, "sqlite")


class DeliveryStatus(enum.StrEnum):
    """Where a message stands. Only PENDING and SENDING rows are still work."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Delivery(Base):
    """One message to one chat: what, when, and how it went."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recipient_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # What kind of message (renders it): "intake_reminder", "broadcast", ...
    kind: Mapped[str] = mapped_column(String(32))
    # The opt-out category it belongs to (announcements, reminders, calls for help), if any.
    category: Mapped[str | None] = mapped_column(String(32))
    # Messages sent together (one broadcast) share a batch id.
    batch_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Plain values only (ids, message references); the text is rendered when it is sent, in the
    # recipient's language at that moment.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[DeliveryStatus] = mapped_column(
        text_enum(DeliveryStatus, "delivery_status"),
        default=DeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    # Who is sending it since when; a row left SENDING past its lease is taken back.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One occasion, one message: a job that queues the same key again (a second instance, a
    # rerun after a restart) adds nothing. None for rows that need no such guard.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
