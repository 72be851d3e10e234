"""Pacing and retry rules: global bucket, per-chat limits, 429 pauses, error classification."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import pytest

from bot.services.pacing import (
    CATCH_UP_SECONDS,
    Decision,
    Outcome,
    Pacer,
    PacingLimits,
    RetryPolicy,
    classify,
    success,
)

PAID = PacingLimits(global_per_second=1000.0, paid=True)
GROUP = -100_123_456
OTHER_GROUP = -100_999


class FakeClock:
    """Monotonic time that only moves when a test says so."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class EdgeRng(random.Random):
    """A Random whose uniform() always returns the low or the high end, to test exact bounds."""

    def __init__(self, *, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def make(limits: PacingLimits | None = None, start: float = 0.0) -> tuple[Pacer, FakeClock]:
    clock = FakeClock(start)
    return Pacer(limits or PacingLimits(), clock), clock


def send_when_allowed(pacer: Pacer, clock: FakeClock, chat_id: int) -> float:
    """Sleep (by hand) as long as the pacer says, then send; returns the send time."""
    while (delay := pacer.acquire(chat_id)) > 0:
        clock.advance(delay)
    return clock.now


def max_in_window(times: Sequence[float], window: float, starts: Sequence[float]) -> int:
    """The most sends in any half-open window [start, start + window) over the given starts."""
    # A send exactly `window` later belongs to the next window; floating-point sums of the
    # returned delays land within a few ulps of that boundary, hence the tolerance.
    tolerance = 1e-6
    best = 0
    lo = hi = 0
    for start in starts:
        while lo < len(times) and times[lo] < start - tolerance:
            lo += 1
        hi = max(hi, lo)
        while hi < len(times) and times[hi] < start + window - tolerance:
            hi += 1
        best = max(best, hi - lo)
    return best


# --- global bucket ----------------------------------------------------------------------------


def test_global_sends_are_evenly_spaced_without_a_burst() -> None:
    pacer, clock = make()
    assert pacer.acquire(1) == 0.0
    assert pacer.acquire(2) == pytest.approx(0.04)
    assert pacer.delay_for(2) == pytest.approx(0.04)

    # A quiet second doesn't save up a burst.
    clock.advance(1.0)
    assert pacer.acquire(101) == 0.0
    assert pacer.acquire(102) == pytest.approx(0.04)

    clock.advance(0.04)
    assert pacer.acquire(102) == 0.0
    assert pacer.acquire(103) == pytest.approx(0.04)


def test_paid_broadcast_spaces_sends_a_millisecond_apart() -> None:
    pacer, clock = make(PAID)
    assert pacer.acquire(1) == 0.0
    assert pacer.acquire(2) == pytest.approx(0.001)
    clock.advance(0.001)
    assert pacer.acquire(2) == 0.0


def test_a_slow_global_rate_still_allows_one_message() -> None:
    pacer, clock = make(PacingLimits(global_per_second=1.0))
    assert pacer.acquire(1) == 0.0
    assert pacer.acquire(2) == pytest.approx(1.0)
    clock.advance(1.0)
    assert pacer.acquire(2) == 0.0


# --- per chat ---------------------------------------------------------------------------------


def test_private_chat_gets_at_most_one_message_per_second() -> None:
    pacer, clock = make()
    assert pacer.acquire(42) == 0.0
    assert pacer.acquire(42) == 1.0
    clock.advance(0.04)  # the global spacing, so only the per-chat rule is left
    assert pacer.acquire(43) == 0.0, "other chats are unaffected"

    clock.advance(0.46)
    assert pacer.delay_for(42) == pytest.approx(0.5)
    assert pacer.acquire(42) == pytest.approx(0.5)
    clock.advance(0.5)
    assert pacer.acquire(42) == 0.0
    assert pacer.acquire(42) == 1.0


def test_group_gets_at_most_20_per_sliding_minute() -> None:
    pacer, clock = make()
    for second in range(20):  # one per second keeps the global bucket out of the way
        clock.now = float(second)
        assert pacer.acquire(GROUP) == 0.0
    assert clock.now == 19.0
    # The 21st waits until the send at t=0 leaves the 60 s window: t=60.
    assert pacer.acquire(GROUP) == 41.0
    clock.advance(0.04)  # the global spacing, so only the per-chat rules are left
    assert pacer.acquire(OTHER_GROUP) == 0.0, "other groups are unaffected"
    clock.advance(0.04)
    assert pacer.acquire(7) == 0.0, "private chats are unaffected"

    clock.advance(40.92)
    assert pacer.acquire(GROUP) == 0.0
    assert pacer.acquire(GROUP) == 1.0, "next, the send at t=1 has to leave the window"


def test_group_has_no_per_second_limit_of_its_own() -> None:
    pacer, clock = make()
    for _ in range(20):
        assert pacer.acquire(GROUP) == 0.0
        clock.advance(0.04)  # only the global spacing in between
    assert pacer.acquire(GROUP) == pytest.approx(60.0 - 0.8)


def test_a_fractional_group_limit_keeps_its_long_run_rate() -> None:
    pacer, clock = make(PacingLimits(group_per_minute=0.5))
    assert pacer.acquire(GROUP) == 0.0
    assert pacer.acquire(GROUP) == 120.0
    clock.advance(120.0)
    assert pacer.acquire(GROUP) == 0.0


# --- 429 pause --------------------------------------------------------------------------------


def test_pause_blocks_every_chat_and_is_never_shortened() -> None:
    pacer, clock = make(start=100.0)
    assert pacer.paused_until == 100.0, "not paused: the pause ended at construction"

    pacer.pause(3.0)
    assert pacer.paused_until == 103.0
    assert pacer.delay_for(1) == 3.0
    assert pacer.delay_for(GROUP) == 3.0
    assert pacer.acquire(2) == 3.0

    clock.advance(1.0)
    pacer.pause(1.0)
    assert pacer.paused_until == 103.0, "a shorter later pause doesn't shorten it"
    assert pacer.delay_for(1) == 2.0

    pacer.pause(5.0)
    assert pacer.paused_until == 106.0, "a longer one extends it"

    clock.advance(5.0)
    assert pacer.delay_for(1) == 0.0
    assert pacer.acquire(1) == 0.0, "the send the pause held back goes out at once"


def test_pause_rejects_nonsense() -> None:
    pacer, _ = make()
    for seconds in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="non-negative number of seconds"):
            pacer.pause(seconds)


