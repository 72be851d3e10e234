"""The send rate shared by all instances (bot.services.send_bucket) against a real Redis.

Skipped without TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) or when it does not answer.
Every test uses its own random key; nothing else in the database is touched.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.services.send_bucket import SendBucket, bucket_key, send_bucket

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "").strip()


@pytest.fixture
async def redis_url() -> str:
    if not TEST_REDIS_URL:
        pytest.skip("the shared send bucket needs TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    client = Redis.from_url(TEST_REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), timeout=2)
    except Exception as exc:  # any failure means: no Redis to test against
        pytest.skip(f"Redis at TEST_REDIS_URL does not answer: {type(exc).__name__}")
    finally:
        await client.aclose()
    return TEST_REDIS_URL


@pytest.fixture
async def key(redis_url: str) -> AsyncIterator[str]:
    name = f"test:send-rate:{uuid.uuid4().hex}"
    yield name
    client = Redis.from_url(redis_url)
    await client.delete(name)
    await client.aclose()


async def test_two_pacers_share_one_limit(redis_url: str, key: str) -> None:
    rate = 200.0
    # Two instances: two connections, one key.
    buckets = [SendBucket(Redis.from_url(redis_url), key, rate) for _ in range(2)]
    granted: list[list[int]] = [[], []]

    async def take(index: int) -> None:
        for _ in range(60):
            grant = await buckets[index].reserve(5)
            granted[index].extend(grant.first + i * grant.interval for i in range(grant.count))
            await asyncio.sleep(0)

    try:
        await asyncio.gather(take(0), take(1))
    finally:
        for bucket in buckets:
            await bucket.close()
    slots = sorted([*granted[0], *granted[1]])
    # Both took turns, and no slot was handed out twice or closer than the rate allows.
    assert granted[0]
    assert granted[1]
    assert len(set(slots)) == len(slots)
    interval = 1_000_000 / rate
    assert min(b - a for a, b in itertools.pairwise(slots)) >= interval
    # Hence no second of Redis's clock holds more than the rate (checked anyway).
    second = 1_000_000
    first = 0
    for index, slot in enumerate(slots):
        while slots[first] <= slot - second:
            first += 1
        assert index - first + 1 <= rate


async def test_next_slot_spaces_one_instance_and_leaves_room_for_another(
    redis_url: str, key: str
) -> None:
    bucket = SendBucket(Redis.from_url(redis_url), key, 100.0)
    other = SendBucket(Redis.from_url(redis_url), key, 100.0)
    try:
        mine = [await bucket.next_slot() for _ in range(4)]
        # Slots of one grant (two at 100/s) are exactly 10 ms apart; the next grant's follow
        # (mapped to the local clock through a round trip: no tighter bound across grants).
        assert mine[1] - mine[0] == pytest.approx(0.01, abs=1e-6)
        assert mine[3] - mine[2] == pytest.approx(0.01, abs=1e-6)
        assert mine[2] > mine[1]
        # The other instance's first slot comes after what this one holds, not at once.
        theirs = await other.reserve(1)
        mine_grant = await bucket.reserve(1)
        assert theirs.count == mine_grant.count == 1
        assert mine_grant.first - theirs.first == 10_000
    finally:
        await bucket.close()
        await other.close()


async def test_the_key_is_per_bot_and_no_redis_means_no_shared_bucket(redis_url: str) -> None:
    assert send_bucket(None, 123, 25.0) is None
    assert send_bucket("", 123, 25.0) is None
    bucket = send_bucket(redis_url, 123, 25.0)
    assert bucket is not None
    assert bucket.key == bucket_key(123) == "mitmachbot:send-rate:123"
    assert bucket_key(123, "kv-nord") == "kv-nord:send-rate:123"
    await bucket.close()


async def test_an_unreachable_redis_leaves_pacing_to_the_instance(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Port 9 (discard) answers nothing: the worker must go on with its local pacer.
    bucket = SendBucket(Redis.from_url("redis://127.0.0.1:9/0", socket_timeout=0.5), "k", 25.0)
    slot = await bucket.next_slot()
    assert slot == pytest.approx(asyncio.get_running_loop().time(), abs=1.0)
    assert "pacing this instance alone" in caplog.text
    await bucket.close()
