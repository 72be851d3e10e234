"""The security suite prints its figures (updates fuzzed, refusals checked, escalations)."""

from __future__ import annotations

import pytest

from tests.security import figures


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One section with the suite's figures, when any of its tests ran."""
    if figures.FIGURES:
        terminalreporter.section("security figures")
        for line in figures.summary():
            terminalreporter.write_line(line)
