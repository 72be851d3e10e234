"""Expanding every group's meetings for a year: RRULE text through python-dateutil.

    .venv/bin/python -m bench.meetings_expand
    .venv/bin/python -m bench.meetings_expand --groups 1000 --zone America/New_York

A KV of N groups (default 200), one rule each, in a fixed mix of kinds: weekly, biweekly with
anchors up to three years back, monthly with one or two ordinals (some "last"), yearly dates
and yearly weekdays (some all-day). Every group's dates for one year are expanded with
bot.services.recurrence.expand, as a calendar feed or a yearly overview would.

Figures: total occurrences and the wall time for all groups, and per group, for
- cold: the first expansion of each text, which checks and parses it (then remembered);
- warm: the same again (median of rounds), the steady state of a running bot;
- warm with three cancelled dates (EXDATEs) per group;
- the next three dates of each group from occurrences(), as the group directory asks;
- the old hand-written engine (tests/unit/reference_occurrences.py) for the same year, as a
  yardstick; both must give the same dates, which the run checks.
No targets: the figures are for comparing changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.services.recurrence import LAST, Rule, check_rrule, expand, occurrences, to_rrule
from bot.services.recurrence import rrule as rrule_module
from tests.unit import reference_occurrences

_YEAR = 2026
_ROUNDS = 5


def _rules(groups: int, seed: int) -> list[Rule]:
    """groups rules in a fixed mix of kinds, the same for the same seed."""
    pick = random.Random(seed)
    kinds = ["weekly"] * 8 + ["biweekly"] * 4 + ["monthly"] * 5 + ["yearly_date", "yearly_weekday"]
    rules = []
    for _ in range(groups):
        kind = pick.choice(kinds)
        weekday = pick.randrange(7)
        clock: dt.time | None = dt.time(pick.randrange(17, 21), pick.choice((0, 30)))
        if kind == "weekly":
            rules.append(Rule("weekly", clock, weekday=weekday))
        elif kind == "biweekly":
            anchor = dt.date(_YEAR, 1, 1) - dt.timedelta(days=pick.randrange(3 * 365))
            anchor += dt.timedelta(days=(weekday - anchor.weekday()) % 7)
            rules.append(Rule("biweekly", clock, weekday=weekday, anchor=anchor))
        elif kind == "monthly":
            ordinals = pick.choice([(1,), (2,), (3,), (LAST,), (1, 3), (2, 4), (2, LAST)])
            rules.append(Rule("monthly", clock, weekday=weekday, ordinals=ordinals))
        elif kind == "yearly_date":
            clock = pick.choice((None, clock))
            month = pick.randrange(1, 13)
            day = pick.randrange(1, 29) if pick.random() > 0.1 else 29
            rules.append(Rule("yearly_date", clock, month=month, day=day))
        else:
            clock = pick.choice((None, clock))
            ordinals = pick.choice([(1,), (2,), (LAST,)])
            month = pick.randrange(1, 13)
            rules.append(
                Rule("yearly_weekday", clock, weekday=weekday, ordinals=ordinals, month=month)
            )
    return rules


def _timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    found = work()
    return found, time.perf_counter() - started


def _row(label: str, found: int, seconds: float, groups: int) -> str:
    return (
        f"  {label:<34} {found:7d} dates  {seconds * 1000:8.2f} ms  "
        f"{seconds / groups * 1e6:8.1f} µs/group"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--zone", default="Europe/Berlin")
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    zone = ZoneInfo(args.zone)
    rules = _rules(args.groups, args.seed)
    texts = [to_rrule(rule) for rule in rules]
    start = dt.datetime(_YEAR, 1, 1, tzinfo=zone)
    end = dt.datetime(_YEAR + 1, 1, 1, tzinfo=zone)

    def expand_all(cancelled: dict[str, list[dt.datetime]] | None = None) -> int:
        cancelled = cancelled or {}
        return sum(
            len(expand(text, zone=zone, start=start, end=end, exdates=cancelled.get(text, ())))
            for text in texts
        )

    # Cold: nothing checked or parsed yet (clearing the module's own caches), but dateutil's
    # parser, which it imports on first use, already imported: that is start-up, not this.
    check_rrule("DTSTART:19990101T000000\nRRULE:FREQ=DAILY")
    rrule_module._read.cache_clear()
    rrule_module._occurs.cache_clear()
    total, cold = _timed(expand_all)
    warm_rounds = [_timed(expand_all)[1] for _ in range(_ROUNDS)]
    cancelled = {text: expand(text, zone=zone, start=start, end=end)[1:4] for text in texts}
    with_exdates_total = expand_all(cancelled)
    exdate_rounds = [_timed(lambda: expand_all(cancelled))[1] for _ in range(_ROUNDS)]
    next_rounds = [
        _timed(lambda: sum(len(occurrences(r, after=start, zone=zone, count=3)) for r in rules))
        for _ in range(_ROUNDS)
    ]

    # The old engine only counts forward; asked for exactly the year's dates and one more, it
    # does no more work than it must.
    wanted = [len(expand(text, zone=zone, start=start, end=end)) + 1 for text in texts]

    def old_engine() -> int:
        return sum(
            sum(
                1
                for moment in reference_occurrences.occurrences(
                    rule, after=start, zone=zone, count=count
                )
                if moment <= end
            )
            for rule, count in zip(rules, wanted, strict=True)
        )

    old_rounds = [_timed(old_engine) for _ in range(_ROUNDS)]
    if old_rounds[0][0] != total:
        raise SystemExit(f"engines disagree: {total} dates from dateutil, {old_rounds[0][0]} old")

    kinds = Counter(rule.kind for rule in rules)
    groups = args.groups
    print(f"meetings_expand: {groups} groups, one year ({_YEAR}) in {args.zone}")
    print("  rules: " + ", ".join(f"{kinds[kind]} {kind}" for kind in sorted(kinds)))
    print(_row("cold (check + parse + expand)", total, cold, groups))
    print(_row(f"warm (median of {_ROUNDS})", total, statistics.median(warm_rounds), groups))
    print(
        _row(
            "warm, 3 EXDATEs per group",
            with_exdates_total,
            statistics.median(exdate_rounds),
            groups,
        )
    )
    print(
        _row(
            "next 3 dates per group",
            next_rounds[0][0],
            statistics.median(seconds for _, seconds in next_rounds),
            groups,
        )
    )
    print(
        _row(
            "old engine, same year (yardstick)",
            old_rounds[0][0],
            statistics.median(seconds for _, seconds in old_rounds),
            groups,
        )
    )


if __name__ == "__main__":
    main()
