"""Pacing and retry rules for bulk sending, free of Telegram and of the database.

Telegram throttles bots globally (about 30 messages/s, up to 1000/s for paid broadcasts), per
private chat (about 1/s) and per group (20/min). The delivery worker asks a Pacer when it may
send to a chat (`global_delay`, `chat_delay`, `acquire`), sleeps for the answer, tells it when
Telegram answered (`answered`), and after a failed attempt asks `classify` whether and when to
try again. The clock is injected so tests can drive time by hand.

A Pacer is not thread-safe: one asyncio worker owns it, and its methods never await, so they
run atomically within the event loop.
"""

from __future__ import annotations

import enum
import heapq
import math
import random
import re
import time
from collections import deque
from dataclasses import dataclass

from bot.backoff import Backoff
from bot.services.flood import Clock, FloodGate

MAX_GLOBAL_PER_SECOND = 30.0
MAX_PAID_GLOBAL_PER_SECOND = 1000.0
GROUP_WINDOW = 60.0
"""Seconds of the per-group sliding window."""
GLOBAL_WINDOW = 1.0
"""Seconds of the window Telegram counts the global limit in."""
CATCH_UP_SECONDS = 0.005
"""How far behind a late sender may catch up with acquire(catch_up=True): at least one interval."""

_EPSILON = 1e-9
# Advancing a clock by exactly the returned delay can land a few ulps short of the target;
# without this tolerance the caller would be told to sleep 1e-15 s and ask again.

_SWEEP_EVERY = 1.0
# Sweeping once per second keeps per-chat history near one window's worth of chats while
# costing at most one pass over it per second, whatever the caller does with forget_idle.


