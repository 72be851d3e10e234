"""The start-up heap is frozen before the bot serves: full collections skip it."""

from __future__ import annotations

import gc

from bot.app import freeze_startup_heap


def test_freezing_moves_the_start_up_objects_to_the_permanent_generation() -> None:
    made_at_start_up = [object() for _ in range(1000)]
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= len(made_at_start_up)
        # Whatever comes later is collected as usual.
        assert gc.get_count()[0] < 1000
    finally:
        gc.unfreeze()
