"""bench.scale runs end to end with a few members and prints every figure it promises."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_SKIP_REASON, TEST_DATABASE_URL

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"[0-9][0-9,.]*"


@pytest.mark.parametrize(
    "database",
    [
        pytest.param(None, id="sqlite"),
        pytest.param(
            TEST_DATABASE_URL or None,
            id="postgresql",
            marks=pytest.mark.skipif(not TEST_DATABASE_URL, reason=PG_SKIP_REASON),
        ),
    ],
)
async def test_the_scale_bench_prints_every_figure(database: str | None) -> None:
    args = ["-m", "bench.scale", "--members", "300", "--idle-seconds", "1"]
    if database is not None:
        args += ["--database", database]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    text = output.decode()
    assert process.returncode == 0, text
    assert "seeded 300 members" in text, text
    assert re.search(rf"preview everyone\s+{NUMBER} ms", text), text
    assert re.search(rf"matching \(suggestion page\)\s+{NUMBER} ms", text), text
    assert re.search(rf"report \(this half-year\)\s+{NUMBER} ms", text), text
    assert re.search(rf"report rendering \(charts \+ PDF\)\s+{NUMBER} ms", text), text
    assert re.search(rf"enqueue all .*\s+{NUMBER} ms", text), text
    assert re.search(rf"/start while enqueueing: \d+ updates, p50 {NUMBER} ms", text), text
    assert re.search(r"largest bind count of any statement: \d+", text), text
    assert re.search(rf"idle `mitmachbot run` RSS: {NUMBER} MB", text), text
    assert "Traceback" not in text
