"""Members (one row per Telegram user the bot has met) and their roles."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, text_enum, utcnow

if TYPE_CHECKING:
    from models.profile import Profile


class Role(enum.StrEnum):
    """What a member may do; every member implicitly has MEMBER."""

    MEMBER = "member"
    HOST = "host"
    ORGANISER = "organiser"
    ADMIN = "admin"


class Member(Base):
    """A Telegram user the bot has met. Only what the bot needs to talk to them is kept here."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Name and username are kept only for members who agreed (or hold a role): without consent
    # the bot stores nothing beyond the Telegram id and language (bot.services.members).
    first_name: Mapped[str | None] = mapped_column(String(64))
    # Lower-cased so admins can address people by @username regardless of spelling.
    username: Mapped[str | None] = mapped_column(String(32), index=True)
    # The member's own choice via /sprache; None means "follow Telegram's language".
    language: Mapped[str | None] = mapped_column(String(8))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Indexed: the newcomer digest picks the newest newcomers (bot.services.newcomer_digest).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Since when the member is gone: blocked the bot or left the last KV group; None while
    # they are around. Retention erases members departed (and not seen) for long enough.
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # "Pause bis ...": no bulk message (outbox row) reaches the member before this moment;
    # None: no pause (bot.services.pauses).
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list[MemberRole]] = relationship(
        back_populates="member",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    # Loaded with the member (one LEFT JOIN): every update needs to know about consent.
    profile: Mapped[Profile | None] = relationship(
        cascade="all, delete-orphan", lazy="joined", uselist=False
    )

    @property
    def consented(self) -> bool:
        """Whether the member agreed to have their profile stored."""
        return self.profile is not None

    @property
    def role_set(self) -> frozenset[Role]:
        """The roles stored for this member (ADMIN_IDS are added by the roles service)."""
        return frozenset(row.role for row in self.roles)


class MemberRole(Base):
    """One granted role; kept as rows so grants can be audited (who and when)."""

    __tablename__ = "member_roles"

    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(
        text_enum(Role, "role"),
        primary_key=True,
    )
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship(back_populates="roles")
