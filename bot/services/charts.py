"""Charts as PNG for a phone screen (and as bodies bot/services/printable.py draws on A4).

Pure drawing: every text arrives translated and every small count already masked by the caller
(a `Bar` or `Value` with `small=True` carries the masked text, e.g. "< 3", and a fixed length);
nothing here reads the database or knows a member.

matplotlib is imported on first use: it costs tens of MB the idle bot should not pay. Only its
object-oriented API is used (a `Figure` with its own Agg canvas, never pyplot's global figure
list), so two reports rendered at once in worker threads do not draw into each other.

Layout is computed in inches rather than left to matplotlib: a chart is as tall as its rows
need, its labels are wrapped or cut to the room they have, and the same chart body draws into
a phone-sized PNG and into a region of an A4 page.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Portrait, a phone's width at 150 dpi (1080 px).
WIDTH_INCHES = 7.2
DPI = 150

# Okabe & Ito's palette: told apart with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
INK = "#1f1f1f"
MUTED = "#5f5f5f"
RULE = "#d0d0d0"
FONT_FAMILY = "DejaVu Sans"

# At most this many bars (or rows) and series per chart; callers sum the rest as "other".
MAX_BARS = 12
MAX_SERIES = 6

SMALL_HATCH = "////"
ELLIPSIS = "…"

TITLE_SIZE = 17.0
SUBTITLE_SIZE = 11.5
LABEL_SIZE = 12.0
VALUE_SIZE = 11.0
NOTE_SIZE = 9.5


def text_width(text: str, size: float) -> float:
    """A generous estimate of a text's width in inches (DejaVu Sans is wide)."""
    return len(text) * size * 0.6 / 72


def fits_chars(width: float, size: float) -> int:
    """How many characters fit into `width` inches at font `size` (estimated generously)."""
    return max(4, int(width * 72 / (size * 0.6)))


def truncate(text: str, max_chars: int) -> str:
    """The text cut to `max_chars` characters, an ellipsis marking a cut."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    return text[: max(1, max_chars - 1)].rstrip() + ELLIPSIS


def wrap(text: str, width: float, size: float) -> list[str]:
    """The text broken into lines that fit `width` inches at font `size`."""
    return textwrap.wrap(text, fits_chars(width, size), break_long_words=True) or [""]


def _pale(colour: str, amount: float = 0.7) -> tuple[float, float, float]:
    """The colour mixed with white: a small count's bar is a pale, hatched shape."""
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return (
        red + (1 - red) * amount,
        green + (1 - green) * amount,
        blue + (1 - blue) * amount,
    )


def _dark(colour: str, amount: float = 0.35) -> tuple[float, float, float]:
    """The colour darkened, for text in that colour on white."""
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return (red * (1 - amount), green * (1 - amount), blue * (1 - amount))


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, its length and the text beside it.

    A small count (`small=True`) is drawn pale and hatched at the length the caller gives (the
    same for every small count, so the length reveals nothing) with its masked text, e.g. "< 3".
    """

    label: str
    value: float
    text: str
    small: bool = False


@dataclass(frozen=True, slots=True)
class Value:
    """One figure of a series in a row or a month: length, text, and whether it is masked."""

    value: float
    text: str
    small: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    """A row of grouped or stacked bars: one `Value` per series, in the series' order."""

    label: str
    values: Sequence[Value]


@dataclass(frozen=True, slots=True)
class Series:
    """A line over the months: one `Value` per month, in the months' order."""

    name: str
    values: Sequence[Value]


@dataclass(frozen=True, slots=True)
class Panel:
    """One of several small bar charts under each other, each with its own scale."""

    title: str
    bars: Sequence[Bar]


@dataclass(frozen=True, slots=True)
class Box:
    """A region of a figure in inches from its bottom-left corner."""

    left: float
    bottom: float
    width: float
    height: float


def _axes(fig: Figure, box: Box) -> Axes:
    width, height = fig.get_size_inches()
    ax = fig.add_axes(
        (box.left / width, box.bottom / height, box.width / width, box.height / height)
    )
    ax.set_facecolor("white")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0, colors=INK, labelsize=LABEL_SIZE)
    return ax


def fig_text(fig: Figure, x: float, y: float, text: str, **style: object) -> None:
    """Text at (x, y) inches from the figure's bottom-left corner, top-left anchored."""
    width, height = fig.get_size_inches()
    style.setdefault("va", "top")
    style.setdefault("ha", "left")
    style.setdefault("color", INK)
    style.setdefault("family", FONT_FAMILY)
    fig.text(x / width, y / height, text, **style)  # type: ignore[arg-type]


