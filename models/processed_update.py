"""Update ids claimed for handling, so redelivered updates do not run a handler twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class ProcessedUpdate(Base):
    """One Telegram update id, remembered for a day (housekeeping prunes older rows).

    The claim names the process handling it (`owner`, bot.services.leases.Holder.id) and is
    marked `done_at` once the handler finished, so a redelivery of an update whose process was
    killed while handling it can be taken over by another (bot.services.updates).
    """

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # None on claims made before owners were recorded: those count as done.
    owner: Mapped[str | None] = mapped_column(String(300))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
