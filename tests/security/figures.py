"""The figures the security suite measures, printed at the end of the run (and written as JSON
to $SECURITY_FIGURES when set), for the closing note of a security review."""

from __future__ import annotations

import json
import os
from typing import Any

FIGURES: dict[str, dict[str, Any]] = {}
ESCALATIONS: list[str] = []


def record(test: str, **values: Any) -> None:
    """Keep `values` measured by `test`."""
    FIGURES.setdefault(test, {}).update(values)


def escalation(description: str) -> None:
    """Count an attempt that did what its role may not."""
    ESCALATIONS.append(description)


def summary() -> list[str]:
    """The lines printed at the end of the run."""
    lines = [
        f"{test}: " + ", ".join(f"{key}={value}" for key, value in values.items())
        for test, values in FIGURES.items()
    ]
    lines.append(f"escalations found: {len(ESCALATIONS)}")
    lines.extend(f"  {line}" for line in ESCALATIONS[:20])
    target = os.environ.get("SECURITY_FIGURES")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump({"figures": FIGURES, "escalations": ESCALATIONS}, out, indent=2)
    return lines
