"""Charts and the printable document: valid files of phone size, the "< 3" drawing, threads."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from bot.services import charts, printable
from bot.services.charts import Bar, Panel, Row, Series, Value

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _image(data: bytes) -> Image.Image:
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    image.verify()
    return Image.open(io.BytesIO(data))


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


BARS = [
    Bar("Joined a KV group", 1240, "1,240"),
    Bar("Finished the questions", 150, "150"),
    Bar("Came to a first meeting", 3, "< 3", small=True),
]


def test_a_bar_chart_is_a_png_a_phone_shows_well() -> None:
    data = charts.bar_chart("From joining to taking part", "KV Test · Jul 1 – Dec 31, 2026", BARS)
    image = _image(data)
    width, height = image.size
    assert width == charts.WIDTH_INCHES * charts.DPI  # 1080 px: a phone's width
    assert 300 <= height <= 2600
    assert 10_000 <= len(data) <= 1_000_000


def test_bar_chart_keeps_the_signature_other_features_call() -> None:
    by_keyword = charts.bar_chart(title="Survey", subtitle="KV Test · 2026", bars=BARS[:2])
    assert by_keyword == charts.bar_chart("Survey", "KV Test · 2026", BARS[:2])


def _figure_of(chart: charts.Chart) -> object:
    """Draw the chart's body into a figure of its own, for looking at what matplotlib got."""
    width = 6.6
    height = chart.body.height(width)
    fig = charts.new_figure(width, height)
    chart.body.draw(fig, charts.Box(0, 0, width, height))
    return fig


def test_a_small_count_is_pale_hatched_and_as_long_as_the_caller_says() -> None:
    fig = _figure_of(charts.chart_bars("t", "s", BARS))
    (ax,) = fig.axes  # type: ignore[attr-defined]
    patches = ax.patches
    assert [patch.get_hatch() for patch in patches] == [None, None, charts.SMALL_HATCH]
    # Its length is the fixed one the view passes (3), raised only to the floor every bar gets.
    limit = ax.get_xlim()[1]
    assert patches[2].get_width() == pytest.approx(max(3, limit * 0.012))
    assert [text.get_text() for text in ax.texts] == ["1,240", "150", "< 3"]


def test_the_small_note_appears_only_when_something_is_masked() -> None:
    note = "< 3: fewer than three"
    with_small = charts.chart_bars("t", "s", BARS, notes=["A note."], small_note=note)
    without = charts.chart_bars("t", "s", BARS[:2], notes=["A note."], small_note=note)
    assert with_small.footnotes() == ["A note.", note]
    assert without.footnotes() == ["A note."]


def test_an_empty_chart_says_so_instead_of_drawing_empty_axes() -> None:
    chart = charts.chart_bars("Nothing", "KV Test · 2026", [], empty_text="No data in this period.")
    _image(charts.png(chart))
    fig = charts.new_figure(6, 2)
    charts.draw_body(fig, chart, charts.Box(0, 0, 6, 2))
    assert not fig.axes
    assert [text.get_text() for text in fig.texts] == ["No data in this period."]


def test_stacked_rows_put_texts_that_do_not_fit_after_the_bar() -> None:
    rows = [Row("Sommerfest", [Value(213, "213"), Value(3, "< 3", small=True), Value(25, "25")])]
    chart = charts.chart_rows(
        "t", "s", ["Delivered", "Unreachable", "Opted out"], rows, stacked=True
    )
    fig = _figure_of(chart)
    ax = fig.axes[0]  # type: ignore[attr-defined]
    assert [patch.get_hatch() for patch in ax.patches] == [None, charts.SMALL_HATCH, None]
    assert sorted(text.get_text() for text in ax.texts) == ["213", "25", "< 3"]
    _image(charts.png(chart))


def test_grouped_rows_draw_one_bar_per_series_with_its_text() -> None:
    rows = [
        Row("Lindenau", [Value(120, "120"), Value(14, "14")]),
        Row("Grünau", [Value(60, "60"), Value(3, "< 3", small=True)]),
    ]
    chart = charts.chart_rows("t", "s", ["Members", "Newcomers"], rows, stacked=False)
    ax = _figure_of(chart).axes[0]  # type: ignore[attr-defined]
    assert len(ax.patches) == 4
    assert [text.get_text() for text in ax.texts] == ["120", "14", "60", "< 3"]


