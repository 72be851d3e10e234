"""The benchmarks still run and print their figures (tiny sizes; the figures are not judged).

A benchmark nobody runs breaks silently; these catch that in CI without timing anything.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_SKIP_REASON, TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"\d+(?:\.\d+)?"

pytestmark = pytest.mark.e2e

DATABASES = [
    pytest.param(None, id="sqlite"),
    pytest.param(
        TEST_DATABASE_URL or None,
        id="postgresql",
        marks=pytest.mark.skipif(not TEST_DATABASE_URL, reason=PG_SKIP_REASON),
    ),
]


async def _run_bench(module: str, *args: str, database: str | None, seconds: float = 240) -> str:
    if database is not None:
        args = (*args, "--database", database)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds)
    text = output.decode()
    assert process.returncode == 0, text
    return text


@pytest.mark.parametrize("database", DATABASES)
async def test_update_bench_prints_every_row(database: str | None) -> None:
    # Seven bots, each in a process of its own that imports aiogram (and Mitmachbot) first.
    text = await _run_bench(
        "bench.updates",
        "--burst",
        "20",
        "--repeat",
        "1",
        "--warm-up",
        "3",
        "--rate",
        "10",
        "--seconds",
        "1",
        database=database,
        seconds=480,
    )
    row = rf"\s+{NUMBER}/s\s+cpu\s+{NUMBER} ms/update\s+p50\s+{NUMBER} ms\s+p99\s+{NUMBER} ms"
    assert re.search(rf"echo bot \(1 reply\){row}\n", text), text
    assert re.search(r"first contact \(2 replies\)", text), text
    assert re.search(r"known member \(1 reply\)", text), text
    # Each workload: the same-replies bot and the peer with a ratio to echo, Mitmachbot with
    # ratios to echo, to the same-replies bot and to the peer.
    echo = rf"\s+{NUMBER} x echo"
    # The peer and Mitmachbot also: p99 latency and CPU per update as ratios to the
    # same-replies bot, and what they asked of their database per update.
    targets = rf"\s+p99\s+{NUMBER} x same\s+cpu\s+{NUMBER} x same"
    work = rf"\s+db/update: {NUMBER} statements, {NUMBER} transactions, {NUMBER} pings\n"
    assert len(re.findall(rf"same repl(?:y|ies), bare aiogram{row}{echo}\n", text)) == 2, text
    assert len(re.findall(rf"peer \(template bot\){row}{echo}{targets}{work}", text)) == 2, text
    ratios = rf"{echo}\s+{NUMBER} x same\s+{NUMBER} x peer{targets}{work}"
    assert len(re.findall(rf"mitmachbot{row}{ratios}", text)) == 2, text


@pytest.mark.parametrize("database", DATABASES)
async def test_broadcast_bench_prints_its_figures(database: str | None) -> None:
    text = await _run_bench(
        "bench.broadcast", "--recipients", "30", "--paid-recipients", "60", database=database
    )
    assert "the real `mitmachbot run` process" in text, text
    assert re.search(rf"25/s limit\s+30 sent\s+{NUMBER}/s\s+ratio {NUMBER}", text), text
    assert re.search(r"breaches 0\s+429s 0", text), text
    assert re.search(rf"paid 1000/s\s+60 sent\s+{NUMBER}/s\s+ratio {NUMBER}", text), text
    assert re.search(rf"CPU {NUMBER} ms/message", text), text
    assert re.search(rf"bare aiogram\s+60 sent\s+{NUMBER}/s", text), text


@pytest.mark.parametrize("database", DATABASES)
async def test_rsvp_bench_prints_its_figures(database: str | None) -> None:
    text = await _run_bench("bench.rsvp", "--members", "30", "--capacity", "7", database=database)
    assert "overbooked: no (7 of 7 places taken)  confirmed 7  waiting 23" in text, text
    assert "waiting list in order: yes" in text, text
    assert re.search(rf"p50\s+{NUMBER} ms\s+p95\s+{NUMBER} ms\s+p99\s+{NUMBER} ms", text), text
    assert re.search(rf"throughput\s+{NUMBER} presses/s \(30 answered\)", text), text


@pytest.mark.parametrize("database", DATABASES)
async def test_horizon_bench_prints_its_figures(database: str | None) -> None:
    text = await _run_bench("bench.meeting_horizon", "--groups", "20", database=database)
    assert re.search(rf"first run\s+\+\s*\d+ −\s*0\s+{NUMBER} ms", text), text
    assert re.search(rf"again \(steady state\)\s+\+\s*0 −\s*0\s+{NUMBER} ms", text), text
    assert re.search(r"rules changed \(1/4 groups\)\s+\+\s*\d+ −\s*[1-9]\d*", text), text


async def test_expand_bench_prints_its_figures() -> None:
    text = await _run_bench("bench.meetings_expand", "--groups", "20", database=None)
    assert re.search(rf"warm \(median of 5\)\s+\d+ dates\s+{NUMBER} ms", text), text
    assert "engines disagree" not in text, text


@pytest.mark.parametrize("database", DATABASES)
async def test_field_actions_bench_prints_its_figures(database: str | None) -> None:
    text = await _run_bench(
        "bench.field_actions", "--members", "300", "--actions", "6", database=database
    )
    assert re.search(rf"horizon first run\s+\+\s*[1-9]\d* dates\s+{NUMBER} ms", text), text
    assert re.search(rf"horizon again \(steady state\)\s+\+\s*0 dates\s+{NUMBER} ms", text), text
    assert re.search(
        rf"calls first run\s+[1-9]\d* short shifts\s+[1-9]\d* called\s+{NUMBER} ms", text
    ), text
    assert re.search(
        rf"calls again \(cooldown\)\s+\d+ short shifts\s+0 called\s+{NUMBER} ms", text
    ), text
    assert re.search(rf"reminders \(\d+ sign-ups\)\s+\d+ queued\s+{NUMBER} ms", text), text
