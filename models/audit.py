"""The audit log: who among organisers, hosts and admins read member lists or wrote to members."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.delivery import BigId


class AuditAction(enum.StrEnum):
    """What was done. Values are stored: add new ones, never rename."""

    BROADCAST_SENT = "broadcast_sent"
    BROADCAST_SCHEDULED = "broadcast_scheduled"
    BROADCAST_CANCELLED = "broadcast_cancelled"
    UNREACHED_LIST = "unreached_list"
    DIGEST = "digest"
    ATTENDEE_LIST = "attendee_list"
    # The bot's evening messages to hosts: who comes tomorrow, whose answers changed today.
    HOST_LIST = "host_list"
    HOST_SUMMARY = "host_summary"
    STAFFING_LIST = "staffing_list"
    HELP_CALL = "help_call"
    ACTION_CANCELLED = "action_cancelled"
    MEMBER_LOOKUP = "member_lookup"
    ROLE_LIST = "role_list"
    ROLE_CHANGE = "role_change"
    # An organiser turned to a page of the newcomer digest, which names newcomers.
    NEWCOMER_LIST = "newcomer_list"
    # An organiser saw a page of the call list: quiet members with their phone numbers.
    CALL_LIST = "call_list"


# Done by the bot itself on the KV's behalf (a job), never by a person: their actor is None.
BOT_ACTIONS = frozenset(
    {AuditAction.DIGEST, AuditAction.HELP_CALL, AuditAction.HOST_LIST, AuditAction.HOST_SUMMARY}
)


class AuditEntry(Base):
    """One action: who (a member id; None for the bot's own jobs, or once the actor was
    erased), what, about what (no personal data: an id or a group's name), how many members."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # SET NULL: erasing an organiser keeps the record of what was done, not who they were.
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
