"""FigureSpecs → one self-contained interactive HTML report (plotly.js inlined once)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from analysis.spec import FigureSpec

PANEL_HEIGHT_PX = 360
PALETTE: tuple[str, ...] = tuple(plotly.colors.qualitative.Plotly)
# a log-scale load axis gets a tick at each load value when there are at most this many
MAX_LOG_TICKS = 12
LONG_LEGEND_NAME = 40
PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; font-size: 0.8rem; margin-bottom: 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f2f2f2; }
td.text { text-align: left; }
.note { color: #666; font-size: 0.85rem; }
.simulated { background: #fff4d6; border: 1px solid #e0b84c; padding: 0.4rem 0.8rem; }
section { margin-bottom: 2rem; }
"""


def to_plotly(spec: FigureSpec) -> go.Figure:
    titles = [p.title for row in spec.panels for p in row]
    fig = make_subplots(
        rows=spec.rows,
        cols=spec.cols,
        subplot_titles=titles,
        horizontal_spacing=0.06,
        vertical_spacing=0.12 / max(1, spec.rows - 1) if spec.rows > 1 else 0.1,
    )
    shown: set[str] = set()
    colors: dict[str, str] = {}
    for r, row in enumerate(spec.panels, start=1):
        for c, panel in enumerate(row, start=1):
            for series in panel.series:
                # one colour per curve label in every panel; percentiles differ by dash
                base = series.name.rsplit(" (", 1)[0]
                color = series.color or colors.setdefault(base, PALETTE[len(colors) % len(PALETTE)])
                trace = go.Scatter(
                    x=series.x,
                    y=series.y,
                    name=series.name,
                    mode=series.mode,
                    legendgroup=series.name,
                    showlegend=series.name not in shown,
                    line={"dash": series.dash, "color": color},
                    marker={"color": color, "size": 9 if series.mode == "markers" else 6},
                    text=series.hover,
                    hovertemplate="%{x:.4g}, %{y:.4g}<br>%{text}" if series.hover else None,
                    error_y={"type": "data", "array": series.error, "visible": True}
                    if series.error is not None
                    else None,
                )
                shown.add(series.name)
                fig.add_trace(trace, row=r, col=c)
            for hline in panel.hlines:
                fig.add_hline(
                    y=hline.y,
                    line_dash="dot",
                    line_color="red",
                    row=r,
                    col=c,
                    annotation_text=hline.label,
                    annotation_position="top left",
                )
            ticks = sorted({x for series in panel.series for x in series.x})
            log_ticks = ticks if panel.log_x and len(ticks) <= MAX_LOG_TICKS else None
            fig.update_xaxes(
                title_text=panel.x_label,
                row=r,
                col=c,
                type="log" if panel.log_x else None,
                tickvals=log_ticks,
                ticktext=[f"{t:g}" for t in log_ticks] if log_ticks else None,
            )
            fig.update_yaxes(title_text=panel.y_label, row=r, col=c)
    longest = max((len(name) for name in shown), default=0)
    legend: dict[str, object] = {"font": {"size": 10}}
    extra = 0
    if longest > LONG_LEGEND_NAME:
        # long names (job labels) go under the panels instead of squeezing them
        legend.update(orientation="h", yanchor="top", y=-0.12 if spec.rows == 1 else -0.05)
        extra = 24 * ((len(shown) + 1) // 2)
    fig.update_layout(
        height=PANEL_HEIGHT_PX * spec.rows + 80 + extra,
        title_text=spec.title,
        legend=legend,
        margin={"t": 90},
    )
    return fig


def runs_table(frame: pd.DataFrame, columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c.removeprefix('metrics.'))}</th>" for c in columns)
    body: list[str] = []
    for _, row in frame.iterrows():
        cells: list[str] = []
        for column in columns:
            value = row[column]
            if isinstance(value, float):
                cells.append(f"<td>{value:.4g}</td>")
            else:
                cells.append(f"<td class='text'>{html.escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def write_html(
    specs: list[FigureSpec], path: Path, title: str, table_html: str, header_html: str = ""
) -> Path:
    """Write the report page: header, runs table, then one interactive figure per spec."""
    sections: list[str] = []
    for spec in specs:
        if not spec.has_data():
            if spec.note:
                sections.append(
                    f"<p class='note'>{html.escape(spec.title)}: {html.escape(spec.note)}</p>"
                )
            continue
        div = pio.to_html(
            to_plotly(spec),
            include_plotlyjs=False,
            full_html=False,
            div_id=f"fig-{spec.key}",
            config={"responsive": True},
        )
        note = f"<p class='note'>{html.escape(spec.note)}</p>" if spec.note else ""
        sections.append(f"<section id='{spec.key}'>{note}{div}</section>")
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1>{header_html}{table_html}{''.join(sections)}"
        "</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
