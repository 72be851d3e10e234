"""Leases: which process may run the bot (without Redis) and which instance runs a job now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class Lease(Base):
    """One named lease held by one process until `expires_at`; its holder renews it.

    `name` is "instance" for the lease of a single running bot, "job:<id>" for a scheduled job.
    `last_fire` is the newest fire time a job's run was started for, so every instance's
    scheduler firing at the same time starts the run once.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    # host:pid:random, unique per process (a restarted process with the same pid differs).
    holder: Mapped[str] = mapped_column(String(300))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_fire: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
