"""FigureSpec → PNG with matplotlib (Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Final, TypedDict, cast

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator
from matplotlib.typing import ColorType

from analysis.spec import FigureSpec, Panel

PANEL_WIDTH_IN = 4.6
PANEL_HEIGHT_IN = 3.4
MAX_LEGEND_ENTRIES = 16
DENSE_POINTS = 20
# "best" searches every data point for a free spot: seconds on big sweeps
LEGEND_LOC: Final = "upper left"
LINE_STYLES = {"solid": "-", "dash": "--", "dot": ":"}


class _SeriesStyle(TypedDict, total=False):
    """What every series passes to matplotlib: its label and, when fixed, its colour (without
    one, matplotlib takes the next of its cycle)."""

    label: str
    color: ColorType


def draw_panel(ax: Axes, panel: Panel) -> None:
    # series whose names differ only in a trailing " (...)" share a colour
    colors: dict[str, ColorType] = {}
    for series in panel.series:
        base = series.name.rsplit(" (", 1)[0]
        style = LINE_STYLES.get(series.dash, "-")
        kwargs: _SeriesStyle = {"label": series.name}
        if series.color is not None:
            kwargs["color"] = series.color
        elif base in colors:
            kwargs["color"] = colors[base]
        if series.mode == "markers":
            artist = ax.scatter(series.x, series.y, s=24, **kwargs)
            # an N×4 RGBA array at runtime (the stubs allow one colour too): row 0 is a colour
            colors.setdefault(base, cast(ColorType, artist.get_facecolor()[0]))
            continue
        # dense curves (big sweeps): no markers, a band instead of error bars — clearer, and
        # matplotlib draws them several times faster
        dense = len(series.x) > DENSE_POINTS
        marker = "o" if "markers" in series.mode and not dense else None
        if series.error is not None and not dense:
            container = ax.errorbar(
                series.x,
                series.y,
                yerr=series.error,
                linestyle=style,
                marker=marker,
                markersize=4,
                capsize=3,
                **kwargs,
            )
            colors.setdefault(base, container.lines[0].get_color())
            continue
        (line,) = ax.plot(
            series.x, series.y, linestyle=style, marker=marker, markersize=4, **kwargs
        )
        colors.setdefault(base, line.get_color())
        if series.error is not None:
            y, err = np.asarray(series.y), np.asarray(series.error)
            ax.fill_between(
                series.x, y - err, y + err, color=line.get_color(), alpha=0.15, linewidth=0
            )
    for hline in panel.hlines:
        ax.axhline(hline.y, color="red", linestyle=":", linewidth=1.2, label=hline.label)
    ax.set_title(panel.title, fontsize=10)
    ax.set_xlabel(panel.x_label, fontsize=9)
    ax.set_ylabel(panel.y_label, fontsize=9)
    if panel.log_x:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.grid(True, alpha=0.3)
    if panel.series or panel.hlines:
        entries = len(panel.series) + len(panel.hlines)
        if entries <= MAX_LEGEND_ENTRIES:
            ax.legend(fontsize=7, loc=LEGEND_LOC)


def to_matplotlib(spec: FigureSpec) -> Figure:
    fig, axes = plt.subplots(
        spec.rows,
        spec.cols,
        squeeze=False,
        figsize=(PANEL_WIDTH_IN * spec.cols, PANEL_HEIGHT_IN * spec.rows + 0.6),
    )
    for r, row in enumerate(spec.panels):
        for c in range(spec.cols):
            if c < len(row):
                draw_panel(axes[r][c], row[c])
            else:
                axes[r][c].set_visible(False)
    title = spec.title + (f"\n{spec.note}" if spec.note else "")
    fig.suptitle(title, fontsize=12)
    # fixed margins: tight_layout measures every tick label and costs seconds on big sweeps
    height, width = fig.get_figheight(), fig.get_figwidth()
    fig.subplots_adjust(
        left=0.85 / width,
        right=1 - 0.2 / width,
        wspace=0.32,
        bottom=0.5 / height + 0.05,
        top=1 - 0.8 / height,
        hspace=0.45,
    )
    return fig


def write_png(spec: FigureSpec, out_dir: Path) -> Path | None:
    """Draw `spec` to `<out_dir>/<key>.png`; None when it has nothing to draw."""
    if not spec.has_data():
        return None
    fig = to_matplotlib(spec)
    path = out_dir / f"{spec.key}.png"
    try:
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
