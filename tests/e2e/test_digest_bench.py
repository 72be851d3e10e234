"""bench.newcomer_digest still runs and prints its figures (a tiny KV; the figures are not
judged). Apart from tests/e2e/test_benches.py only so the helpers' branches merge cleanly; the
lead may fold it in."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_benches import DATABASES, NUMBER, _run_bench

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("database", DATABASES)
async def test_digest_bench_prints_its_figures(database: str | None) -> None:
    text = await _run_bench(
        "bench.newcomer_digest", "--members", "500", "--repeat", "1", database=database
    )
    assert "newcomers waiting: 310 (31 pages)" in text, text
    for name in ["Monday job", "render the row", "Older", "a middle page", "the last page"]:
        assert re.search(
            rf"{name}.*best\s+{NUMBER} ms .* [1-9] statements, at most \d+ parameters", text
        ), text
    assert re.search(rf"RSS growth over all of it: [+-]{NUMBER} MB", text), text