class _Body(Protocol):
    """What a chart draws: bars, rows, lines or panels."""

    def empty(self) -> bool: ...
    def figures(self) -> list[Bar | Value]: ...
    def height(self, width: float) -> float: ...
    def draw(self, fig: Figure, box: Box) -> None: ...


def _label_room(labels: Sequence[str], width: float) -> tuple[float, int]:
    """The width of the label column (at most 40 % of the chart) and the characters it holds."""
    longest = max((len(label) for label in labels), default=1)
    room = min(text_width("x" * longest, LABEL_SIZE) + 0.12, width * 0.4)
    return room, fits_chars(room - 0.12, LABEL_SIZE)


def fit_label(label: str, chars: int) -> str:
    """A label on at most two lines of `chars` characters, an ellipsis marking a cut."""
    lines = textwrap.wrap(" ".join(label.split()), chars, break_long_words=True)
    if len(lines) <= 2:
        return "\n".join(lines)
    return lines[0] + "\n" + truncate(" ".join(lines[1:]), chars)


def _floor(limit: float) -> float:
    """The shortest bar drawn for a count above zero: a sliver still visible on a phone.

    It is the same for every bar of a chart, so it reveals nothing about a small count.
    """
    return limit * 0.012


def _drawn(value: float, limit: float) -> float:
    return max(value, _floor(limit)) if value > 0 else 0.0


def _legend(fig: Figure, box: Box, names: Sequence[str], markers: bool = False) -> float:
    """The series' names with their colours in two columns at the box's top; its height."""
    widest = max((text_width(name, LABEL_SIZE - 0.5) for name in names), default=0)
    columns = 3 if widest + 0.45 <= box.width / 3 else 2
    column_width = box.width / columns
    line = 0.3
    for index, name in enumerate(names):
        row, column = divmod(index, columns)
        x = box.left + column * column_width
        y = box.bottom + box.height - row * line
        colour = PALETTE[index % len(PALETTE)]
        if markers:
            fig.add_artist(_line_key(fig, x, y - 0.12, colour))
        else:
            fig.add_artist(_square(fig, x, y - 0.2, colour))
        fig_text(
            fig,
            x + 0.32,
            y - 0.02,
            truncate(name, fits_chars(column_width - 0.4, LABEL_SIZE)),
            fontsize=LABEL_SIZE - 0.5,
        )
    return _legend_height(names, box.width)


def _legend_height(names: Sequence[str], width: float) -> float:
    widest = max((text_width(name, LABEL_SIZE - 0.5) for name in names), default=0)
    columns = 3 if widest + 0.45 <= width / 3 else 2
    return math.ceil(len(names) / columns) * 0.3 + 0.1


def _square(fig: Figure, x: float, y: float, colour: str) -> object:
    from matplotlib.patches import Rectangle  # noqa: PLC0415  (matplotlib only when drawing)

    width, height = fig.get_size_inches()
    return Rectangle(
        (x / width, y / height),
        0.2 / width,
        0.2 / height,
        transform=fig.transFigure,
        facecolor=colour,
        edgecolor="none",
    )


def _line_key(fig: Figure, x: float, y: float, colour: str) -> object:
    from matplotlib.lines import Line2D  # noqa: PLC0415

    width, height = fig.get_size_inches()
    return Line2D(
        [x / width, (x + 0.24) / width],
        [y / height, y / height],
        transform=fig.transFigure,
        color=colour,
        linewidth=3,
    )


