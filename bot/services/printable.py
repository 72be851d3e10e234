"""A printable A4 document: a title, sections of paragraphs, tables and charts, page numbers.

Pure drawing like bot/services/charts.py, whose chart bodies it draws onto the page (vector,
not pictures). Sections flow down pages; a long table goes on over the page with its header
repeated; every page carries a footer and "page n of m". Only matplotlib's object API (Figure,
PdfPages), so two documents rendered at once in threads don't mix.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.services.charts import (
    INK,
    LABEL_SIZE,
    MUTED,
    NOTE_SIZE,
    RULE,
    SUBTITLE_SIZE,
    TITLE_SIZE,
    Box,
    Chart,
    body_height,
    draw_body,
    fig_text,
    fits_chars,
    new_figure,
    text_width,
    truncate,
    wrap,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

A4 = (8.27, 11.69)


@dataclass(frozen=True, slots=True)
class Table:
    """A table of already formatted cells: `text_columns` of text, then figures (right-aligned).

    `weights` are the columns' relative widths (default: the first three times the others).
    """

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    weights: Sequence[float] | None = None
    text_columns: int = 1


@dataclass(frozen=True, slots=True)
class Section:
    """A part of the document: a heading, paragraphs, a table and charts, in that order.

    `new_page`: the section starts on a page of its own (short ones may follow on).
    """

    title: str
    paragraphs: Sequence[str] = ()
    table: Table | None = None
    charts: Sequence[Chart] = ()
    new_page: bool = True


@dataclass(frozen=True, slots=True)
class Document:
    """A printable A4 document; `page_label` holds "{page}" and "{pages}"."""

    title: str
    subtitle: str
    footer: str
    page_label: str
    sections: Sequence[Section]


MARGIN_X = 0.8
MARGIN_TOP = 0.8
MARGIN_BOTTOM = 1.0
TEXT_SIZE = 10.5
CELL_SIZE = 9.5
TABLE_ROW = 0.27

_Draw = Callable[["Figure", float], None]


@dataclass(slots=True)
class _Layout:
    """Flows items down A4 pages: each item a height and a drawing at a given top."""

    pages: list[list[tuple[float, _Draw]]] = field(default_factory=lambda: [[]])
    top: float = A4[1] - MARGIN_TOP

    @property
    def room(self) -> float:
        return self.top - MARGIN_BOTTOM

    def new_page(self) -> None:
        if self.pages[-1]:
            self.pages.append([])
        self.top = A4[1] - MARGIN_TOP

    def place(self, height: float, draw: _Draw, *, keep: float = 0.0) -> None:
        """Put an item of `height` at the current top, on a new page if it doesn't fit."""
        if height + keep > self.room and self.pages[-1]:
            self.new_page()
        self.pages[-1].append((self.top, draw))
        self.top -= height

    def space(self, height: float) -> None:
        self.top -= height


def _text_item(text: str, size: float, **style: object) -> _Draw:
    def draw(fig: Figure, top: float) -> None:
        fig_text(fig, MARGIN_X, top, text, fontsize=size, **style)

    return draw


def _prose(text: str, width: float, size: float, bold: bool) -> list[str]:
    """Running text in lines: mixed-case prose averages about half an em a character (bold a
    little more), narrower than the worst case labels are measured with."""
    average = 0.6 if bold else 0.54
    return textwrap.wrap(text, max(8, int(width * 72 / (size * average)))) or [""]


def _paragraph(
    layout: _Layout, text: str, size: float = TEXT_SIZE, *, keep: float = 0.0, **style: object
) -> None:
    """A paragraph, kept whole on one page and with `keep` inches of what follows it."""
    line = size * 1.45 / 72
    lines = _prose(text, A4[0] - 2 * MARGIN_X, size, style.get("fontweight") == "bold")

    def draw(fig: Figure, top: float) -> None:
        for index, wrapped in enumerate(lines):
            _text_item(wrapped, size, **style)(fig, top - index * line)

    layout.place(line * len(lines), draw, keep=keep)
    layout.space(line * 0.4)


def _columns(table: Table, width: float) -> list[float]:
    count = len(table.header)
    weights = list(table.weights or [3.0] + [1.0] * (count - 1))
    total = sum(weights)
    return [width * weight / total for weight in weights]