def test_delay_for_consumes_nothing() -> None:
    pacer, _ = make()
    assert all(pacer.delay_for(chat) == 0.0 for chat in range(1, 1000))
    assert pacer.delay_for(GROUP) == 0.0
    assert pacer.delay_for(GROUP) == 0.0
    assert pacer.acquire(1) == 0.0, "asking consumed nothing"
    assert pacer.acquire(2) > 0.0


# --- global and per-chat delays apart ---------------------------------------------------------


def test_global_and_chat_delays_tell_apart_who_has_to_wait() -> None:
    pacer, clock = make()
    assert pacer.acquire(42) == 0.0
    assert pacer.global_delay() == pytest.approx(0.04), "everybody waits for the next token"
    assert pacer.chat_delay(42) == 1.0, "chat 42 waits for itself"
    assert pacer.chat_delay(43) == 0.0
    clock.advance(0.04)
    assert pacer.global_delay() == 0.0
    assert pacer.chat_delay(42) == pytest.approx(0.96)
    assert pacer.delay_for(42) == pytest.approx(0.96), "delay_for is the larger of both"
    pacer.pause(2.0)
    assert pacer.global_delay() == 2.0
    assert pacer.chat_delay(43) == 0.0, "a pause is global, not per chat"


# --- catching up ------------------------------------------------------------------------------


def sleep_late(
    pacer: Pacer, clock: FakeClock, chats: range, *, late: float, catch_up: bool
) -> list[float]:
    """Send to each chat, oversleeping every wait by `late` like a busy event loop."""
    times: list[float] = []
    for chat in chats:
        while (delay := pacer.acquire(chat, catch_up=catch_up)) > 0:
            clock.advance(delay + late)
        times.append(clock.now)
    return times


