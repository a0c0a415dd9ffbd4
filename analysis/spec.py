"""Renderer-neutral figure data. Builders fill these; `render_png` (matplotlib) and `render_html`
(plotly) draw them, so tests check curves and points here, not pixels."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Series:
    name: str
    x: list[float]
    y: list[float]
    # "lines+markers" | "markers" | "lines"
    mode: str = "lines+markers"
    # "solid" | "dash" | "dot"
    dash: str = "solid"
    # one hover text per point (job numbers, overrides)
    hover: list[str] | None = None
    # half-width of an error bar per point (repeats), or None
    error: list[float] | None = None
    # fixed colour (e.g. the Pareto frontier); None = the renderer's cycle
    color: str | None = None


@dataclass
class HLine:
    y: float
    label: str


@dataclass
class Panel:
    title: str
    x_label: str
    y_label: str
    series: list[Series] = field(default_factory=list)
    hlines: list[HLine] = field(default_factory=list)
    log_x: bool = False


@dataclass
class FigureSpec:
    key: str  # file stem: <key>.png, section id in the HTML
    title: str
    # panels[row][col]
    panels: list[list[Panel]]
    note: str = ""

    @property
    def rows(self) -> int:
        return len(self.panels)

    @property
    def cols(self) -> int:
        return max((len(r) for r in self.panels), default=0)

    def all_panels(self) -> list[Panel]:
        return [p for row in self.panels for p in row]

    def has_data(self) -> bool:
        return any(p.series or p.hlines for p in self.all_panels())

    def panel(self, title: str) -> Panel:
        for p in self.all_panels():
            if p.title == title:
                return p
        raise KeyError(title)
