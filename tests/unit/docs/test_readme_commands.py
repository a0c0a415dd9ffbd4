"""The README cannot drift from the code: every `python -m sweeper …` command of its code blocks
composes with `plan=true` (in process: `make_plan`, nothing starts), and so does every override
example of its prose, read as a shell reads it. A broken one fails naming the README line and
the command.

What is not composed as written is listed below with its reason; a last test checks each list
against the README, so an entry goes stale loudly.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf

from instruments.errors import ConfigError
from sweeper.plan import PLAN_FLAGS, Plan, make_plan
from sweeper.schema import CONF_DIR, RunSpec, register
from tests.helpers.processes import run_captured
from tests.integration.faults.test_bad_inputs import cases as bad_input_cases
from tests.unit.docs.readme_commands import (
    SWEEPER,
    Command,
    Example,
    fenced_commands,
    inline_examples,
    readme_text,
)

TEXT = readme_text()
COMMANDS = fenced_commands(TEXT)
EXAMPLES = inline_examples(TEXT)

# Hydra's information flags print and exit before any job: such commands run as written
INFO_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i"}
# `# 6 jobs, 2 starts`: what the README says a plan gives
PLAN_COMMENT = re.compile(r"(\d+) jobs?, (\d+) (?:server )?starts?")

# backticked spans that look like overrides but are no example to compose
NOT_OVERRIDES = {
    "sweeper.kind=sweep": "an MLflow tag of the sweep run",
    "sweeper.status=SKIPPED": "an MLflow tag of a skipped job's run",
    "sweeper.saturated=true": "an MLflow tag of a saturated job's run",
    "sweeper.baseline=main": "an MLflow tag of a baseline sweep run",
    "mlflow.experimentKind=custom_model_development": "an MLflow experiment tag",
    "key=value": "the override syntax",
    "-m key=a,b,c": "the sweep syntax",
}
# placeholders of the prose (whole words of a value) and what stands in for them
PLACEHOLDERS = {"K": "2", "N": "2", "DIR": "/data/images", "HOST": "127.0.0.1", "[...]": "[0,1]"}
# the group an example's key needs, named by the sentence or table row the example sits in
CONTEXT = {
    "server.argv": ("server=command",),  # the `command` row of the server table
    "hydra.sweeper.param": ("hydra/sweeper=slo_search",),  # the SLO capacity search
    "objective": ("+experiment=tune_server",),  # the server-config tuning paragraph
    "load.backend": ("dataset=rerank", "load=rerank"),  # the `pooling` row: /score
}
# examples that say what a preset sweeps: composed as a sweep (`-m`)
SWEPT = {"load=embeddings,rerank"}
# its overrides are wrong on purpose (see test_fault_table_overrides_are_run_by_the_faults_suite)
FAULTS_SECTION = "What happens when things go wrong"
# README text that fails as a user types it, until the README is fixed; the xfail is strict,
# and the last test fails once the text is gone: then delete the entry
README_FIXES_PENDING: dict[str, str] = {}


def single_run_sweeps(args: list[str]) -> list[str]:
    """Overrides Hydra rejects without -m ("Ambiguous value"): a comma list read as a sweep."""
    if "-m" in args or "--multirun" in args:
        return []
    parsed = OverridesParser.create().parse_overrides([a for a in args if a not in PLAN_FLAGS])
    return [o.input_line or o.key_or_group for o in parsed if o.is_sweep_override()]


def plan_or_fail(line: int, shown: str, args: list[str]) -> Plan:
    """`make_plan` of `args` as `python -m sweeper ARGS plan=true` would; a failure names the
    README line and `shown` (the text as the README has it)."""
    where = f"README.md:{line}: `{shown}`"
    try:
        ambiguous = single_run_sweeps(args)
        if not ambiguous:
            return make_plan([a for a in args if a not in PLAN_FLAGS], CONF_DIR, history=False)
    except (ConfigError, HydraException) as e:
        pytest.fail(f"{where} (as {shlex.join(args)}) does not compose with plan=true: {e}")
    pytest.fail(
        f"{where} typed in a shell gives Hydra {ambiguous}, a sweep without -m, which it rejects "
        "(quote for Hydra inside the shell's quotes: \"key='a,b'\")"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: f"line{c.line}")
def test_readme_command_composes(command: Command) -> None:
    args = list(command.args)
    if INFO_FLAGS & set(args):
        done = run_captured([sys.executable, *SWEEPER[1:], *args], timeout=120)
        assert done.returncode == 0, f"README.md:{command.line}: `{command.text}`: {done.stderr}"
        assert done.stdout.strip(), f"README.md:{command.line}: `{command.text}` printed nothing"
        return
    plan = plan_or_fail(command.line, command.text, args)
    said = PLAN_COMMENT.search(command.comment)
    if said:
        assert (len(plan.jobs), plan.starts) == (int(said[1]), int(said[2])), (
            f"README.md:{command.line}: `{command.text}` says {said[0]!r}; the plan has "
            f"{len(plan.jobs)} jobs, {plan.starts} starts"
        )


def with_placeholders(word: str) -> str:
    key, _, value = word.partition("=")
    for placeholder, stand_in in PLACEHOLDERS.items():
        value = re.sub(rf"(?<!\w){re.escape(placeholder)}(?!\w)", stand_in, value)
    return f"{key}={value}"


def example_args(example: Example) -> list[str]:
    words = [w if w == "-m" else with_placeholders(w) for w in example.words]
    context = [c for w in words for c in CONTEXT.get(w.partition("=")[0].lstrip("+~"), ())]
    sweep = ["-m"] if example.text in SWEPT else []
    return [*sweep, *context, *words]


def example_cases() -> list[object]:
    cases: list[object] = []
    for e in EXAMPLES:
        if e.text in NOT_OVERRIDES or e.section == FAULTS_SECTION:
            continue
        pending = README_FIXES_PENDING.get(e.span)
        marks = [pytest.mark.xfail(strict=True, reason=f"README: {pending}")] if pending else []
        cases.append(pytest.param(e, marks=marks, id=f"line{e.line}:{e.span}"))
    return cases


@pytest.mark.parametrize("example", example_cases())
def test_readme_inline_override_composes(example: Example) -> None:
    plan_or_fail(example.line, example.span, example_args(example))


def test_fault_table_overrides_are_run_by_the_faults_suite() -> None:
    """The fault table's overrides are wrong on purpose: tests/integration/faults/
    test_bad_inputs.py runs each as a user would and checks its one-line error."""
    faults = {e.text for e in EXAMPLES if e.section == FAULTS_SECTION}
    suite = {" ".join(c.overrides) for c in bad_input_cases(Path("/data")).values()}
    assert faults, f"no override examples under {FAULTS_SECTION!r}"
    assert faults <= suite, f"fault-table examples no test runs: {sorted(faults - suite)}"


def test_the_lists_of_this_test_match_the_readme() -> None:
    assert COMMANDS, "no `python -m sweeper` command found in the README"
    texts = {e.text for e in EXAMPLES}
    keys = {w.partition("=")[0].lstrip("+~") for e in EXAMPLES for w in e.words}
    spans = {e.span for e in EXAMPLES}
    assert texts >= set(NOT_OVERRIDES), f"stale: {sorted(set(NOT_OVERRIDES) - texts)}"
    assert texts >= SWEPT, f"stale: {sorted(SWEPT - texts)}"
    assert keys >= set(CONTEXT), f"stale: {sorted(set(CONTEXT) - keys)}"
    fixed = sorted(set(README_FIXES_PENDING) - spans)
    assert not fixed, f"the README was fixed: delete from README_FIXES_PENDING {fixed}"


def test_a_broken_command_fails_naming_it() -> None:
    broken = Command(("-m", "concurrency=1,abc"), 7, "")
    with pytest.raises(pytest.fail.Exception, match=r"README.md:7: .*concurrency=1,abc"):
        test_readme_command_composes(broken)
    with pytest.raises(pytest.fail.Exception, match=r"`server.cpus=0,2` typed in a shell"):
        plan_or_fail(9, "server.cpus=0,2", ["server.cpus=0,2"])


def composed_spec(*overrides: str) -> RunSpec:
    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        spec = OmegaConf.to_object(compose(config_name="config", overrides=list(overrides)))
    assert isinstance(spec, RunSpec)
    return spec


def test_free_form_maps_take_new_keys_from_a_plain_override() -> None:
    overrides = ["load.extra_body={temperature:0.7}", "load.headers={X-Trace:abc}"]
    spec = composed_spec(*overrides)
    assert spec.load.extra_body == {"temperature": 0.7}
    assert spec.load.headers == {"X-Trace": "abc"}
    (job,) = plan_or_fail(0, " ".join(overrides), overrides).jobs
    assert job.params["load.extra_body.temperature"] == "0.7"
    assert job.params["load.headers.X-Trace"] == "abc"
