"""During a database outage the jobs' failures are one WARNING line each, not a traceback."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from bot.scheduler import create_scheduler


def _raise(error: Exception) -> None:
    raise error


def _job_fails(error: Exception) -> None:
    try:
        _raise(error)
    except Exception:
        logging.getLogger("apscheduler.executors.default").exception(
            "Job %r raised an exception", "memorials-reminders"
        )


def test_an_unavailable_database_is_one_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    create_scheduler()
    with caplog.at_level(logging.INFO, logger="apscheduler.executors.default"):
        _job_fails(sqlite3.OperationalError("database is locked"))
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert record.getMessage() == (
        "Job 'memorials-reminders' raised an exception: the database is unavailable "
        "(OperationalError (database is locked))"
    )


def test_any_other_failure_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    create_scheduler()
    create_scheduler()  # a second scheduler doesn't add the filter twice
    with caplog.at_level(logging.INFO, logger="apscheduler.executors.default"):
        _job_fails(ValueError("a bug"))
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
