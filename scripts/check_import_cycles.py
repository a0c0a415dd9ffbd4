"""Fail when any module of sweeper's packages is part of an import cycle.

Counts every import grimp sees — at module level, inside functions (lazy) and under
`if TYPE_CHECKING:` — since a cycle held together by a lazy or type-only import is still a
cycle a reader has to hold in their head. The layer rules live in pyproject.toml
(`[tool.importlinter]`, run by `lint-imports`); this adds what import-linter does not check.

    python scripts/check_import_cycles.py      # exit 1 and the cycles, or "no import cycles"
"""

from __future__ import annotations

import sys

import grimp

PACKAGES = (
    "instruments", "launchers", "sweeper", "analysis",
    "hydra_plugins.sweeper_slo_search", "hydra_plugins.sweeper_launchers",
)  # fmt: skip


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    imported = graph.find_modules_directly_imported_by(child)
                    work.append((child, iter(sorted(imported))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    found = cycles(graph)
    for component in found:
        print("import cycle:", " <-> ".join(component))
        for a in component:
            for b in component:
                if a != b and graph.direct_import_exists(importer=a, imported=b):
                    lines = graph.get_import_details(importer=a, imported=b)
                    where = ", ".join(f"line {d['line_number']}" for d in lines)
                    print(f"    {a} -> {b} ({where})")
    if not found:
        print("no import cycles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
