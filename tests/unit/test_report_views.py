"""The report's summary message and CSV: masked counts, escaped names, a file a spreadsheet and
Python's csv module open."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from bot.services.reports.model import (
    ActionKindFigures,
    BroadcastFigures,
    DistrictFigures,
    FunnelStage,
    FunnelStep,
    GroupFigures,
    GroupMonth,
    Period,
    PeriodKind,
    Report,
    TopicMentions,
)
from bot.telegram.views import reports as views
from tests.fakebotapi import parse_html

REPORT = Report(
    kv_name="KV <Süd> & Umland",
    period=Period(PeriodKind.HALF_YEAR, date(2026, 1, 1), date(2026, 6, 30)),
    generated_at=datetime(2026, 7, 1, tzinfo=UTC),
    funnel=tuple(
        FunnelStep(stage, count)
        for stage, count in zip(FunnelStage, [40, 30, 20, 2, 1, 0], strict=True)
    ),
    groups=(
        GroupFigures(
            "Stammtisch <Mitte>",
            "stammtisch",
            "Mitte",
            12,
            2,
            (GroupMonth(date(2026, 1, 1), 2, 1), GroupMonth(date(2026, 2, 1), 1, 9)),
        ),
    ),
    broadcasts=(
        BroadcastFigures(
            datetime(2026, 2, 1, tzinfo=UTC), "Sommerfest; <b>", "announcements", 12, 7, 2, 2
        ),
    ),
    actions=(ActionKindFigures("infostand", 1, 2, 1, 3, 10, 2, 2),),
    topics=(TopicMentions("Miete & Wohnen", 4, 1),),
    districts=(DistrictFigures("Nord", 2, 2, 0, 0), DistrictFigures("Mitte", 9, 3, 3, 4)),
)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


@pytest.fixture(params=["de", "en"])
def locale(request: pytest.FixtureRequest, i18n: I18n) -> Iterator[str]:
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def _rows(locale: str) -> list[list[str]]:
    del locale  # the catalogs are set by the fixture
    data = views.csv_bytes(REPORT)
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_the_csv_opens_with_the_csv_module(locale: str) -> None:
    rows = _rows(locale)
    assert all(len(row) == 5 for row in rows)
    header, *figures = rows
    assert len(header) == 5
    # Six funnel steps, 2 + 2 x 2 rows for the group, 4 per broadcast, 7 per action kind,
    # 2 per topic, 4 per Stadtteil.
    assert len(figures) == 6 + 6 + 4 + 7 + 2 + 8
    values = [row[4] for row in figures]
    # 2 and 1 people masked, 0 shown; the funnel in order.
    assert values[:6] == ["40", "30", "20", "< 3", "< 3", "0"]
    # The delimiter inside an organiser's text is quoted, not a new field.
    assert "2026-02-01 Sommerfest; <b>" in {row[1] for row in figures}


def test_people_are_masked_things_are_not(locale: str) -> None:
    english = locale == "en"
    rows = {(row[0], row[1], row[2], row[3]): row[4] for row in _rows(locale)[1:]}
    groups, actions = ("Groups", "Field actions") if english else ("Gruppen", "Aktionen")
    meetings, attendees = (
        ("meetings", "attendees incl. guests")
        if english
        else ("Treffen", "Teilnehmende mit Gästen")
    )
    name = "Stammtisch <Mitte>"
    assert rows[(groups, name, "2026-01", meetings)] == "2"  # meetings: no one singled out
    assert rows[(groups, name, "2026-01", attendees)] == "< 3"
    assert rows[(groups, name, "2026-02", attendees)] == "9"
    stand = "Info stands" if english else "Infostände"
    assert rows[(actions, stand, "", "leaflets" if english else "Flyer")] == "2"
    assert rows[(actions, stand, "", "contacts" if english else "Kontakte")] == "< 3"


def test_the_summary_is_valid_html_with_names_escaped(locale: str) -> None:
    text = views.summary(REPORT)
    parsed = parse_html(text)
    assert parsed.fatal is None, parsed
    assert "KV &lt;Süd&gt; &amp; Umland" in text
    assert "Stammtisch &lt;Mitte&gt;" in text
    assert "Miete &amp; Wohnen" in text
    # The broadcast's own summary is not in the message (it is in the CSV).
    assert "Sommerfest" not in text
    visible = parsed.text
    assert "KV <Süd> & Umland" in visible
    assert "< 3" in visible
    assert len(visible) < 4096


def test_file_names(locale: str) -> None:
    expected = "report-2026-H1.pdf" if locale == "en" else "bericht-2026-H1.pdf"
    assert views.file_name(REPORT, "pdf") == expected


@pytest.mark.parametrize("reason", ["unreadable", "end_before_start", "in_future", "too_long"])
def test_every_refusal_has_its_words(locale: str, reason: str) -> None:
    text = views.period_problem(reason)
    assert parse_html(text).fatal is None
    assert "1.1.2026-30.6.2026" in text
