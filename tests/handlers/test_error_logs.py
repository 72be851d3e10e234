"""A failing handler: the ERROR line names the update and the reference the member was shown,
in both log formats; the summary line stays one line per update."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bot.logs import UpdateIdFilter, make_formatter
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI


@pytest.fixture(params=["text", "json"])
def log_output(request: pytest.FixtureRequest) -> Iterator[tuple[str, io.StringIO]]:
    """The root logger writes through a handler set up as configure_logging sets one up."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(make_formatter(request.param))
    handler.addFilter(UpdateIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield request.param, buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_the_error_line_carries_the_update_id_and_the_reference(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
    log_output: tuple[str, io.StringIO],
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("database exploded")

    log_format, buffer = log_output
    monkeypatch.setattr("handlers.start.set_reachable", broken)
    anna = fake_api.add_user(first_name="Annalena", username="secret_handle", language_code="de")
    update = await anna.send_message("/start")
    await driver.feed(update)
    [reply] = fake_api.sent_to(anna.id)
    reference = re.search(r"\d+$", reply.text)
    assert reference is not None, reply.text
    update_id = update["update_id"]
    assert reference.group(0) == str(update_id)

    output = buffer.getvalue()
    assert "Annalena" not in output
    assert "secret_handle" not in output
    if log_format == "json":
        lines = [json.loads(line) for line in output.splitlines()]
        errors = [line for line in lines if line["level"] == "ERROR"]
        [error] = errors
        assert error["update_id"] == update_id
        assert f"reference {reference.group(0)}" in error["message"]
        assert "RuntimeError: database exploded" in error["exception"]
        summaries = [line for line in lines if line["logger"] == "mitmachbot.updates"]
        [summary] = summaries
        assert summary["update_id"] == update_id
        assert "outcome=failed" in summary["message"]
    else:
        [error] = [line for line in output.splitlines() if " ERROR " in line]
        assert f" ERROR handlers.errors update={update_id} " in error
        assert f"reference {reference.group(0)}" in error
        summaries = [line for line in output.splitlines() if "mitmachbot.updates" in line]
        [summary] = summaries
        assert f"update={update_id} type=message" in summary