def _rule(fig: Figure, y: float, x0: float, x1: float, colour: str = INK) -> None:
    from matplotlib.lines import Line2D  # noqa: PLC0415

    width, height = fig.get_size_inches()
    fig.add_artist(
        Line2D(
            [x0 / width, x1 / width],
            [y / height, y / height],
            transform=fig.transFigure,
            color=colour,
            linewidth=0.8,
        )
    )


def _cell_x(x: float, column: float, is_text: bool) -> tuple[float, str]:
    return (x + 0.06, "left") if is_text else (x + column - 0.06, "right")


def _table_row(table: Table, cells: Sequence[str], widths: Sequence[float], shaded: bool) -> _Draw:
    def draw(fig: Figure, top: float) -> None:
        from matplotlib.patches import Rectangle  # noqa: PLC0415

        width, height = fig.get_size_inches()
        if shaded:
            fig.add_artist(
                Rectangle(
                    (MARGIN_X / width, (top - TABLE_ROW) / height),
                    sum(widths) / width,
                    TABLE_ROW / height,
                    transform=fig.transFigure,
                    facecolor="#f2f4f7",
                    edgecolor="none",
                )
            )
        x = MARGIN_X
        for index, (cell, column) in enumerate(zip(cells, widths, strict=True)):
            at, align = _cell_x(x, column, index < table.text_columns)
            fig_text(
                fig,
                at,
                top - TABLE_ROW / 2,
                truncate(cell, fits_chars(column - 0.12, CELL_SIZE)),
                fontsize=CELL_SIZE,
                va="center",
                ha=align,
            )
            x += column

    return draw


def _header_size(table: Table, widths: Sequence[float]) -> float:
    """One font size for the header row: the largest at which every word fits its column.

    Bold capitals are wide, so a character is measured at 0.7 em to be safe.
    """
    sizes = [
        (column - 0.12) * 72 / (max((len(word) for word in cell.split()), default=1) * 0.7)
        for cell, column in zip(table.header, widths, strict=True)
    ]
    return max(6.5, min([CELL_SIZE, *sizes]))


def _table_header(table: Table, widths: Sequence[float]) -> tuple[float, _Draw]:
    """The header row; its cells wrap at spaces (a long translated header) rather than being cut."""
    size = _header_size(table, widths)
    cells = [
        textwrap.wrap(
            cell, max(4, int((column - 0.12) * 72 / (size * 0.7))), break_long_words=False
        )
        or [""]
        for cell, column in zip(table.header, widths, strict=True)
    ]
    line = size * 1.2 * 1.2 / 72
    height = max(TABLE_ROW, max(len(lines) for lines in cells) * line + 0.12)

    def draw(fig: Figure, top: float) -> None:
        x = MARGIN_X
        for index, (lines, column) in enumerate(zip(cells, widths, strict=True)):
            at, align = _cell_x(x, column, index < table.text_columns)
            # Bottom-aligned: one-line headers sit on the rule like the last line of two.
            fig_text(
                fig,
                at,
                top - height + 0.06,
                "\n".join(lines),
                fontsize=size,
                va="bottom",
                ha=align,
                multialignment=align,
                fontweight="bold",
                linespacing=1.2,
            )
            x += column
        _rule(fig, top - height, MARGIN_X, MARGIN_X + sum(widths))

    return height, draw


def _table(layout: _Layout, table: Table) -> None:
    widths = _columns(table, A4[0] - 2 * MARGIN_X)
    height, header = _table_header(table, widths)
    layout.place(height, header, keep=TABLE_ROW * 2)
    for index, row in enumerate(table.rows):
        if layout.room < TABLE_ROW:
            # The table goes on over the page: its header again on top.
            layout.new_page()
            layout.place(height, header)
        layout.place(TABLE_ROW, _table_row(table, row, widths, shaded=index % 2 == 1))
    layout.space(0.25)


def _chart_item(chart: Chart, width: float, body: float) -> _Draw:
    def draw(fig: Figure, top: float) -> None:
        fig_text(fig, MARGIN_X, top, chart.title, fontsize=LABEL_SIZE + 1, fontweight="bold")
        draw_body(fig, chart, Box(MARGIN_X, top - 0.4 - body, width, body))
        y = top - 0.4 - body - 0.1
        for note in chart.footnotes():
            for line in wrap(note, width, NOTE_SIZE):
                fig_text(fig, MARGIN_X, y, line, fontsize=NOTE_SIZE, color=MUTED)
                y -= 0.19

    return draw


