"""Charts as PNG for a phone screen, and pages of them as one PDF: matplotlib's Agg backend.

Pure drawing: every text arrives translated and every small count already masked by the
caller; nothing here reads the database or knows a member. matplotlib is imported on first use
(it costs tens of MB the idle bot should not pay).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Portrait, about a phone's width at 150 dpi.
WIDTH_INCHES = 7.2
DPI = 150


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, its length and the text beside it (e.g. "< 3" for a small count)."""

    label: str
    value: float
    text: str


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415  (tens of MB; only a report needs it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _figure(title: str, subtitle: str, rows: int) -> tuple[Any, Any]:
    plt = _pyplot()
    height = max(3.0, 1.4 + 0.45 * rows)
    fig, ax = plt.subplots(figsize=(WIDTH_INCHES, height), dpi=DPI)
    fig.suptitle(title, fontsize=14, fontweight="bold", x=0.02, ha="left")
    ax.set_title(subtitle, fontsize=10, loc="left", color="#555555")
    return fig, ax


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def bar_chart(title: str, subtitle: str, bars: Sequence[Bar]) -> bytes:
    """Horizontal bars, the first on top, each with its text at its end; PNG bytes."""
    fig, ax = _figure(title, subtitle, len(bars))
    labels = [bar.label for bar in bars]
    values = [bar.value for bar in bars]
    positions = range(len(bars))
    ax.barh(positions, values, color="#2a7ab0")
    ax.set_yticks(list(positions), labels=labels)
    ax.invert_yaxis()
    peak = max(values, default=0) or 1
    for position, bar in zip(positions, bars, strict=True):
        ax.text(bar.value + peak * 0.01, position, bar.text, va="center", fontsize=10)
    ax.set_xlim(0, peak * 1.15)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


@dataclass(frozen=True, slots=True)
class TablePage:
    """A printed page: a heading, a line under it, and a table of already formatted cells."""

    title: str
    subtitle: str
    header: Sequence[str]
    rows: Sequence[Sequence[str]]


def pdf_document(pages: Sequence[TablePage], images: Sequence[bytes]) -> bytes:
    """An A4 PDF: the table pages first, then one page per PNG image."""
    plt = _pyplot()
    from matplotlib.backends.backend_pdf import PdfPages  # noqa: PLC0415
    from matplotlib.image import imread  # noqa: PLC0415

    a4 = (8.27, 11.69)
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        for page in pages:
            fig = plt.figure(figsize=a4)
            fig.text(0.08, 0.94, page.title, fontsize=16, fontweight="bold")
            fig.text(0.08, 0.91, page.subtitle, fontsize=10, color="#555555")
            ax = fig.add_axes((0.08, 0.1, 0.84, 0.78))
            ax.axis("off")
            if page.rows:
                table = ax.table(
                    cellText=[list(row) for row in page.rows],
                    colLabels=list(page.header),
                    loc="upper left",
                    cellLoc="left",
                )
                table.auto_set_font_size(False)
                table.set_fontsize(9)
            pdf.savefig(fig)
            plt.close(fig)
        for image in images:
            fig = plt.figure(figsize=a4)
            ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
            ax.imshow(imread(io.BytesIO(image), format="png"))
            ax.axis("off")
            pdf.savefig(fig)
            plt.close(fig)
    return buffer.getvalue()
