"""The HTML report opens in headless Chromium with no console errors and every figure drawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.loader import load_sweep
from analysis.report import make_report
from analysis.synthetic import SyntheticGrid, write_sweep
from tests.integration.analysis.chromium_page import chromium_binary, load_page

PLOTS_JS = """JSON.stringify(Array.from(document.querySelectorAll('.js-plotly-plot'))
  .map(d => [d.id, d.data.length, d.querySelectorAll('.main-svg').length]))"""


def test_report_html_loads_without_console_errors(tmp_path: Path) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.fail("chromium not installed: apt-get install -y chromium")
    sweep = load_sweep(write_sweep(tmp_path / "sweeps", SyntheticGrid()))
    report = make_report(sweep, tmp_path / "report", pngs=False)
    page = report.html.read_text()
    assert "<script src=" not in page  # self-contained: plotly.js inlined, nothing fetched
    result = load_page(binary, report.html, PLOTS_JS)
    assert result.errors == []
    assert [u for u in result.requests if not u.startswith(("file:", "data:"))] == []
    drawn = {name: (traces, svgs) for name, traces, svgs in result.value}
    expected = {
        f"fig-{spec.key}": sum(len(p.series) for p in spec.all_panels()) for spec in report.figures
    }
    assert {k: v[0] for k, v in drawn.items()} == expected
    assert expected["fig-throughput"] == 4 and expected["fig-cdf"] == 24
    assert all(svgs > 0 for _, svgs in drawn.values())


def test_a_broken_page_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: a page with a script error reports it."""
    binary = chromium_binary()
    if binary is None:
        pytest.fail("chromium not installed: apt-get install -y chromium")
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><script>console.error('boom'); undefinedFn();</script></body></html>"
    )
    result = load_page(binary, page, "JSON.stringify(1)", settle_s=0.2)
    assert any("boom" in e for e in result.errors)
    assert any("undefinedFn" in e for e in result.errors)