def _style_bar(patch: object, colour: str, small: bool) -> None:
    """A small count's bar: pale with hatching, so it reads as "not shown exactly"."""
    if small:
        patch.set_facecolor(_pale(colour))  # type: ignore[attr-defined]
        patch.set_edgecolor(colour)  # type: ignore[attr-defined]
        patch.set_hatch(SMALL_HATCH)  # type: ignore[attr-defined]
        patch.set_linewidth(0.8)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class _Bars:
    bars: Sequence[Bar]
    colour: str = PALETTE[0]
    row_height: float = 0.5

    def empty(self) -> bool:
        return not self.bars

    def figures(self) -> list[Bar | Value]:
        return list(self.bars)

    def height(self, width: float) -> float:
        return 0.1 + self.row_height * len(self.bars)

    def draw(self, fig: Figure, box: Box) -> None:
        labels = [bar.label for bar in self.bars]
        room, chars = _label_room(labels, box.width)
        texts = max((text_width(bar.text, VALUE_SIZE) for bar in self.bars), default=0)
        ax = _axes(fig, Box(box.left + room, box.bottom, box.width - room, box.height))
        peak = max((bar.value for bar in self.bars), default=0) or 1
        # Room at the right for the longest value text.
        axis_width = max(box.width - room, 1.0)
        share = min(0.6, (texts + 0.15) / axis_width)
        limit = peak / (1 - share)
        ax.set_xlim(0, limit)
        positions = list(range(len(self.bars)))
        lengths = [_drawn(bar.value, limit) for bar in self.bars]
        container = ax.barh(positions, lengths, height=0.66, color=self.colour)
        for patch, bar in zip(container.patches, self.bars, strict=True):
            _style_bar(patch, self.colour, bar.small)
        ax.set_yticks(positions, labels=[fit_label(label, chars) for label in labels])
        ax.set_ylim(len(self.bars) - 0.5, -0.5)
        ax.set_xticks([])
        for position, bar, length in zip(positions, self.bars, lengths, strict=True):
            ax.annotate(
                bar.text,
                (length, position),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                fontsize=VALUE_SIZE,
                color=INK,
                family=FONT_FAMILY,
            )


@dataclass(frozen=True, slots=True)
class _Rows:
    series: Sequence[str]
    rows: Sequence[Row]
    stacked: bool

    def empty(self) -> bool:
        return not self.rows

    def figures(self) -> list[Bar | Value]:
        return [value for row in self.rows for value in row.values]

    def _row_height(self) -> float:
        return 0.5 if self.stacked else 0.24 * len(self.series) + 0.25

    def height(self, width: float) -> float:
        names = self.series
        return _legend_height(names, width) + 0.1 + self._row_height() * len(self.rows)

    def draw(self, fig: Figure, box: Box) -> None:
        legend = _legend(fig, box, self.series)
        labels = [row.label for row in self.rows]
        room, chars = _label_room(labels, box.width)
        plot = Box(box.left + room, box.bottom, box.width - room, box.height - legend)
        ax = _axes(fig, plot)
        ax.set_xticks([])
        count = len(self.series)
        if self.stacked:
            peak = max((sum(v.value for v in row.values) for row in self.rows), default=0)
        else:
            peak = max((v.value for row in self.rows for v in row.values), default=0)
        peak = peak or 1
        share = min(0.6, self._reserve() / max(plot.width, 1.0))
        limit = peak / (1 - share)
        ax.set_xlim(0, limit)
        per_inch = limit / max(plot.width, 0.5)
        for index, row in enumerate(self.rows):
            if self.stacked:
                self._draw_stacked(ax, index, row, per_inch, limit)
            else:
                self._draw_grouped(ax, index, row, count, limit)
        ax.set_yticks(range(len(self.rows)), labels=[fit_label(label, chars) for label in labels])
        ax.set_ylim(len(self.rows) - 0.5, -0.5)

    def _reserve(self) -> float:
        """Inches at the right for the texts after the bars (all but the first, if stacked)."""
        widths = [
            sum(
                text_width(value.text, VALUE_SIZE) + 0.12
                for value in (row.values[1:] if self.stacked else row.values)
            )
            if self.stacked
            else max((text_width(value.text, VALUE_SIZE) for value in row.values), default=0)
            for row in self.rows
        ]
        return max(widths, default=0) + 0.2

    def _draw_grouped(self, ax: Axes, index: int, row: Row, count: int, limit: float) -> None:
        thickness = 0.8 / count
        for series, value in enumerate(row.values):
            colour = PALETTE[series % len(PALETTE)]
            y = index - 0.4 + thickness * (series + 0.5)
            length = _drawn(value.value, limit)
            (patch,) = ax.barh([y], [length], height=thickness * 0.9, color=colour).patches
            _style_bar(patch, colour, value.small)
            ax.annotate(
                value.text,
                (length, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=VALUE_SIZE - 1,
                color=INK,
                family=FONT_FAMILY,
            )

    def _draw_stacked(self, ax: Axes, index: int, row: Row, per_inch: float, limit: float) -> None:
        start = 0.0
        outside: list[tuple[str, str]] = []
        for series, value in enumerate(row.values):
            colour = PALETTE[series % len(PALETTE)]
            length = _drawn(value.value, limit)
            if length > 0:
                (patch,) = ax.barh([index], [length], left=start, height=0.66, color=colour).patches
                _style_bar(patch, colour, value.small)
            fits = length / per_inch >= text_width(value.text, VALUE_SIZE) + 0.12
            if fits and not value.small:
                ax.text(
                    start + length / 2,
                    index,
                    value.text,
                    ha="center",
                    va="center",
                    fontsize=VALUE_SIZE,
                    color="white" if series in (0, 5) else INK,
                    family=FONT_FAMILY,
                )
            else:
                outside.append((value.text, colour))
            start += length
        # Texts that don't fit their segment follow the bar, each in its series' colour.
        offset = 5.0
        for text, colour in outside:
            ax.annotate(
                text,
                (start, index),
                xytext=(offset, 0),
                textcoords="offset points",
                va="center",
                fontsize=VALUE_SIZE,
                color=_dark(colour),
                fontweight="bold",
                family=FONT_FAMILY,
            )
            offset += len(text) * VALUE_SIZE * 0.62 + 8


@dataclass(frozen=True, slots=True)
class _Months:
    months: Sequence[str]
    series: Sequence[Series]
    number_format: Callable[[float], str] | None = None

    def empty(self) -> bool:
        return not self.series or not self.months

    def figures(self) -> list[Bar | Value]:
        return [value for series in self.series for value in series.values]

    def height(self, width: float) -> float:
        return _legend_height([series.name for series in self.series], width) + 4.0

    def draw(self, fig: Figure, box: Box) -> None:
        from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: PLC0415

        legend = _legend(fig, box, [series.name for series in self.series], markers=True)
        plot = Box(box.left + 0.55, box.bottom + 0.55, box.width - 0.7, box.height - legend - 0.7)
        ax = _axes(fig, plot)
        ax.spines["bottom"].set_visible(True)
        ax.spines["bottom"].set_color(MUTED)
        positions = list(range(len(self.months)))
        for index, series in enumerate(self.series):
            colour = PALETTE[index % len(PALETTE)]
            values = [value.value for value in series.values]
            ax.plot(positions, values, color=colour, linewidth=2.6, zorder=3)
            for position, value in zip(positions, series.values, strict=True):
                # A small count is a hollow marker at the fixed small length.
                ax.plot(
                    [position],
                    [value.value],
                    marker="o",
                    markersize=8 if value.small else 6,
                    markerfacecolor="white" if value.small else colour,
                    markeredgecolor=colour,
                    markeredgewidth=2,
                    linestyle="none",
                    zorder=4,
                )
        rotate = len(self.months) > 7
        ax.set_xticks(
            positions,
            labels=list(self.months),
            rotation=45 if rotate else 0,
            ha="right" if rotate else "center",
        )
        ax.set_xlim(-0.4, len(self.months) - 0.6)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        if self.number_format is not None:
            number_format = self.number_format
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: number_format(value)))
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color=RULE, linewidth=0.8)
        ax.set_axisbelow(True)


