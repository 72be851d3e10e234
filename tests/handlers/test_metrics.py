"""Dispatcher tests of the update counts (bot.metrics): each outcome counted where it happens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Application, build_application
from bot.settings import Settings
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI


def counts(app: Application) -> dict[tuple[str, str], float]:
    """mitmachbot_updates_total by (type, outcome), parsed from the exposition."""
    assert app.metrics is not None
    text = app.metrics.exposition().decode()
    return {
        (sample.labels["type"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "mitmachbot_updates_total"
    }


@pytest.fixture
async def counted(settings: Settings) -> AsyncIterator[Application]:
    """The application with metrics on and a flood gate that lets two messages through."""
    settings = settings.model_copy(
        update={"metrics_enabled": True, "flood_burst": 2, "flood_rate": 0.01, "flood_max_delay": 0}
    )
    application = await build_application(settings, migrate=False)
    yield application
    await application.close()


async def test_outcomes_ok_duplicate_dropped_and_error(
    counted: Application, fake_api: FakeBotAPI
) -> None:
    driver = BotDriver(counted, fake_api)
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    start = await anna.send_message("/start")
    await driver.feed(start)
    # Telegram delivers the same update again (a webhook retry): handled once.
    await driver.feed(start)
    assert counts(counted) == {("message", "ok"): 1, ("message", "duplicate"): 1}

    # Beyond the flood gate's burst (2, the duplicate included) with no wait allowed: dropped.
    await driver.send(anna, "/hilfe")
    assert counts(counted)[("message", "dropped")] == 1

    # A handler that fails is an error, also when the error handler takes care of it.
    bert = fake_api.add_user(first_name="Bert", language_code="de")
    fake_api.fail("sendMessage", status=400, description="Bad Request: chat not found", times=9)
    await driver.send(bert, "/start")
    assert counts(counted) == {
        ("message", "ok"): 1,
        ("message", "duplicate"): 1,
        ("message", "dropped"): 1,
        ("message", "error"): 1,
    }


async def test_without_metrics_nothing_is_counted(app: Application) -> None:
    assert app.metrics is None
