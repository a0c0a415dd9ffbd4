"""The README's "What happens when things go wrong" table is the one this suite checks."""

from __future__ import annotations

from tests.helpers.processes import REPO
from tests.integration.faults.report import EXPECTED, markdown


def test_readme_holds_the_fault_table() -> None:
    readme = (REPO / "README.md").read_text()
    assert "## What happens when things go wrong" in readme
    assert markdown(list(EXPECTED.values())) in readme, (
        "README table out of date: paste `python -m tests.integration.faults.report`"
    )
