"""Log formats: the text line as before, JSON one object per line, the update id on both."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import (
    JsonFormatter,
    UpdateIdFilter,
    configure_logging,
    current_update_id,
    make_formatter,
)
from bot.settings import SettingsError, load_settings

TOKEN = "123456789:AAH-fake-token-for-tests-0123456789ab"


@pytest.fixture
def stream() -> io.StringIO:
    """What a handler set up like configure_logging's writes, for both formats' tests."""
    return io.StringIO()


def _fail() -> None:
    raise ValueError("boom")


def _logger(buffer: io.StringIO, log_format: str) -> logging.Logger:
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(make_formatter(log_format))  # type: ignore[arg-type]
    handler.addFilter(UpdateIdFilter())
    logger = logging.getLogger(f"tests.logs.{log_format}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_text_lines_are_unchanged(stream: io.StringIO) -> None:
    logger = _logger(stream, "text")
    logger.info("outside")
    token = current_update_id.set(123)
    try:
        logger.warning("inside %s", "an update")
    finally:
        current_update_id.reset(token)
    first, second = stream.getvalue().splitlines()
    assert first.endswith(" INFO tests.logs.text update=- outside")
    assert second.endswith(" WARNING tests.logs.text update=123 inside an update")


def test_json_lines_parse_and_carry_the_update_id(stream: io.StringIO) -> None:
    logger = _logger(stream, "json")
    logger.info("outside")
    token = current_update_id.set(4711)
    try:
        logger.info("two\nlines, one event: %s", "ünïcödé")
        try:
            _fail()
        except ValueError:
            logger.exception("failed")
    finally:
        current_update_id.reset(token)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # the traceback and the line break stay inside their objects
    outside, multi, failed = (json.loads(line) for line in lines)
    assert outside["level"] == "INFO"
    assert outside["logger"] == "tests.logs.json"
    assert outside["message"] == "outside"
    assert "update_id" not in outside
    assert "exception" not in outside
    assert outside["time"].endswith("+00:00")
    assert multi["message"] == "two\nlines, one event: ünïcödé"
    assert multi["update_id"] == 4711
    assert failed["level"] == "ERROR"
    assert failed["update_id"] == 4711
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert failed["exception"].endswith("ValueError: boom")


def test_json_formatter_reads_the_update_id_without_the_filter() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    token = current_update_id.set(9)
    try:
        line = JsonFormatter().format(record)
    finally:
        current_update_id.reset(token)
    assert json.loads(line)["update_id"] == 9


def test_configure_logging_picks_the_format() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging("INFO", "json")
        [handler] = root.handlers
        assert isinstance(handler.formatter, JsonFormatter)
        configure_logging("INFO")
        [handler] = root.handlers
        assert not isinstance(handler.formatter, JsonFormatter)
        assert any(isinstance(f, UpdateIdFilter) for f in handler.filters)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_log_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert load_settings(bot_token=TOKEN).log_format == "text"
    monkeypatch.setenv("LOG_FORMAT", " JSON ")
    assert load_settings(bot_token=TOKEN).log_format == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(SettingsError) as caught:
        load_settings(bot_token=TOKEN)
    assert str(caught.value).startswith("Configuration error: LOG_FORMAT is malformed; expected ")