def test_a_small_count_in_a_line_is_a_hollow_marker() -> None:
    series = [Series("Stammtisch", [Value(14, "14"), Value(3, "< 3", small=True), Value(9, "9")])]
    chart = charts.chart_months("t", "s", ["Jul", "Aug", "Sep"], series, number_format=str)
    ax = _figure_of(chart).axes[0]  # type: ignore[attr-defined]
    markers = [line for line in ax.lines if line.get_marker() == "o"]
    assert [line.get_markerfacecolor() for line in markers].count("white") == 1
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["Jul", "Aug", "Sep"]
    _image(charts.png(chart))


def test_panels_give_each_figure_its_own_scale() -> None:
    chart = charts.chart_panels(
        "Results",
        "s",
        [
            Panel("Conversations", [Bar("Infostand", 230, "230")]),
            Panel("Leaflets", [Bar("Infostand", 4200, "4,200")]),
            Panel("Contacts", []),
        ],
    )
    fig = _figure_of(chart)
    assert len(fig.axes) == 2  # type: ignore[attr-defined]
    assert [ax.patches[0].get_width() for ax in fig.axes] == [230, 4200]  # type: ignore[attr-defined]


def test_long_labels_are_cut_with_an_ellipsis() -> None:
    assert charts.truncate("AG Umwelt und Verkehrswende", 12) == "AG Umwelt u…"
    assert charts.truncate("Kurz", 12) == "Kurz"
    label = charts.fit_label("AG Umwelt und Verkehrswende in der Stadt Leipzig und Umgebung", 20)
    first, second = label.split("\n")
    assert len(first) <= 20
    assert len(second) <= 20
    assert second.endswith("…")


def _document(title: str, rows: int) -> printable.Document:
    table = printable.Table(["Group", "Members"], [[f"Group {i}", str(i + 3)] for i in range(rows)])
    return printable.Document(
        title=title,
        subtitle="Jul 1 – Dec 31, 2026",
        footer=f"{title} · Jul 1 – Dec 31, 2026",
        page_label="Page {page} of {pages}",
        sections=[
            printable.Section("Key figures", ["A paragraph that says what follows."], table),
            printable.Section("Funnel", charts=[charts.chart_bars("Funnel", "s", BARS)]),
        ],
    )


def test_a_document_is_an_a4_pdf_whose_long_tables_go_on_over_pages() -> None:
    short = printable.printable(_document("KV Test", 5))
    long = printable.printable(_document("KV Test", 120))
    assert short.startswith(b"%PDF")
    assert _pages(short) == 2  # the second section starts a page of its own
    assert _pages(long) > _pages(short)
    assert 5_000 <= len(long) <= 2_000_000
    pages = printable.page_images(_document("KV Test", 5))
    assert len(pages) == 2
    assert _image(pages[0]).size == (int(printable.A4[0] * 80), int(printable.A4[1] * 80))
    assert re.search(rb"/MediaBox\s*\[\s*0 0 595\.4\d* 841\.6\d*\s*\]", short)


def test_the_old_table_pages_and_images_still_make_a_pdf() -> None:
    page = printable.TablePage("Report", "KV Test", ["Step", "People"], [["Joined", "12"]])
    pdf = printable.pdf_document([page], [charts.bar_chart("t", "s", BARS)])
    assert pdf.startswith(b"%PDF")
    assert _pages(pdf) == 2


def test_two_charts_drawn_at_once_in_threads_do_not_mix() -> None:
    first = charts.chart_bars("First", "KV Eins", BARS)
    second = charts.chart_rows(
        "Second", "KV Zwei", ["A", "B"], [Row("x", [Value(5, "5"), Value(7, "7")])], stacked=True
    )
    expected = [charts.png(first), charts.png(second)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _round in range(3):
            got = list(pool.map(charts.png, [first, second]))
            assert got == expected


def test_the_drawing_modules_import_matplotlib_only_when_drawing() -> None:
    # In a process of its own: the test run itself has imported matplotlib long ago. The
    # handler imports these modules at start-up; matplotlib, numpy and Pillow cost idle RSS.
    script = (
        "import sys\n"
        "import bot.app, bot.services.charts, bot.services.printable\n"
        "import bot.telegram.views.report_files\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'numpy', 'PIL'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