@dataclass(frozen=True, slots=True)
class PacingLimits:
    """How fast bulk messages may go out; validated on construction."""

    global_per_second: float = 25.0
    private_per_second: float = 1.0
    group_per_minute: float = 20.0
    paid: bool = False
    """Paid broadcast: the global limit may be raised up to 1000/s."""

    def __post_init__(self) -> None:
        """Reject limits Telegram would punish or that make no sense."""
        ceiling = MAX_PAID_GLOBAL_PER_SECOND if self.paid else MAX_GLOBAL_PER_SECOND
        if not (math.isfinite(self.global_per_second) and 1 <= self.global_per_second <= ceiling):
            hint = "" if self.paid else " (more needs paid broadcasts)"
            raise ValueError(
                f"global_per_second must be between 1 and {ceiling:g}{hint}, "
                f"got {self.global_per_second!r}"
            )
        for name in ("private_per_second", "group_per_minute"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")


class Pacer:
    """Answers "when may I send to chat X?" under the global, private and group limits.

    Global: a token bucket of one token that refills continuously, i.e. sends evenly spaced at
    1/global_per_second. A bigger bucket would allow a burst on top of the rate (25 at once,
    then 24 more within the same second), which is what draws 429s from Telegram. No second
    (sliding) ever holds more sends than the rate, rounded up, and none more than Telegram's
    ceiling (30/s, 1000/s paid) counted the way Telegram counts them, on arrival (see
    `acquire`'s until_answered).
    Private chats (id > 0): a minimum interval between sends. Groups and
    channels (id < 0): a sliding window of 60 s holding at most group_per_minute sends.
    """

    def __init__(
        self, limits: PacingLimits, clock: Clock = time.monotonic, gate: FloodGate | None = None
    ) -> None:
        """Start with a full bucket and no per-chat history.

        `gate` is the pause shared with the bot's other senders (see bot.services.flood); it
        must run on the same clock. Without one the pacer has a pause of its own.
        """
        self._limits = limits
        self._clock = clock
        self._gate = gate if gate is not None else FloodGate(clock)
        self._rate = limits.global_per_second
        self._capacity = 1.0
        now = clock()
        self._tokens = self._capacity
        self._tokens_at = now
        self._catch_up = max(1.0, CATCH_UP_SECONDS * self._rate)
        # When the last sends were made, as many as one second may hold at the rate.
        self._sent: deque[float] = deque(maxlen=max(1, math.ceil(self._rate - _EPSILON)))
        # Sends Telegram may still be counting: answered ones by when (a heap of times), and
        # how many are on their way (no answer yet).
        ceiling = MAX_PAID_GLOBAL_PER_SECOND if limits.paid else MAX_GLOBAL_PER_SECOND
        self._ceiling = int(ceiling)
        self._arrived: list[float] = []
        self._on_the_way = 0
        self._private_interval = 1.0 / limits.private_per_second
        # Fractional limits below 1/min stretch the window instead of rounding to 1/min, so
        # the long-run rate never exceeds what was configured; whole numbers keep 60 s exactly.
        self._group_max = max(1, math.floor(limits.group_per_minute))
        self._group_window = GROUP_WINDOW * self._group_max / limits.group_per_minute
        self._private_last: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._last_sweep = now

    @property
    def limits(self) -> PacingLimits:
        """The limits this pacer enforces."""
        return self._limits

    @property
    def paused_until(self) -> float:
        """Clock time before which nobody may send (a past time when not paused)."""
        return self._gate.paused_until

    def delay_for(self, chat_id: int) -> float:
        """Seconds until a send to chat_id is allowed, 0.0 meaning now; consumes nothing."""
        return self._delay(chat_id, self._clock())

    def global_delay(self) -> float:
        """Seconds until the global limits (a 429 pause, the bucket, the windows) allow a send.

        With `chat_delay`, a sender with many chats to serve can tell "wait, everybody" from
        "this chat has to wait, send to another one meanwhile"; consumes nothing.
        """
        delay = self._global_wait(self._clock())
        return delay if delay > _EPSILON else 0.0

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until chat_id's own limit (private 1/s, group 20/min) allows a send.

        Ignores the global limits (see `global_delay`); consumes nothing.
        """
        delay = self._chat_wait(chat_id, self._clock())
        return delay if delay > _EPSILON else 0.0

    def acquire(
        self, chat_id: int, *, catch_up: bool = False, until_answered: bool = False
    ) -> float:
        """Claim a send to chat_id now if allowed (returns 0.0), else return the delay.

        On a non-zero answer nothing is claimed: the caller sleeps that long and asks again,
        because another chat may have taken the token in the meantime.

        `catch_up` is for a sender that keeps the bucket busy and sleeps for the delays: a busy
        event loop wakes it late (at 1000/s half a millisecond late is half the interval), and
        the time the token sat unused would be lost. With it, the tokens that came meanwhile
        count, up to CATCH_UP_SECONDS' worth (at least one more) and none from before the end
        of a pause, so the sender can make up for the delay; the one-second windows still hold.

        `until_answered`: the caller reports with `answered()` when Telegram answered. Telegram
        counts a send when it arrives, somewhere between now and the answer, so until then it
        counts as on its way, and for a second after the answer. A request held up on its way
        (a slow network, a pause of the event loop) then can't squeeze more than Telegram's
        ceiling into one of its seconds, even at a rate right at that ceiling.
        """
        now = self._clock()
        delay = self._delay(chat_id, now)
        if delay > 0.0:
            return delay
        if catch_up:
            level = min(
                1.0 + self._catch_up,
                self._tokens + (now - self._tokens_at) * self._rate,
                1.0 + max(0.0, now - self._gate.paused_until) * self._rate,
            )
        else:
            level = self._bucket_level(now)
        self._tokens = level - 1.0
        self._tokens_at = now
        self._sent.append(now)
        if until_answered:
            self._on_the_way += 1
        else:
            heapq.heappush(self._arrived, now)
        if chat_id < 0:
            sends = self._group_sends.get(chat_id)
            if sends is None:
                # maxlen drops the oldest send by itself: only the last group_max ever matter
                sends = self._group_sends[chat_id] = deque(maxlen=self._group_max)
            sends.append(now)
        else:
            self._private_last[chat_id] = now
        if now - self._last_sweep >= _SWEEP_EVERY:
            self._forget_before(now)
        return 0.0

    def answered(self) -> None:
        """Telegram answered (or the attempt ended) a send acquired with until_answered."""
        if self._on_the_way < 1:
            raise ValueError("answered() without a send acquired with until_answered")
        self._on_the_way -= 1
        heapq.heappush(self._arrived, self._clock())

    def pause(self, seconds: float) -> None:
        """Stop all sending for `seconds` (a 429); extends, never shortens, a running pause.

        The pause is the shared gate's: direct replies wait for it too.
        """
        self._gate.pause(seconds)

    def forget_idle(self) -> None:
        """Drop per-chat history that no longer limits anything, so memory stays bounded."""
        self._forget_before(self._clock())

    def _forget_before(self, now: float) -> None:
        self._private_last = {
            chat: last
            for chat, last in self._private_last.items()
            if now - last < self._private_interval
        }
        # The newest send leaving the window means every older one has left it too.
        self._group_sends = {
            chat: sends
            for chat, sends in self._group_sends.items()
            if now - sends[-1] < self._group_window
        }
        self._last_sweep = now

    def _bucket_level(self, now: float) -> float:
        return min(self._capacity, self._tokens + (now - self._tokens_at) * self._rate)

    def _global_wait(self, now: float) -> float:
        wait = max(self._gate.paused_until - now, (1.0 - self._bucket_level(now)) / self._rate)
        sent = self._sent
        if len(sent) == sent.maxlen:
            # The oldest of the last `maxlen` sends has to leave the second first.
            wait = max(wait, sent[0] + GLOBAL_WINDOW - now)
        arrived = self._arrived
        # (With _EPSILON: a send that leaves the window in 1e-15 s has left it.)
        while arrived and arrived[0] <= now - GLOBAL_WINDOW + _EPSILON:
            heapq.heappop(arrived)
        if len(arrived) + self._on_the_way >= self._ceiling:
            # Telegram's second is full: wait until a send leaves it, or for an answer.
            wait = max(wait, arrived[0] + GLOBAL_WINDOW - now if arrived else 1.0 / self._rate)
        return wait

    def _chat_wait(self, chat_id: int, now: float) -> float:
        if chat_id < 0:
            sends = self._group_sends.get(chat_id)
            if sends is not None and len(sends) >= self._group_max:
                return sends[0] + self._group_window - now
        else:
            last = self._private_last.get(chat_id)
            if last is not None:
                return last + self._private_interval - now
        return 0.0

    def _delay(self, chat_id: int, now: float) -> float:
        delay = max(self._global_wait(now), self._chat_wait(chat_id, now))
        return delay if delay > _EPSILON else 0.0


class Outcome(enum.StrEnum):
    """What to do with a message after an attempt."""

    SENT = "sent"
    RETRY = "retry"
    """Try again after the delay (5xx, network error, timeout)."""
    RETRY_AFTER = "retry_after"
    """Telegram's 429: pause all sending for the delay, then retry the same message."""
    BLOCKED = "blocked"
    """The member is unreachable (403); never retried."""
    FAILED = "failed"
    """Never retried; the reason is stored."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of an attempt, when to try again, and why (stored as the last error)."""

    outcome: Outcome
    delay: float = 0.0
    """For RETRY and RETRY_AFTER: seconds until the next attempt."""
    reason: str = ""
    """Human readable, without personal data or secrets."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient failures."""

    base: float = 1.0
    factor: float = 2.0
    jitter: float = 0.2
    cap: float = 300.0
    max_attempts: int = 6

    def __post_init__(self) -> None:
        """Reject policies that would never wait, shrink, or never give up."""
        self.curve()  # raises for a base, factor, jitter or cap that makes no curve
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts!r}")

    def curve(self) -> Backoff:
        """The backoff these numbers describe."""
        return Backoff(base=self.base, cap=self.cap, factor=self.factor, jitter=self.jitter)

    def backoff(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the given number of failed attempts, jittered."""
        return self.curve().delay(attempts, rng)


DEFAULT_RETRY_POLICY = RetryPolicy()

# A bot token in an error text (aiogram can put the request URL there) must not be stored.
_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
_MAX_REASON = 200

_FORBIDDEN_REASONS = (
    ("blocked", "blocked by the user"),
    ("deactivated", "user is deactivated"),
    ("kicked", "bot was removed from the chat"),
    ("can't initiate", "user never started the bot"),
    ("not a member", "bot is not a member of the chat"),
)
_UNKNOWN_CHAT_REASONS = (
    ("chat not found", "chat not found"),
    ("user not found", "user not found"),
    ("peer_id_invalid", "PEER_ID_INVALID"),
)


def success() -> Decision:
    """The decision for a message Telegram accepted."""
    return Decision(Outcome.SENT)


def classify(
    *,
    status: int | None,
    description: str = "",
    retry_after: float | None = None,
    attempts: int,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    rng: random.Random | None = None,
) -> Decision:
    """Decide what happens after a failed attempt.

    `status` is the Bot API error code (None for a network error or timeout), `description`
    Telegram's error text, `attempts` the attempts made so far including this one. On
    RETRY_AFTER the worker must pause its Pacer for `delay`, then retry the same message.
    """
    if attempts < 1:
        raise ValueError(f"attempts counts this attempt too, so it is at least 1, got {attempts}")
    detail = _clean(description)
    lowered = detail.lower()
    if status == 429:
        # Telegram said exactly when to come back, so waiting is not a sign of a broken
        # message and must not use up its attempts.
        delay = 1.0 if retry_after is None else max(0.0, float(retry_after))
        return Decision(Outcome.RETRY_AFTER, delay, f"rate limited by Telegram for {delay:g} s")
    if status == 403:
        reason = next((r for key, r in _FORBIDDEN_REASONS if key in lowered), "")
        return Decision(Outcome.BLOCKED, reason=reason or _labelled("forbidden", detail))
    if status == 400:
        reason = next((r for key, r in _UNKNOWN_CHAT_REASONS if key in lowered), "")
        # A bad request won't get better by sending it again.
        return Decision(Outcome.FAILED, reason=reason or _labelled("bad request", detail))
    if status == 401:
        return Decision(Outcome.FAILED, reason="bot token rejected")
    if status == 404:
        return Decision(Outcome.FAILED, reason="method not found")
    if status is None:
        reason = _labelled("network error or timeout", detail)
    elif 500 <= status <= 599:
        reason = _labelled(f"Telegram server error {status}", detail)
    else:
        # Other client errors (409, 413, ...) describe the request, which retrying won't change.
        return Decision(Outcome.FAILED, reason=_labelled(f"unexpected error {status}", detail))
    if attempts >= policy.max_attempts:
        return Decision(Outcome.FAILED, reason=f"gave up after {attempts} attempts: {reason}")
    return Decision(Outcome.RETRY, policy.backoff(attempts, rng), reason)


def _clean(description: str) -> str:
    """Telegram's text without its "Bad Request: " style prefix, secrets or excess length."""
    text = _TOKEN.sub("<token>", " ".join(description.split()))
    for prefix in ("Bad Request:", "Forbidden:", "Unauthorized:", "Not Found:"):
        if text.startswith(prefix):
            text = text.removeprefix(prefix).strip()
            break
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _labelled(label: str, detail: str) -> str:
    return f"{label}: {detail}" if detail else label
