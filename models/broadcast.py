"""Broadcasts: an organiser's message to an audience, and the categories members opt out of."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, text_enum, utcnow


class Category(enum.StrEnum):
    """What a bulk message is, so members can say which kinds they don't want."""

    ANNOUNCEMENTS = "announcements"
    REMINDERS = "reminders"
    CALLS_FOR_HELP = "calls_for_help"
    # Gedenktage: reminders of memorial dates (never a broadcast's category).
    MEMORIALS = "memorials"
    # Gentle check-ins with members who have been quiet for long (never a broadcast's category).
    CHECK_INS = "check_ins"


class BroadcastStatus(enum.StrEnum):
    """SCHEDULED until its time; SENDING once its recipients are in the outbox; then an end."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class OptOut(Base):
    """A member does not want messages of one category."""

    __tablename__ = "opt_outs"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[Category] = mapped_column(
        text_enum(Category, "opt_out_category"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Broadcast(Base):
    """One broadcast: whose message (copied as it is), to whom, when, and where it stands.

    The audience is kept as criteria, not names: the recipients are looked up when it goes out,
    so a broadcast scheduled for next week reaches whoever fits then.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None once the author erased their data (bot.services.erasure).
    author_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The organiser's own message, copied to each recipient (copyMessage keeps its formatting);
    # None once the author erased their data.
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(16))
    # The first words, to tell broadcasts apart in lists; nothing else of the content is stored.
    summary: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[Category] = mapped_column(text_enum(Category, "broadcast_category"))
    # {"districts": [ids], "topics": [...], "groups": [...], "activity_types": [...]}
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[BroadcastStatus] = mapped_column(
        text_enum(BroadcastStatus, "broadcast_status"),
        default=BroadcastStatus.SCHEDULED,
        index=True,
    )
    # Counted when it goes out: rows put in the outbox, and who was left out why.
    total: Mapped[int] = mapped_column(Integer, default=0)
    opted_out: Mapped[int] = mapped_column(Integer, default=0)
    unreachable: Mapped[int] = mapped_column(Integer, default=0)
    # The organiser's progress message, edited while it runs.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[int | None] = mapped_column(BigInteger)
    # Delivery rows are pruned after DELIVERY_RETENTION_DAYS, and a member's rows go when they
    # erase their data (bot.services.retention.keep_counts); what they counted is added here
    # first, so the report shows the same figures afterwards. The live rows' counts plus these
    # are the whole broadcast.
    pruned_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pruned_blocked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pruned_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pruned_cancelled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # {reason: count} of the pruned FAILED rows, for the report's reasons.
    pruned_reasons: Mapped[dict[str, int] | None] = mapped_column(JSON)
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While a started broadcast's recipients are still being put into the outbox (in batches,
    # off the organiser's update): the highest member id already enqueued, 0 before the first
    # batch. None once all are in (and for every broadcast from before batching). Each batch
    # moves it with a conditional UPDATE in the batch's transaction, so a restart resumes after
    # the last committed batch and two instances never enqueue the same members twice.
    enqueued_through: Mapped[int | None] = mapped_column(BigInteger)
    # One broadcast per composed draft (author, source message): a double tap on "Send", also
    # on two instances at once, finds the first one's row instead of creating a second.
    draft_key: Mapped[str | None] = mapped_column(String(64), unique=True)
