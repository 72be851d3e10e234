"""The one backoff curve: doubling from base, capped, jittered within its bounds."""

from __future__ import annotations

import random

import pytest

from bot.backoff import Backoff


def test_the_wait_doubles_up_to_the_cap() -> None:
    curve = Backoff(base=0.5, cap=4.0)
    assert [curve.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_a_huge_attempt_count_waits_the_cap() -> None:
    assert Backoff(base=1.0, cap=30.0, factor=10.0).delay(10**6) == 30.0


def test_jitter_stays_within_its_bounds() -> None:
    curve = Backoff(base=1.0, cap=8.0, jitter=0.25)
    rng = random.Random(7)
    waits = [curve.delay(3, rng) for _ in range(500)]
    assert 3.0 <= min(waits) < 3.2
    assert 4.8 < max(waits) <= 5.0


@pytest.mark.parametrize(
    "numbers",
    [
        {"base": 0.0, "cap": 1.0},
        {"base": float("nan"), "cap": 1.0},
        {"base": 1.0, "cap": 0.5},
        {"base": 1.0, "cap": float("inf")},
        {"base": 1.0, "cap": 2.0, "factor": 0.5},
        {"base": 1.0, "cap": 2.0, "jitter": 1.0},
        {"base": 1.0, "cap": 2.0, "jitter": -0.1},
    ],
)
def test_curves_that_make_no_sense_are_refused(numbers: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Backoff(**numbers)