@dataclass(frozen=True, slots=True)
class _Panels:
    panels: Sequence[Panel]

    def empty(self) -> bool:
        return not any(panel.bars for panel in self.panels)

    def figures(self) -> list[Bar | Value]:
        return [bar for panel in self.panels for bar in panel.bars]

    def _shown(self) -> list[Panel]:
        return [panel for panel in self.panels if panel.bars]

    def height(self, width: float) -> float:
        return sum(0.45 + _Bars(panel.bars).height(width) + 0.2 for panel in self._shown())

    def draw(self, fig: Figure, box: Box) -> None:
        top = box.bottom + box.height
        for index, panel in enumerate(self._shown()):
            fig_text(fig, box.left, top, panel.title, fontsize=LABEL_SIZE, fontweight="bold")
            bars = _Bars(panel.bars, colour=PALETTE[index % len(PALETTE)], row_height=0.45)
            height = bars.height(box.width)
            bars.draw(fig, Box(box.left, top - 0.4 - height, box.width, height))
            top -= 0.45 + height + 0.2


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart: its title, the line under it (the KV and the period), what it draws, and notes.

    `small_note` (e.g. "< 3: fewer than three, not shown exactly") is printed only when some
    figure is masked; `empty_text` stands in the chart's place when it has nothing to draw.
    """

    title: str
    subtitle: str
    body: _Body
    notes: Sequence[str] = ()
    small_note: str | None = None
    empty_text: str = "–"

    def footnotes(self) -> list[str]:
        lines = list(self.notes)
        if self.small_note and any(figure.small for figure in self.body.figures()):
            lines.append(self.small_note)
        return lines


EMPTY_HEIGHT = 1.4


def draw_body(fig: Figure, chart: Chart, box: Box) -> None:
    if chart.body.empty():
        fig_text(
            fig,
            box.left + box.width / 2,
            box.bottom + box.height / 2,
            chart.empty_text,
            ha="center",
            va="center",
            fontsize=LABEL_SIZE + 1,
            color=MUTED,
        )
    else:
        chart.body.draw(fig, box)


def body_height(chart: Chart, width: float) -> float:
    return EMPTY_HEIGHT if chart.body.empty() else chart.body.height(width)


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def png(chart: Chart) -> bytes:
    """The chart as a PNG for the chat: phone width, as tall as its content needs."""
    margin = 0.3
    inner = WIDTH_INCHES - 2 * margin
    titles = wrap(chart.title, inner, TITLE_SIZE)
    subtitles = wrap(chart.subtitle, inner, SUBTITLE_SIZE)
    notes = [line for note in chart.footnotes() for line in wrap(note, inner, NOTE_SIZE)]
    head = len(titles) * 0.34 + len(subtitles) * 0.24 + 0.3
    body = body_height(chart, inner)
    foot = (0.15 + len(notes) * 0.2) if notes else 0.0
    height = margin + head + body + foot + margin
    fig = new_figure(WIDTH_INCHES, height)
    top = height - margin
    for line in titles:
        fig_text(fig, margin, top, line, fontsize=TITLE_SIZE, fontweight="bold")
        top -= 0.34
    for line in subtitles:
        fig_text(fig, margin, top, line, fontsize=SUBTITLE_SIZE, color=MUTED)
        top -= 0.24
    top -= 0.3
    draw_body(fig, chart, Box(margin, top - body, inner, body))
    top -= body + 0.15
    for line in notes:
        fig_text(fig, margin, top, line, fontsize=NOTE_SIZE, color=MUTED)
        top -= 0.2
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def chart_bars(
    title: str,
    subtitle: str,
    bars: Sequence[Bar],
    *,
    notes: Sequence[str] = (),
    small_note: str | None = None,
    empty_text: str = "–",
) -> Chart:
    """Horizontal bars, the first on top, each with its text at its end."""
    return Chart(title, subtitle, _Bars(bars), notes, small_note, empty_text)


def chart_rows(
    title: str,
    subtitle: str,
    series: Sequence[str],
    rows: Sequence[Row],
    *,
    stacked: bool,
    notes: Sequence[str] = (),
    small_note: str | None = None,
    empty_text: str = "–",
) -> Chart:
    """Rows of grouped (side by side) or stacked (end to end) bars, one colour per series."""
    return Chart(title, subtitle, _Rows(series, rows, stacked), notes, small_note, empty_text)


def chart_months(
    title: str,
    subtitle: str,
    month_labels: Sequence[str],
    series: Sequence[Series],
    *,
    number_format: Callable[[float], str] | None = None,
    notes: Sequence[str] = (),
    small_note: str | None = None,
    empty_text: str = "–",
) -> Chart:
    """Lines over the months, one per series (at most MAX_SERIES), with a legend on top."""
    body = _Months(month_labels, series, number_format)
    return Chart(title, subtitle, body, notes, small_note, empty_text)


def chart_panels(
    title: str,
    subtitle: str,
    panels: Sequence[Panel],
    *,
    notes: Sequence[str] = (),
    small_note: str | None = None,
    empty_text: str = "–",
) -> Chart:
    """Small bar charts under each other, for figures of different scales (leaflets, talks)."""
    return Chart(title, subtitle, _Panels(panels), notes, small_note, empty_text)


def bar_chart(
    title: str,
    subtitle: str,
    bars: Sequence[Bar],
    *,
    notes: Sequence[str] = (),
    small_note: str | None = None,
    empty_text: str = "–",
) -> bytes:
    """Horizontal bars, the first on top, each with its text at its end; PNG bytes.

    A count to be masked comes as `Bar(label, 3, "< 3", small=True)`; pass `small_note` to
    explain it under the chart.
    """
    return png(
        chart_bars(title, subtitle, bars, notes=notes, small_note=small_note, empty_text=empty_text)
    )
