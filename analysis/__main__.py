"""Sweeps as tables, plots and reports from MLflow or job dirs: report, compare, export, sync."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from analysis.baseline import resolve_baseline, tag_baseline
from analysis.compare import DEFAULT_METRICS, compare_sweeps, to_markdown
from analysis.errors import AnalysisError
from analysis.export import write_runs
from analysis.gates import check_gates, gates_json, gates_markdown, parse_fail_on
from analysis.load_dirs import find_sweep_dirs, is_sweep_dir
from analysis.load_mlflow import DEFAULT_EXPERIMENT, DEFAULT_TRACKING_URI
from analysis.loader import Sweep, load_dirs_root, load_experiment, load_sweep
from analysis.report import default_out_dir, log_report, make_report
from analysis.sync import sync_sweep_dirs


def add_store_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        default=DEFAULT_TRACKING_URI,
        help=f"MLflow tracking URI (default {DEFAULT_TRACKING_URI})",
    )
    parser.add_argument(
        "--experiment",
        default=DEFAULT_EXPERIMENT,
        help=f"MLflow experiment (default {DEFAULT_EXPERIMENT})",
    )


def job_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--jobs: expected job numbers like 0,3,5: {text}"
        ) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    report = sub.add_parser("report", help="plots + HTML report of one sweep")
    report.add_argument("sweep", help="sweep run id or name (MLflow), or a sweep dir")
    report.add_argument("--out", type=Path, help="output dir (default <sweep dir>/report)")
    report.add_argument("--x", help="load-axis param (default: the swept concurrency/rate)")
    report.add_argument("--facet", help="param whose values split the panels")
    report.add_argument("--jobs", type=job_list, help="job numbers for CDF / server plots")
    report.add_argument("--log", action="store_true", help="also log to the sweep's MLflow run")
    report.add_argument("--no-png", action="store_true", help="HTML only")
    add_store_args(report)

    compare = sub.add_parser(
        "compare",
        help="two sweeps side by side with ratios; --fail-on gates (exit 1 on a regression)",
    )
    compare.add_argument(
        "sweeps",
        nargs="+",
        metavar="SWEEP",
        help="A B, or B alone with --baseline (run id / name / dir)",
    )
    compare.add_argument("--baseline", help="A = the newest sweep tagged as this baseline")
    compare.add_argument(
        "--fail-on",
        help="gates, e.g. 'p99_ttft_ms:+10%%,output_throughput:-5%%': exit 1 when B is worse "
        "than A beyond one at any matched point (with repeats: only when significant)",
    )
    compare.add_argument("--json", type=Path, help="write the comparison and gates as JSON here")
    compare.add_argument(
        "--metrics",
        help=f"comma-separated result.json metric names (default: those of "
        f"{','.join(DEFAULT_METRICS)} the sweeps have)",
    )
    compare.add_argument("--alpha", type=float, default=0.05, help="significance level")
    compare.add_argument("--out", type=Path, help="dir for compare.md and compare.csv")
    add_store_args(compare)

    tag = sub.add_parser("tag-baseline", help="tag a sweep as baseline NAME (compare --baseline)")
    tag.add_argument("sweep", help="sweep run id or name (MLflow), or a sweep dir")
    tag.add_argument("name", help="baseline name, e.g. main")
    add_store_args(tag)

    export = sub.add_parser("export", help="all runs of an experiment as CSV / Parquet")
    export.add_argument("out", type=Path, help="output file (.csv or .parquet)")
    export.add_argument("--dirs", type=Path, help="read sweep dirs under this root, not MLflow")
    add_store_args(export)

    sync = sub.add_parser("sync", help="log job dirs that never reached MLflow")
    sync.add_argument("paths", nargs="+", type=Path, help="sweep dirs, or roots holding them")
    sync.add_argument("--no-artifacts", action="store_true", help="params/metrics/tags only")
    add_store_args(sync)
    return parser


def run_report(args: argparse.Namespace) -> None:
    sweep = load_sweep(args.sweep, args.tracking_uri, args.experiment)
    out = args.out or default_out_dir(sweep)
    report = make_report(
        sweep, out, x=args.x, facet=args.facet, jobs=args.jobs, pngs=not args.no_png
    )
    print(f"report: {report.html}")
    for png in report.pngs:
        print(f"  {png}")
    if args.log:
        run_id = log_report(
            out,
            sweep.sweep_run_id,
            sweep.tracking_uri or args.tracking_uri,
            sweep.sweep_dir,
            args.experiment,
        )
        print(f"logged to MLflow run {run_id} under report/")


def compared_sources(args: argparse.Namespace) -> tuple[str, str]:
    if args.baseline:
        if len(args.sweeps) != 1:
            raise AnalysisError("compare --baseline NAME: give one sweep (B), not two")
        return resolve_baseline(args.baseline, args.tracking_uri, args.experiment), args.sweeps[0]
    if len(args.sweeps) != 2:
        raise AnalysisError("compare: give two sweeps A B (or --baseline NAME and B)")
    return args.sweeps[0], args.sweeps[1]


def run_compare(args: argparse.Namespace) -> int:
    gates = parse_fail_on(args.fail_on) if args.fail_on else []
    source_a, source_b = compared_sources(args)
    a = load_sweep(source_a, args.tracking_uri, args.experiment)
    b = load_sweep(source_b, args.tracking_uri, args.experiment)
    named = [m.strip() for m in (args.metrics or "").split(",") if m.strip()]
    gated = [g.metric for g in gates if g.metric not in named]
    # the defaults (those the sweeps have) unless --metrics names them; gated ones always
    metrics = [*(named or default_metrics(a, b)), *gated]
    cmp = compare_sweeps(a, b, list(dict.fromkeys(metrics)), alpha=args.alpha)
    checks = check_gates(cmp, gates)
    text = gates_markdown(cmp, checks) if gates else to_markdown(cmp)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(gates_json(cmp, checks), indent=2) + "\n")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "compare.md").write_text(text + "\n")
        cmp.table.to_csv(args.out / "compare.csv", index=False)
        print(f"\nwritten: {args.out / 'compare.md'}, {args.out / 'compare.csv'}")
    return 1 if any(c.failed for c in checks) else 0


def default_metrics(a: Sweep, b: Sweep) -> list[str]:
    have = set(a.runs.columns) | set(b.runs.columns)
    return [m for m in DEFAULT_METRICS if f"metrics.{m}" in have]


def run_tag_baseline(args: argparse.Namespace) -> None:
    run_id = tag_baseline(args.sweep, args.name, args.tracking_uri, args.experiment)
    print(f"sweep run {run_id} tagged sweeper.baseline={args.name}")


def run_export(args: argparse.Namespace) -> None:
    if args.dirs:
        frame = load_dirs_root(args.dirs)
    else:
        frame = load_experiment(args.tracking_uri, args.experiment)
    path = write_runs(frame, args.out)
    print(f"exported {len(frame)} run(s) to {path}")


def run_sync(args: argparse.Namespace) -> None:
    sweep_dirs: list[Path] = []
    for path in args.paths:
        if not path.is_dir():
            raise AnalysisError(f"sync: {path} is not a directory")
        sweep_dirs += [path] if is_sweep_dir(path) else find_sweep_dirs(path)
    if not sweep_dirs:
        raise AnalysisError(f"sync: no sweep dirs in {', '.join(map(str, args.paths))}")
    outcome = sync_sweep_dirs(
        sweep_dirs, args.tracking_uri, args.experiment, artifacts=not args.no_artifacts
    )
    print(
        f"synced {len(outcome.created)} job dir(s) to {args.tracking_uri}; "
        f"{len(outcome.skipped)} already there"
    )


COMMANDS: dict[str, Callable[[argparse.Namespace], int | None]] = {
    "report": run_report,
    "compare": run_compare,
    "tag-baseline": run_tag_baseline,
    "export": run_export,
    "sync": run_sync,
}


def main(argv: Sequence[str] | None = None) -> int:
    """0, 1 when a compare gate failed, 2 on an error (one line)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args) or 0
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
