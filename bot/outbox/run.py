"""What one sending run of the delivery worker holds, and the name it claims rows under."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from bot.outbox.rendering import Copy, Parts, TextMessage
from bot.services.pacing import Decision
from models import Delivery


def instance_name() -> str:
    """A name for this process in claimed rows: host, pid and a random part."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(slots=True)
class Job:
    """One claimed row on its way out: what to send and how often it was tried."""

    seq: int
    chat: int
    row: Delivery
    rendered: TextMessage | Parts | Copy
    attempts: int

    def __lt__(self, other: Job) -> bool:
        return self.seq < other.seq


@dataclass(slots=True)
class Run:
    """What a sending run holds: claimed rows not sent yet, sends in flight, outcomes to write."""

    claimed_at: datetime
    started: float
    # Claimed and allowed now (in claim order) / waiting for their chat's limit (by time).
    ready: list[Job] = field(default_factory=list)
    waiting: list[tuple[float, Job]] = field(default_factory=list)
    in_flight: dict[asyncio.Task[None], Job] = field(default_factory=dict)
    outcomes: list[tuple[Delivery, Decision]] = field(default_factory=list)
    # Chats that answered 403 during the run: their later rows are not tried again.
    blocked: set[int] = field(default_factory=set)
    claimed: int = 0
    next_seq: int = 0
    # Claiming the next batch while this one is sent; None when not running.
    refill: asyncio.Task[None] | None = None
    exhausted: bool = False
    renewed: float = 0.0
    done: bool = False

    def unsent(self) -> list[Job]:
        """Claimed jobs that have not been handed to Telegram."""
        return [*self.ready, *(job for _, job in self.waiting)]

    def held_ids(self) -> list[int]:
        """Rows still claimed by this run and not yet recorded."""
        return [job.row.id for job in [*self.unsent(), *self.in_flight.values()]]