def _chart(layout: _Layout, chart: Chart) -> None:
    width = A4[0] - 2 * MARGIN_X
    # A chart taller than a page is squeezed onto one (a printed page can't scroll).
    usable = A4[1] - MARGIN_TOP - MARGIN_BOTTOM
    notes = sum(len(wrap(note, width, NOTE_SIZE)) for note in chart.footnotes()) * 0.19
    body = min(body_height(chart, width), usable - 0.6 - notes)
    layout.place(0.4 + body + 0.15 + notes, _chart_item(chart, width, body))


def _footer(document: Document, page: int, pages: int) -> _Draw:
    def draw(fig: Figure, _top: float) -> None:
        width, _height = fig.get_size_inches()
        y = MARGIN_BOTTOM - 0.45
        _rule(fig, y + 0.12, MARGIN_X, width - MARGIN_X, RULE)
        label = document.page_label.format(page=page, pages=pages)
        room = width - 2 * MARGIN_X - text_width(label, NOTE_SIZE) - 0.3
        footer = truncate(document.footer, fits_chars(room, NOTE_SIZE))
        fig_text(fig, MARGIN_X, y, footer, fontsize=NOTE_SIZE, color=MUTED)
        fig_text(fig, width - MARGIN_X, y, label, fontsize=NOTE_SIZE, color=MUTED, ha="right")

    return draw


def _layout(document: Document) -> _Layout:
    layout = _Layout()
    _paragraph(layout, document.title, TITLE_SIZE + 5, fontweight="bold")
    _paragraph(layout, document.subtitle, SUBTITLE_SIZE + 1, color=MUTED)
    layout.space(0.2)
    for index, section in enumerate(document.sections):
        if section.new_page and index > 0:
            layout.new_page()
        # A heading never ends a page: it keeps an inch of its section with it.
        _paragraph(layout, section.title, TITLE_SIZE, keep=1.0, fontweight="bold")
        for text in section.paragraphs:
            _paragraph(layout, text)
        if section.table is not None:
            _table(layout, section.table)
        for chart in section.charts:
            _chart(layout, chart)
        layout.space(0.2)
    return layout


def _render(pages: Sequence[Sequence[tuple[float, _Draw]]]) -> bytes:
    from matplotlib.backends.backend_pdf import PdfPages  # noqa: PLC0415

    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Creator": "Mitmachbot"}) as pdf:
        for page in pages:
            fig = new_figure(*A4)
            for top, draw in page:
                draw(fig, top)
            pdf.savefig(fig)
    return buffer.getvalue()


def printable(document: Document) -> bytes:
    """The document as an A4 PDF: sections flowing over pages, a footer and page numbers."""
    return _render(_pages(document))


def _pages(document: Document) -> list[list[tuple[float, _Draw]]]:
    pages = _layout(document).pages
    return [
        [*page, (0.0, _footer(document, number, len(pages)))]
        for number, page in enumerate(pages, start=1)
    ]


def page_images(document: Document) -> list[bytes]:
    """The document's pages as PNG images: what `printable` prints, to look at on a screen."""
    images = []
    for page in _pages(document):
        fig = new_figure(*A4)
        for top, draw in page:
            draw(fig, top)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80, facecolor="white")
        images.append(buffer.getvalue())
    return images


@dataclass(frozen=True, slots=True)
class TablePage:
    """A printed page: a heading, a line under it, and a table of already formatted cells."""

    title: str
    subtitle: str
    header: Sequence[str]
    rows: Sequence[Sequence[str]]


def pdf_document(pages: Sequence[TablePage], images: Sequence[bytes]) -> bytes:
    """An A4 PDF: the table pages first, then one page per PNG image."""
    from matplotlib.image import imread  # noqa: PLC0415

    def image_page(image: bytes) -> _Draw:
        def draw(fig: Figure, _top: float) -> None:
            ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
            ax.imshow(imread(io.BytesIO(image), format="png"))
            ax.axis("off")

        return draw

    flowed: list[list[tuple[float, _Draw]]] = []
    for page in pages:
        layout = _Layout()
        _paragraph(layout, page.title, TITLE_SIZE, fontweight="bold")
        _paragraph(layout, page.subtitle, SUBTITLE_SIZE, color=MUTED)
        _table(layout, Table(page.header, page.rows))
        flowed.extend(layout.pages)
    flowed.extend([[(0.0, image_page(image))] for image in images])
    return _render(flowed)
