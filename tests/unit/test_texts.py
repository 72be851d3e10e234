"""Rendering helpers: meeting rules described in each language, names escaped."""

from __future__ import annotations

import pytest
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from bot.services.recurrence import Rule, parse_rule
from bot.telegram.format import describe_rule, esc
from tests.unit.test_recurrence import (  # the same rules as the parser's tests
    EVERY_OTHER_THU,
    FIRST_MON,
    FIRST_THIRD_TUE,
    JAN_27,
    JAN_27_18,
    LAST_FRI,
    NNBSP,
    SECOND_SUN_SEP,
    SECOND_THU,
    THU_19,
)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


def _describe(i18n: I18n, rule: Rule, locale: str) -> str:
    with i18n.context(), i18n.use_locale(locale):
        return describe_rule(rule)


@pytest.mark.parametrize(
    ("rule", "german", "english"),
    [
        (THU_19, "jeden Donnerstag, 19:00", f"every Thursday, 7:00{NNBSP}PM"),
        (
            SECOND_THU,
            "jeden 2. Donnerstag im Monat, 19:00",
            f"every 2nd Thursday of the month, 7:00{NNBSP}PM",
        ),
        (
            FIRST_MON,
            "jeden ersten Montag im Monat, 18:30",
            f"every first Monday of the month, 6:30{NNBSP}PM",
        ),
        (
            LAST_FRI,
            "jeden letzten Freitag im Monat, 19:00",
            f"every last Friday of the month, 7:00{NNBSP}PM",
        ),
        (
            FIRST_THIRD_TUE,
            "jeden 1. und 3. Dienstag im Monat, 19:00",
            f"every 1st and 3rd Tuesday of the month, 7:00{NNBSP}PM",
        ),
        (
            EVERY_OTHER_THU,
            "alle zwei Wochen am Donnerstag, 19:00",
            f"every other Thursday, 7:00{NNBSP}PM",
        ),
        (JAN_27, "jährlich am 27. Januar", "every year on January 27"),
        (JAN_27_18, "jährlich am 27. Januar, 18:00", f"every year on January 27, 6:00{NNBSP}PM"),
        (
            SECOND_SUN_SEP,
            "jährlich am 2. Sonntag im September",
            "every year on the 2nd Sunday of September",
        ),
        (Rule("yearly_date", None, month=3, day=1), "jährlich am 1. März", "every year on March 1"),
    ],
)
def test_describe_rule(i18n: I18n, rule: Rule, german: str, english: str) -> None:
    assert _describe(i18n, rule, "de") == german
    assert _describe(i18n, rule, "en") == english
    # Descriptions read back, except biweekly ones, which leave the start date out.
    if rule.kind != "biweekly":
        assert parse_rule(german) == rule
        assert parse_rule(english) == rule


def test_esc() -> None:
    assert esc('<b>Anna & "Co"</b>') == '&lt;b&gt;Anna &amp; "Co"&lt;/b&gt;'