def rate_of(times: Sequence[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


def test_a_late_sender_loses_rate_unless_it_catches_up() -> None:
    pacer, clock = make(PAID)
    times = sleep_late(pacer, clock, range(1, 5001), late=0.0005, catch_up=False)
    assert rate_of(times) == pytest.approx(1000 / 1.5, rel=0.01), "every late wake-up is lost"

    pacer, clock = make(PAID)
    times = sleep_late(pacer, clock, range(1, 5001), late=0.0005, catch_up=True)
    assert rate_of(times) == pytest.approx(1000, rel=0.01)
    assert max_in_window(times, 1.0, times) <= 1000


@pytest.mark.parametrize("late", [0.0003, 0.002, 0.004, 0.02])
def test_catching_up_never_puts_more_than_the_rate_into_a_second(late: float) -> None:
    rng = random.Random(7)
    pacer, clock = make(PAID)
    times: list[float] = []
    for chat in range(1, 5001):
        while (delay := pacer.acquire(chat, catch_up=True)) > 0:
            clock.advance(delay + rng.uniform(0, late))
        times.append(clock.now)
        clock.advance(rng.choice([0.0, 0.0, 0.0001]))
    assert max_in_window(times, 1.0, times) <= 1000
    # Lateness up to CATCH_UP_SECONDS is made up for; beyond it some time is lost.
    if late <= 0.004:
        assert rate_of(times) >= 990


def test_catching_up_is_bounded_and_starts_fresh_after_a_pause() -> None:
    pacer, clock = make(PAID)
    clock.advance(10.0)  # a long quiet time saves up no more than CATCH_UP_SECONDS' worth
    burst = 0
    while pacer.acquire(burst + 1, catch_up=True) == 0.0:
        burst += 1
    assert burst == 1 + round(CATCH_UP_SECONDS * 1000)

    pacer.pause(1.0)
    clock.advance(1.0)
    assert pacer.acquire(1000, catch_up=True) == 0.0
    assert pacer.acquire(1001, catch_up=True) == pytest.approx(0.001), "nothing from the pause"

    slow, slow_clock = make()  # 25/s: at least one interval, here 40 ms, can be made up
    slow_clock.advance(1.0)
    assert slow.acquire(1, catch_up=True) == 0.0
    assert slow.acquire(2, catch_up=True) == 0.0
    assert slow.acquire(3, catch_up=True) == pytest.approx(0.04)


# --- until answered ---------------------------------------------------------------------------


def test_sends_on_their_way_count_against_telegrams_ceiling() -> None:
    pacer, clock = make()  # 25/s configured; Telegram's ceiling is 30/s
    for chat in range(1, 31):
        send_when_allowed_answered_later(pacer, clock, chat)
    clock.advance(5.0)  # long after: the bucket and the 25-per-second window are free again
    assert pacer.delay_for(31) > 0, "30 requests without an answer may still arrive any moment"

    pacer.answered()  # one arrives now, so it counts for one more second
    assert pacer.delay_for(31) > 0
    clock.advance(1.0)
    assert pacer.delay_for(31) == 0.0
    assert pacer.acquire(31, until_answered=True) == 0.0
    assert pacer.delay_for(32) > 0


def send_when_allowed_answered_later(pacer: Pacer, clock: FakeClock, chat_id: int) -> None:
    while (delay := pacer.acquire(chat_id, until_answered=True)) > 0:
        clock.advance(delay)


def test_a_request_held_up_on_its_way_cannot_squeeze_a_second() -> None:
    pacer, clock = make(PAID)
    times: list[float] = []
    # The first 5 requests answer only after 0.3 s (an event loop pause, a slow network):
    # Telegram may count them as late as that, next to the sends made meanwhile.
    slow: list[float] = []
    for chat in range(1, 3001):
        while (delay := pacer.acquire(chat, catch_up=True, until_answered=True)) > 0:
            clock.advance(delay)
        times.append(clock.now)
        if chat <= 5:
            slow.append(clock.now + 0.3)
        else:
            pacer.answered()
        while slow and slow[0] <= clock.now:
            slow.pop(0)
            pacer.answered()
    latest = [t + 0.3 if index < 5 else t for index, t in enumerate(times)]
    arrivals = sorted(latest)
    assert max_in_window(arrivals, 1.0, arrivals) <= 1000


def test_answered_without_a_send_on_its_way_is_a_mistake() -> None:
    pacer, _ = make()
    pacer.acquire(1)
    with pytest.raises(ValueError, match="until_answered"):
        pacer.answered()


# --- simulation -------------------------------------------------------------------------------


@pytest.mark.parametrize("limits", [PacingLimits(), PAID], ids=["default-25", "paid-1000"])
def test_simulated_broadcast_holds_the_global_rate(limits: PacingLimits) -> None:
    rate = limits.global_per_second
    pacer, clock = make(limits, start=5000.0)
    calls = 0
    times: list[float] = []
    for chat in range(1, 10_001):
        while (delay := pacer.acquire(chat)) > 0:
            calls += 1
            clock.advance(delay)
        calls += 1
        times.append(clock.now)

    assert calls <= 2 * len(times), "one sleep per send at most: no spinning on rounding errors"
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert achieved == pytest.approx(rate, rel=0.01)
    # No 1-second window ever holds more than `rate` sends, from the very first one.
    assert max_in_window(times, 1.0, times) <= int(rate)

    # The automatic sweep keeps the per-chat history to about the last second's chats.
    assert len(pacer._private_last) <= 3 * int(rate)


# --- memory -----------------------------------------------------------------------------------


def test_forget_idle_drops_history_that_no_longer_limits() -> None:
    pacer, clock = make(PAID)
    for chat in range(1, 201):
        send_when_allowed(pacer, clock, chat)
        send_when_allowed(pacer, clock, -chat)
    assert len(pacer._private_last) == 200
    assert len(pacer._group_sends) == 200

    clock.advance(1.0)
    pacer.forget_idle()
    assert len(pacer._private_last) == 0
    assert len(pacer._group_sends) == 200, "groups are still inside their 60 s window"

    assert pacer.acquire(-1) == 0.0
    clock.advance(59.5)
    pacer.forget_idle()
    assert list(pacer._group_sends) == [-1], "only the group sent to 59.5 s ago is kept"

    clock.advance(0.5)
    pacer.forget_idle()
    assert pacer._group_sends == {}


def test_forget_idle_never_loosens_a_limit() -> None:
    pacer, clock = make()
    for _ in range(20):
        send_when_allowed(pacer, clock, GROUP)
    send_when_allowed(pacer, clock, 5)
    clock.advance(0.5)
    pacer.forget_idle()
    assert pacer.delay_for(5) == pytest.approx(0.5)
    assert pacer.delay_for(GROUP) == pytest.approx(60.0 - 0.8 - 0.5)


# --- classify ---------------------------------------------------------------------------------


BLOCKED, FAILED = Outcome.BLOCKED, Outcome.FAILED


@pytest.mark.parametrize(
    ("status", "description", "outcome", "reason"),
    [
        (403, "Forbidden: bot was blocked by the user", BLOCKED, "blocked by the user"),
        (403, "Forbidden: user is deactivated", BLOCKED, "user is deactivated"),
        (403, "Forbidden: bot can't initiate conversation with a user", BLOCKED,
         "user never started the bot"),
        (403, "", BLOCKED, "forbidden"),
        (400, "Bad Request: chat not found", FAILED, "chat not found"),
        (400, "Bad Request: user not found", FAILED, "user not found"),
        (400, "Bad Request: PEER_ID_INVALID", FAILED, "PEER_ID_INVALID"),
        (400, "Bad Request: message is too long", FAILED, "bad request: message is too long"),
        (401, "Unauthorized", FAILED, "bot token rejected"),
        (404, "Not Found", FAILED, "method not found"),
        (413, "Request Entity Too Large", FAILED, "unexpected error 413: Request Entity Too Large"),
    ],
)  # fmt: skip
def test_classify_permanent_errors(
    status: int, description: str, outcome: Outcome, reason: str
) -> None:
    expected = Decision(outcome, 0.0, reason)
    assert classify(status=status, description=description, attempts=1) == expected
    assert classify(status=status, description=description, attempts=99) == expected, "no retry"


@pytest.mark.parametrize("attempts", [1, 6, 10])
def test_classify_429_waits_as_told_whatever_the_attempts(attempts: int) -> None:
    decision = classify(
        status=429, description="Too Many Requests: retry after 7", retry_after=7, attempts=attempts
    )
    assert decision.outcome is Outcome.RETRY_AFTER
    assert decision.delay == 7.0
    assert decision.reason == "rate limited by Telegram for 7 s"


def test_classify_429_without_retry_after_waits_one_second() -> None:
    decision = classify(status=429, attempts=1)
    assert (decision.outcome, decision.delay) == (Outcome.RETRY_AFTER, 1.0)


@pytest.mark.parametrize("attempts", [1, 2, 3, 4, 5])
def test_classify_5xx_backs_off_exponentially_within_jitter(attempts: int) -> None:
    nominal = 2.0 ** (attempts - 1)

    def delay(rng: random.Random) -> float:
        decision = classify(status=502, description="Bad Gateway", attempts=attempts, rng=rng)
        assert decision.outcome is Outcome.RETRY
        assert decision.reason == "Telegram server error 502: Bad Gateway"
        return decision.delay

    assert delay(EdgeRng(high=False)) == pytest.approx(nominal * 0.8)
    assert delay(EdgeRng(high=True)) == pytest.approx(nominal * 1.2)
    for seed in range(50):
        assert nominal * 0.8 <= delay(random.Random(seed)) <= nominal * 1.2


def test_classify_5xx_gives_up_at_max_attempts() -> None:
    decision = classify(status=502, description="Bad Gateway", attempts=6)
    assert decision == Decision(
        Outcome.FAILED, 0.0, "gave up after 6 attempts: Telegram server error 502: Bad Gateway"
    )
    assert classify(status=500, attempts=3, policy=RetryPolicy(max_attempts=3)).outcome == (
        Outcome.FAILED
    )


def test_classify_network_errors_retry_then_give_up() -> None:
    decision = classify(status=None, description="timeout", attempts=1, rng=random.Random(0))
    assert decision.outcome is Outcome.RETRY
    assert 0.8 <= decision.delay <= 1.2
    assert decision.reason == "network error or timeout: timeout"

    final = classify(status=None, attempts=6)
    assert final == Decision(
        Outcome.FAILED, 0.0, "gave up after 6 attempts: network error or timeout"
    )


def test_classify_backoff_respects_the_cap() -> None:
    policy = RetryPolicy(max_attempts=100_000)
    for attempts in (10, 40, 99_999):  # 2.0 ** 99_998 would overflow a float
        low = classify(status=503, attempts=attempts, policy=policy, rng=EdgeRng(high=False))
        high = classify(status=503, attempts=attempts, policy=policy, rng=EdgeRng(high=True))
        assert low.delay == pytest.approx(300.0 * 0.8)
        assert high.delay == pytest.approx(300.0 * 1.2)


def test_classify_is_deterministic_with_a_seeded_rng() -> None:
    first = [classify(status=None, attempts=n, rng=random.Random(0)).delay for n in range(1, 6)]
    again = [classify(status=None, attempts=n, rng=random.Random(0)).delay for n in range(1, 6)]
    assert first == again
    assert len(set(first)) == 5


def test_classify_keeps_secrets_and_long_texts_out_of_the_reason() -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_-x"
    decision = classify(
        status=None,
        description=f"Cannot connect to https://api.telegram.org/bot{token}/sendMessage",
        attempts=1,
    )
    assert token not in decision.reason
    assert "<token>" in decision.reason
    assert len(classify(status=400, description="x" * 5000, attempts=1).reason) <= 220


def test_classify_rejects_attempts_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        classify(status=502, attempts=0)


def test_success_is_sent() -> None:
    assert success() == Decision(Outcome.SENT)
    assert Outcome.SENT == "sent"


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"global_per_second": 0.5}, "between 1 and 30"),
        ({"global_per_second": 31.0}, r"between 1 and 30 \(more needs paid broadcasts\)"),
        ({"global_per_second": 1001.0, "paid": True}, "between 1 and 1000"),
        ({"global_per_second": math.nan}, "global_per_second"),
        ({"private_per_second": 0.0}, "private_per_second must be a positive number"),
        ({"group_per_minute": -1.0}, "group_per_minute must be a positive number"),
        ({"group_per_minute": math.inf}, "group_per_minute must be a positive number"),
    ],
)
def test_pacing_limits_reject_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PacingLimits(**kwargs)


def test_pacing_limits_accept_the_edges() -> None:
    assert PacingLimits(global_per_second=30.0).global_per_second == 30.0
    assert PacingLimits(global_per_second=1.0).global_per_second == 1.0
    assert PacingLimits(global_per_second=1000.0, paid=True).paid


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base": 0.0}, "base must be a positive number"),
        ({"factor": 0.5}, "factor must be at least 1"),
        ({"jitter": 1.0}, "jitter must be in"),
        ({"cap": 0.5}, "cap must be at least base"),
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
    ],
)
def test_retry_policy_rejects_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)
