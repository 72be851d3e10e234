"""Telegram's limits on sending messages, and random fault storms for sends.

Telegram accepts about 30 messages per second from one bot overall, one per second into
one private chat and 20 per minute into one group; beyond that it answers 429 with
``retry_after``. ``allow_paid_broadcast`` raises the overall limit to 1000 per second.
:class:`SlidingWindows` decides whether one more send fits (the server's enforcement),
:func:`find_breaches` checks a recorded timeline of sends after the fact, and
:class:`FaultStorm` picks which sends fail while a storm is on.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "FAULT_KINDS",
    "SENDING_METHODS",
    "FaultStorm",
    "SendLimits",
    "SlidingWindows",
    "TimelineEntry",
    "find_breaches",
]

# (monotonic time, chat_id, method) of one send Telegram accepted.
TimelineEntry = tuple[float, int, str]

SENDING_METHODS: frozenset[str] = frozenset(
    {
        "sendMessage",
        "copyMessage",
        "forwardMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "sendDice",
    }
)
_SENDING_LOWER = frozenset(method.lower() for method in SENDING_METHODS)

FAULT_KINDS = ("5xx", "timeout", "429")

GLOBAL_WINDOW = 1.0
PRIVATE_WINDOW = 1.0
GROUP_WINDOW = 60.0


def is_sending_method(method: str) -> bool:
    """Whether ``method`` (any spelling) delivers a message and so counts against the limits."""
    return method.lower() in _SENDING_LOWER


@dataclass(frozen=True)
class SendLimits:
    """How many sends Telegram accepts: overall, per private chat and per group.

    Every accepted send counts towards the overall window; a send is judged against
    ``paid_per_second`` when it was made with ``allow_paid_broadcast`` and against
    ``global_per_second`` otherwise, so free sends stay limited after a paid burst.
    """

    global_per_second: float = 30
    private_per_second: float = 1
    group_per_minute: float = 20
    paid_per_second: float = 1000

    def __post_init__(self) -> None:
        """Refuse limits that would block every send."""
        for name in ("global_per_second", "private_per_second", "group_per_minute"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.paid_per_second <= 0:
            raise ValueError("paid_per_second must be positive")

    def overall(self, *, paid: bool) -> float:
        """The overall limit per second for a free or a paid send."""
        return self.paid_per_second if paid else self.global_per_second

    def per_chat(self, chat_id: int) -> tuple[float, float]:
        """(limit, window in seconds) for one chat; negative ids are groups and channels."""
        if chat_id < 0:
            return self.group_per_minute, GROUP_WINDOW
        return self.private_per_second, PRIVATE_WINDOW


class SlidingWindows:
    """The accepted sends that still count, to decide whether one more send is allowed."""

    def __init__(self) -> None:
        """Start with no sends."""
        self._overall: deque[float] = deque()
        self._chats: dict[int, deque[float]] = defaultdict(deque)

    def exceeded(self, limits: SendLimits, now: float, chat_id: int, *, paid: bool) -> str | None:
        """Which limit one more send at ``now`` would break (a short phrase), or None."""
        chat_limit, chat_window = limits.per_chat(chat_id)
        if self._current(self._overall, now, GLOBAL_WINDOW) >= limits.overall(paid=paid):
            return "paid broadcast limit" if paid else "global limit"
        if self._current(self._chats[chat_id], now, chat_window) >= chat_limit:
            return "group limit" if chat_id < 0 else "private chat limit"
        return None

    def add(self, now: float, chat_id: int) -> None:
        """Count a send accepted at ``now``."""
        self._overall.append(now)
        self._chats[chat_id].append(now)

    def remove(self, now: float, chat_id: int) -> None:
        """Forget a send counted by :meth:`add` that ended up not being delivered."""
        for times in (self._overall, self._chats[chat_id]):
            if now in times:
                times.remove(now)

    @staticmethod
    def _current(times: deque[float], now: float, window: float) -> int:
        # A send at s still counts at now while s > now - window, as in find_breaches.
        while times and times[0] <= now - window:
            times.popleft()
        return len(times)


def find_breaches(
    timeline: Iterable[TimelineEntry],
    limits: SendLimits,
    paid: Collection[TimelineEntry] = (),
) -> list[str]:
    """Every send in ``timeline`` that broke a limit, described, in time order.

    Each send is checked against the window ending at it: the overall window (1 s) against
    the free or paid limit, its chat's window (1 s private, 60 s group) against the chat
    limit. Entries found in ``paid`` were sent with ``allow_paid_broadcast``.
    """
    entries = sorted(timeline)
    if not entries:
        return []
    start = entries[0][0]
    found: list[tuple[float, str]] = []

    def describe(entry: TimelineEntry, what: str, count: int, window: float, limit: float) -> str:
        at, chat_id, method = entry
        return (
            f"+{at - start:.3f}s {what}: {count} sends within {window:g} s, "
            f"limit {limit:g} ({method} to {chat_id})"
        )

    first = 0
    for index, entry in enumerate(entries):
        while entries[first][0] <= entry[0] - GLOBAL_WINDOW:
            first += 1
        count = index - first + 1
        is_paid = entry in paid
        limit = limits.overall(paid=is_paid)
        if count > limit:
            what = "paid broadcast limit" if is_paid else "global limit"
            found.append((entry[0], describe(entry, what, count, GLOBAL_WINDOW, limit)))

    by_chat: dict[int, list[TimelineEntry]] = defaultdict(list)
    for entry in entries:
        by_chat[entry[1]].append(entry)
    for chat_id, sends in by_chat.items():
        limit, window = limits.per_chat(chat_id)
        what = f"group {chat_id}" if chat_id < 0 else f"private chat {chat_id}"
        first = 0
        for index, entry in enumerate(sends):
            while sends[first][0] <= entry[0] - window:
                first += 1
            count = index - first + 1
            if count > limit:
                found.append((entry[0], describe(entry, what, count, window, limit)))

    return [text for _, text in sorted(found, key=lambda item: item[0])]


class FaultStorm:
    """Decides, request by request, which calls fail while a storm is on."""

    def __init__(
        self,
        *,
        rate: float,
        kinds: Sequence[str],
        seed: int,
        methods: Collection[str],
        retry_after: int,
        timeout_seconds: float,
    ) -> None:
        """Check the settings; the random sequence depends only on ``seed``."""
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, not {rate}")
        unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty choice of {FAULT_KINDS}, not {kinds}")
        if retry_after < 0 or timeout_seconds < 0:
            raise ValueError("retry_after and timeout_seconds must not be negative")
        self.rate = rate
        self.kinds = tuple(kinds)
        self.methods = frozenset(method.lower() for method in methods)
        self.retry_after = retry_after
        self.timeout_seconds = timeout_seconds
        self._random = random.Random(seed)

    def draw(self, method: str) -> str | None:
        """The kind of fault for this call of ``method``, or None when it goes through."""
        if method.lower() not in self.methods:
            return None
        # The draws depend only on how many matching calls came before, not on which ones,
        # so concurrent calls that interleave differently still fail the same number of times.
        if self._random.random() >= self.rate:
            return None
        return self._random.choice(self.kinds)
