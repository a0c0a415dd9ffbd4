"""The report's figure data for a 2 × 3 grid: right curves, right points (not pixels)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from analysis.figures_sweep import pareto_front
from analysis.loader import Sweep, load_sweep
from analysis.render_html import to_plotly
from analysis.render_png import to_matplotlib
from analysis.report import Report, make_report
from analysis.spec import FigureSpec
from analysis.synthetic import SyntheticGrid, write_sweep


@pytest.fixture(scope="module")
def report(grid_2x3: Sweep, tmp_path_factory: pytest.TempPathFactory) -> Report:
    return make_report(grid_2x3, tmp_path_factory.mktemp("report"))


def figure(report: Report, key: str) -> FigureSpec:
    return next(f for f in report.figures if f.key == key)


def shape_of(spec: FigureSpec) -> dict[str, list[int]]:
    """panel title → points per series."""
    return {p.title: [len(s.x) for s in p.series] for p in spec.all_panels()}


def test_every_plot_is_written(report: Report) -> None:
    names = sorted(p.name for p in report.pngs)
    expected = ["cdf", "goodput", "latency", "pareto", "server", "throughput"]
    assert names == sorted(f"{k}.png" for k in expected)
    assert all(p.stat().st_size > 10_000 for p in report.pngs)
    assert report.html.stat().st_size > 3_000_000  # plotly.js inlined
    assert (report.html.parent / "runs.csv").is_file()


def test_throughput_two_curves_of_three_points(report: Report, grid_2x3: Sweep) -> None:
    spec = figure(report, "throughput")
    assert shape_of(spec) == {"output throughput": [3, 3], "request throughput": [3, 3]}
    fast = spec.panel("output throughput").series[0]
    assert fast.name == "server.profile=fast"
    assert fast.x == [1.0, 8.0, 32.0]
    runs = grid_2x3.runs
    want = runs[runs["params.server.profile"] == "fast"]["metrics.output_throughput"].tolist()
    assert fast.y == pytest.approx(want)


def test_latency_three_percentiles_per_profile(report: Report) -> None:
    spec = figure(report, "latency")
    assert shape_of(spec) == {t: [3] * 6 for t in ("TTFT", "TPOT", "ITL", "E2EL")}
    names = [s.name for s in spec.panel("TTFT").series]
    assert "server.profile=slow (p99)" in names and "server.profile=fast (p50)" in names
    p50 = next(s for s in spec.panel("TPOT").series if s.name == "server.profile=slow (p50)")
    p99 = next(s for s in spec.panel("TPOT").series if s.name == "server.profile=slow (p99)")
    assert all(a <= b for a, b in zip(p50.y, p99.y, strict=True))


def test_pareto_one_marker_per_run_and_a_frontier(report: Report, grid_2x3: Sweep) -> None:
    panel = figure(report, "pareto").all_panels()[0]
    assert [s.mode for s in panel.series] == ["markers", "markers", "lines"]
    assert [len(s.x) for s in panel.series[:2]] == [3, 3]
    front = panel.series[2]
    runs = grid_2x3.runs
    per_user = 1000.0 / runs["metrics.median_tpot_ms"].to_numpy()
    per_gpu = runs["metrics.output_throughput"].to_numpy()
    for x, y in zip(front.x, front.y, strict=True):  # nothing beats a frontier point on both
        assert not np.any((per_user > x) & (per_gpu > y))
    assert front.hover is not None and len(front.hover) == len(front.x)
    page = report.html.read_text()
    assert "Pareto-optimal runs" in page and all(h in page for h in front.hover)


def test_goodput_has_slo_lines(report: Report) -> None:
    spec = figure(report, "goodput")
    assert shape_of(spec) == {"goodput": [3] * 4, "TTFT vs SLO": [3] * 4, "TPOT vs SLO": [3] * 4}
    assert [h.y for h in spec.panel("TTFT vs SLO").hlines] == [500.0]
    assert [h.y for h in spec.panel("TPOT vs SLO").hlines] == [50.0]


def test_request_cdfs_one_curve_per_job(report: Report) -> None:
    spec = figure(report, "cdf")
    assert shape_of(spec)["TTFT"] == [40] * 6  # 40 requests per job
    curve = spec.panel("E2EL").series[0]
    assert curve.y[-1] == 1.0 and curve.x == sorted(curve.x)


def test_server_series_one_curve_per_job(report: Report) -> None:
    spec = figure(report, "server")
    assert [len(p.series) for p in spec.all_panels()] == [6, 6, 6]
    kv = spec.panel("KV cache usage").series
    assert all(0.0 <= v <= 1.0 for s in kv for v in s.y)


def test_renderers_draw_every_series(report: Report) -> None:
    spec = figure(report, "latency")
    fig = to_plotly(spec)
    assert len(fig.data) == 24
    # one colour per profile in every panel; the percentiles differ by dash only
    colors = {(t.name.split(" (")[0], t.line.color) for t in fig.data}
    assert len(colors) == 2
    assert {t.line.dash for t in fig.data} == {"solid", "dash", "dot"}
    assert sum(bool(t.showlegend) for t in fig.data) == 6
    mpl = to_matplotlib(spec)
    assert sum(len(ax.get_lines()) for ax in mpl.axes) == 24
    goodput = to_matplotlib(figure(report, "goodput"))
    # 4 + 4 + 4 curves and one SLO line in each SLO panel
    assert sum(len(ax.get_lines()) for ax in goodput.axes) == 14


def test_facets_split_panels_by_param(grid_2x3: Sweep, tmp_path: Path) -> None:
    report = make_report(grid_2x3, tmp_path, facet="server.profile", pngs=False)
    spec = figure(report, "throughput")
    assert spec.rows == 2
    assert shape_of(spec)["server.profile=slow: output throughput"] == [3]
    assert len(figure(report, "pareto").all_panels()) == 2


def test_chosen_jobs_limit_detail_plots(grid_2x3: Sweep, tmp_path: Path) -> None:
    report = make_report(grid_2x3, tmp_path, jobs=[2, 5], pngs=False)
    assert report.detail_jobs == [2, 5]
    assert len(figure(report, "cdf").panel("TTFT").series) == 2


def test_repeats_average_with_error_bars(repeated_dir: Path, tmp_path: Path) -> None:
    report = make_report(load_sweep(repeated_dir), tmp_path, pngs=False)
    series = figure(report, "throughput").panel("output throughput").series
    assert len(series) == 1 and series[0].x == [1.0, 8.0]
    assert series[0].error is not None and all(e > 0 for e in series[0].error)
    assert "mean of up to 3 runs" in figure(report, "latency").note
    assert "no requests.parquet" in figure(report, "cdf").note


def test_pareto_front_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 2.5, 0.5])
    y = np.array([5.0, 4.0, 1.0, 3.0, 6.0])
    # (2.5, 3) is beaten by nothing; (1, 5), (2, 4), (3, 1), (0.5, 6) neither
    assert pareto_front(x, y) == [4, 0, 1, 3, 2]
    assert pareto_front(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == [1]


def test_failed_jobs_leave_the_curves_and_are_named(grid_2x3_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "2026-11-21" / "06-00-00"
    shutil.copytree(grid_2x3_dir, copy)
    result_path = copy / "1" / "result.json"
    result = json.loads(result_path.read_text())
    result["sweeper"].update(status="FAILED", error="server crashed mid-benchmark")
    result_path.write_text(json.dumps(result))
    report = make_report(load_sweep(copy), tmp_path / "report", pngs=False)
    curves = figure(report, "throughput").panel("output throughput").series
    assert [len(s.x) for s in curves] == [2, 3]
    assert 1 not in report.detail_jobs
    assert "job 1 FAILED: server crashed mid-benchmark" in report.html.read_text()


def test_rate_sweep_uses_rate_axis_with_inf(grid_2x3: Sweep, tmp_path: Path) -> None:
    runs = grid_2x3.runs.copy()
    rates = [1.0, 4.0, float("inf")] * 2
    runs["params.request_rate"] = rates
    runs["params.load.request_rate"] = rates
    runs["params.concurrency"] = 64
    runs["params.load.concurrency"] = 64
    sweep = Sweep("rates", runs, None, None, None)
    report = make_report(sweep, tmp_path, pngs=False, jobs=[0])
    spec = figure(report, "throughput")
    assert report.shape.x == "params.request_rate"
    assert [s.x for s in spec.panel("output throughput").series] == [[1.0, 4.0, 8.0]] * 2
    assert "request_rate=inf drawn at 8" in spec.note


def test_dense_repeated_curves_draw_bands_not_bars(tmp_path: Path) -> None:
    grid = SyntheticGrid(
        profiles=["fast"],
        concurrencies=list(range(1, 26)),
        repeats=2,
        num_prompts=6,
        with_files=False,
    )
    report = make_report(load_sweep(write_sweep(tmp_path, grid)), tmp_path / "r", pngs=False)
    fig = to_matplotlib(figure(report, "throughput"))
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 1 and len(ax.get_lines()[0].get_xdata()) == 25
    assert len(ax.collections) == 1  # one ±1 std band, no error-bar collections
    assert ax.get_lines()[0].get_marker() in (None, "None", "")
