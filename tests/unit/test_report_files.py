"""A report as files: every chart names the KV and the period, "< 3" everywhere, PDF pages."""

from __future__ import annotations

import dataclasses
import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.utils.i18n import I18n
from PIL import Image

from bot.i18n import create_i18n
from bot.services import charts
from bot.services.reports.model import (
    SMALL_COUNT,
    SMALL_LABEL,
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
from bot.telegram.views import report_files

BERLIN = ZoneInfo("Europe/Berlin")
MONTHS = [date(2026, month, 1) for month in range(7, 13)]
LONG_NAME = "AG Umwelt und Verkehrswende in der Stadt Leipzig und im Umland"
ALL_CHARTS = [
    "funnel.png",
    "groups_attendance.png",
    "broadcasts_reach.png",
    "field_actions_shifts.png",
    "field_actions_results.png",
    "topics.png",
    "stadtteile.png",
]


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


def _group(index: int, name: str) -> GroupFigures:
    # Group 3 had one or two people in September: a small count in a line.
    return GroupFigures(
        name=name,
        kind=("stammtisch", "basisgruppe", "ag")[index % 3],
        district="Lindenau",
        members=20 - index * 2,
        joined=index % 3,  # 0, 1, 2: small counts in the table
        months=tuple(
            GroupMonth(month, 2, 2 if index == 3 and month.month == 9 else 14 - index + column)
            for column, month in enumerate(MONTHS)
        ),
    )


def rich(kv_name: str = "KV Leipzig", first_meeting: int = 2) -> Report:
    """A half-year with something in every part and small counts in every part."""
    names = ["Stammtisch Lindenau", "Basisgruppe Connewitz", LONG_NAME, "Stammtisch Plagwitz"]
    names += ["Basisgruppe Grünau", "AG Bildung", "Stammtisch Gohlis", "AG Frieden"]
    broadcasts = tuple(
        BroadcastFigures(
            sent_at=datetime(2026, 7 + number // 3, 1 + 7 * (number % 3), 16, tzinfo=UTC),
            summary=f"Rundschreiben {number}",
            category="announcements",
            total=240,
            delivered=220 - number,
            unreachable=2 if number % 2 else 15,
            opted_out=1 if number % 3 == 0 else 5,
        )
        for number in range(14)
    )
    topics = [("Mieten", 120, 40), ("Verkehr", 45, 30), ("Bildung", 2, 12), ("Frieden", 30, 1)]
    topics += [(f"Thema {number}", number + 3, number) for number in range(12)]
    districts = [("Lindenau", 120, 14, 40, 30), ("Grünau", 60, 2, 10, 6), ("Gohlis", 40, 3, 8, 1)]
    districts += [(f"Stadtteil {number}", 10 + number, 1, 2, 0) for number in range(8)]
    return Report(
        kv_name=kv_name,
        period=Period(PeriodKind.HALF_YEAR, date(2026, 7, 1), date(2026, 12, 31)),
        generated_at=datetime(2026, 12, 31, 18, 30, tzinfo=BERLIN),
        funnel=(
            FunnelStep(FunnelStage.JOINED_CHAT, 1240),
            FunnelStep(FunnelStage.OPENED_CHAT, 312),
            FunnelStep(FunnelStage.CONSENTED, 201),
            FunnelStep(FunnelStage.FINISHED_INTAKE, 150),
            FunnelStep(FunnelStage.JOINED_GROUP, 48),
            FunnelStep(FunnelStage.FIRST_MEETING, first_meeting),
        ),
        groups=tuple(_group(index, name) for index, name in enumerate(names)),
        broadcasts=broadcasts,
        actions=(
            ActionKindFigures("infostand", 14, 40, 31, 95, 230, 4200, 18),
            ActionKindFigures("door_to_door", 6, 12, 10, 30, 410, 800, 1),
        ),
        topics=tuple(TopicMentions(*topic) for topic in topics),
        districts=tuple(DistrictFigures(*district) for district in districts),
    )


def empty() -> Report:
    return Report(
        kv_name="KV Leipzig",
        period=Period(PeriodKind.LAST_30_DAYS, date(2026, 11, 2), date(2026, 12, 1)),
        generated_at=datetime(2026, 12, 1, 9, tzinfo=BERLIN),
        funnel=tuple(FunnelStep(stage, 0) for stage in FunnelStage),
    )


def _figures(chart: charts.Chart) -> list[charts.Bar | charts.Value]:
    """Every figure a chart hands to matplotlib."""
    return chart.body.figures()


def _check_png(data: bytes) -> None:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    assert width == 1080
    assert 300 <= height <= 2600
    assert 10_000 <= len(data) <= 1_000_000


def _plain(text: str) -> str:
    """Babel's date ranges use thin spaces around the dash."""
    return text.replace("\u2009", " ")


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


@pytest.mark.parametrize("locale", ["de", "en"])
def test_a_full_report_gives_every_chart_as_a_png_for_a_phone(i18n: I18n, locale: str) -> None:
    with i18n.context(), i18n.use_locale(locale):
        files = report_files.charts(rich())
    assert [name for name, _png in files] == ALL_CHARTS
    for name, data in files:
        assert name.isascii()
        _check_png(data)


def test_an_empty_report_gives_the_funnel_alone(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("de"):
        files = report_files.charts(empty())
        (funnel,) = report_files.report_charts(empty())
    assert [name for name, _png in files] == ["funnel.png"]
    _check_png(files[0][1])
    assert [bar.text for bar in _figures(funnel[1])] == ["0"] * len(FunnelStage)
    assert funnel[1].footnotes()[-1] == "Keine Daten in diesem Zeitraum."


def test_dates_are_the_kvs_dates(i18n: I18n) -> None:
    # 23:30 UTC on 31 August is 1 September in Berlin.
    late = BroadcastFigures(
        datetime(2026, 8, 31, 23, 30, tzinfo=UTC), "Spät", "reminders", 9, 9, 0, 0
    )
    in_utc = dataclasses.replace(
        rich(), generated_at=datetime(2026, 12, 31, 17, 30, tzinfo=UTC), broadcasts=(late,)
    )
    with i18n.context(), i18n.use_locale("de"):
        (row,) = dict(report_files.report_charts(in_utc))["broadcasts_reach.png"].body.rows
        (zoned,) = dict(report_files.report_charts(dataclasses.replace(in_utc, zone=BERLIN)))[
            "broadcasts_reach.png"
        ].body.rows
    assert row.label == "31. Aug. Spät"
    assert zoned.label == "1. Sept. Spät"


def test_every_chart_names_the_kv_and_the_period(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("de"):
        drawn = report_files.report_charts(rich())
    assert len(drawn) == len(ALL_CHARTS)
    for _name, chart in drawn:
        assert chart.title
        assert _plain(chart.subtitle) == "KV Leipzig · 1. Juli – 31. Dez. 2026"
    with i18n.context(), i18n.use_locale("en"):
        drawn = report_files.report_charts(rich())
    subtitles = {_plain(chart.subtitle) for _name, chart in drawn}
    # English in a German KV: English words, the region's order of day and month (en_DE).
    assert subtitles == {"KV Leipzig · 1 Jul – 31 Dec 2026"}


def test_no_chart_reveals_a_count_of_one_or_two(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("de"):
        drawn = report_files.report_charts(rich())
    small = 0
    for name, chart in drawn:
        for figure in _figures(chart):
            if figure.small:
                small += 1
                assert (figure.value, figure.text) == (SMALL_COUNT, SMALL_LABEL), name
            else:
                assert figure.value not in (1, 2), name
                assert figure.text not in ("1", "2"), name
        assert any(figure.small for figure in _figures(chart)), f"{name} has no small count"
        assert any("< 3" in note for note in chart.footnotes()), name
    assert small > 10


def _funnel_png(first_meeting: int) -> bytes:
    (name, chart), *_rest = report_files.report_charts(rich(first_meeting=first_meeting))
    assert name == "funnel.png"
    return charts.png(chart)


def test_one_and_two_give_the_same_picture(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("de"):
        one, two, three = _funnel_png(1), _funnel_png(2), _funnel_png(3)
    assert one == two
    assert one != three


def test_large_sections_are_cut_to_a_phone_with_the_rest_summed(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("en"):
        drawn = dict(report_files.report_charts(rich()))
    groups = drawn["groups_attendance.png"]
    assert len(groups.body.series) == charts.MAX_SERIES  # type: ignore[attr-defined]
    assert "2 smaller groups are not shown." in groups.notes
    reach = drawn["broadcasts_reach.png"].body.rows  # type: ignore[attr-defined]
    assert len(reach) == charts.MAX_BARS
    assert reach[-1].label == "3 earlier broadcasts"
    topics = drawn["topics.png"].body.rows  # type: ignore[attr-defined]
    assert len(topics) == charts.MAX_BARS
    assert topics[-1].label == "Other topics"
    districts = drawn["stadtteile.png"].body.rows  # type: ignore[attr-defined]
    assert districts[-1].label == "4 other Stadtteile"
    # Stadtteil 0 to 3 (10-13 members) are summed: 46 members, 4 newcomers, 8 in groups.
    assert [value.text for value in districts[-1].values] == ["46", "4", "8", "0"]


def test_the_pdf_is_a_printable_report_in_german_and_english(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("de"):
        german = report_files.pdf(rich())
        document = report_files.document(rich())
    with i18n.context(), i18n.use_locale("en"):
        english = report_files.pdf(rich())
        english_document = report_files.document(rich())
    for data in (german, english):
        assert data.startswith(b"%PDF")
        assert 30_000 <= len(data) <= 3_000_000
        assert 8 <= _pages(data) <= 20
    assert document.title == "Bericht des KV Leipzig"
    assert english_document.title == "Report of KV Leipzig"
    assert _plain(document.footer) == "KV Leipzig · 1. Juli – 31. Dez. 2026"
    assert document.page_label.format(page=2, pages=9) == "Seite 2 von 9"
    titles = [section.title for section in document.sections]
    assert titles[:2] == ["Kennzahlen", "So liest du diesen Bericht"]
    assert "Stadtteile im Vergleich" in titles
    reading = " ".join(document.sections[1].paragraphs)
    assert "< 3" in reading
    assert "Zum ersten Treffen gekommen" in reading


def test_no_table_in_the_pdf_reveals_a_count_of_one_or_two(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("de"):
        document = report_files.document(rich())
    cells = [
        cell
        for section in document.sections
        if section.table is not None
        for row in section.table.rows
        for cell in row
    ]
    assert SMALL_LABEL in cells
    assert not {"1", "2"} & set(cells)
    # The PDF's charts get the figures the chat's do.
    drawn = [chart for section in document.sections for chart in section.charts]
    assert len(drawn) == len(ALL_CHARTS)
    for figure in (figure for chart in drawn for figure in _figures(chart)):
        assert figure.value not in (1, 2)
        assert figure.text not in ("1", "2")
    groups = next(section for section in document.sections if section.title == "Gruppen")
    assert groups.table is not None
    assert LONG_NAME in [row[0] for row in groups.table.rows]  # cut only when drawn


def test_an_empty_report_still_prints_every_part(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("de"):
        document = report_files.document(empty())
        data = report_files.pdf(empty())
    assert data.startswith(b"%PDF")
    assert 1 <= _pages(data) <= 4
    said = [s.title for s in document.sections if s.paragraphs == ["Nichts in diesem Zeitraum."]]
    parts = ["Gruppen", "Rundschreiben", "Aktionen", "Angesprochene Themen"]
    assert said == [*parts, "Stadtteile im Vergleich"]
    funnel = document.sections[2]
    assert funnel.table is not None
    assert len(funnel.charts) == 1


def test_two_reports_rendered_at_once_in_threads_are_each_right(i18n: I18n) -> None:
    reports = [rich("KV Nord"), dataclasses.replace(rich("KV Süd"), groups=())]

    def render(report: Report) -> tuple[list[tuple[str, bytes]], bytes]:
        with i18n.context(), i18n.use_locale("de"):
            return report_files.charts(report), report_files.pdf(report)

    expected = [render(report) for report in reports]
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(render, reports))
    for (charts_got, pdf_got), (charts_expected, pdf_expected) in zip(got, expected, strict=True):
        assert charts_got == charts_expected
        assert _pages(pdf_got) == _pages(pdf_expected)
    assert "groups_attendance.png" not in [name for name, _png in got[1][0]]
