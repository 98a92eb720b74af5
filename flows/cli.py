"""``vivek``: the command line.

    vivek eval --models llamacpp:smollm2,replay:FILE --suite basic --samples 2
    vivek report RUN_DIR
    vivek compare RUN_A RUN_B

Bad input gets one sentence on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vivek", description="Evaluate code-generating LLMs.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("eval", help="generate, check and compare models on a suite")
    e.add_argument(
        "--models", help="comma-separated PROVIDER:MODEL list (default llamacpp:smollm2)"
    )
    e.add_argument("--suite", help="built-in suite name (basic, humaneval) or a .yaml/.jsonl path")
    e.add_argument("--samples", type=int, help="samples per task (default 1)")
    e.add_argument("--out", help="output folder or fsspec URL (default data/results)")
    e.add_argument("--config", help="TOML or YAML config file; flags override it")
    e.add_argument("--base-url", help="base URL for openai-compatible models")
    e.add_argument("--task-limit", type=int, help="only the first N tasks of the suite")
    e.add_argument("--temperature", type=float)
    e.add_argument("--max-tokens", type=int)
    e.add_argument("--seed", type=int)
    e.add_argument("--fresh", action="store_true", default=None, help="ignore cached generations")
    e.add_argument("--task-runner", choices=["thread", "dask"], help="where checks run")
    e.add_argument("--dask-address", help="scheduler address of an existing Dask cluster")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    r = sub.add_parser("report", help="rebuild summary and reports of a run from its Parquet files")
    r.add_argument("run_dir")
    r.add_argument("--primary", choices=["pass@1", "overall_score"], default="pass@1")
    c = sub.add_parser("compare", help="compare each model between two runs")
    c.add_argument("run_a")
    c.add_argument("run_b")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from tasks.errors import UsageError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["alerts"], ["server"]):  # small commands with parsers of their own
        from flows import alerts, server

        try:
            return (alerts if argv[0] == "alerts" else server).main(argv[1:])
        except UsageError as exc:
            print(f"vivek: {exc}", file=sys.stderr)
            return 2
    args = _parser().parse_args(argv)

    try:
        if args.command == "eval":
            return _eval(args)
        if args.command == "report":
            return _report(args)
        return _compare(args)
    except UsageError as exc:
        print(f"vivek: {exc}", file=sys.stderr)
        return 2


def _eval(args: argparse.Namespace) -> int:
    import asyncio

    from tasks.config import load_config

    overrides = {
        "models": [m for m in args.models.split(",") if m.strip()] if args.models else None,
        "suite": args.suite,
        "samples": args.samples,
        "out": args.out,
        "base_url": args.base_url,
        "task_limit": args.task_limit,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
        "fresh": args.fresh,
        "task_runner": args.task_runner,
        "dask_address": args.dask_address,
    }
    cfg = load_config(args.config, overrides)
    from flows.server import ensure_server

    server = ensure_server()  # before Prefect reads its settings
    if server is not None:
        print(f"Prefect UI: {server.ui_url} (kept for the next run; `vivek server stop` ends it)")
    from flows.evaluate import PROGRESS_LISTENERS, evaluate, new_run_id, prepare

    plan = prepare(cfg, new_run_id())  # validates everything before anything is written
    flow = evaluate
    if cfg.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        runner = DaskTaskRunner(address=cfg.dask_address) if cfg.dask_address else DaskTaskRunner()
        flow = evaluate.with_options(task_runner=runner)
    bar = None if args.no_progress else _ProgressBar()
    if bar:
        PROGRESS_LISTENERS.append(bar.update)
    try:
        params = {k: v for k, v in overrides.items() if k not in ("task_runner", "dask_address")}
        paths = asyncio.run(flow(config=args.config, run_id=plan.run_id, **params))
    finally:
        if bar:
            bar.close()
            PROGRESS_LISTENERS.remove(bar.update)
    _print_paths(paths)
    return 0


def _print_paths(paths: dict[str, str]) -> None:
    from tasks.results import read_table

    print(f"run {paths.get('run_id', '')}")
    for name in ("results", "summary", "comparisons", "report_md", "report_html"):
        if name in paths:
            print(f"  {name:12} {paths[name]}")
    if "summary" in paths:
        summary = read_table(paths["summary"]).to_pylist()
        decision = summary[0].get("decision") if summary else None
        if decision:
            print(decision)


def _report(args: argparse.Namespace) -> int:
    from flows.aggregate import build_run_reports
    from tasks.errors import UsageError

    if (
        not os.path.exists(os.path.join(args.run_dir, "results.parquet"))
        and "://" not in args.run_dir
    ):
        raise UsageError(f"{args.run_dir}: no results.parquet in this folder.")
    paths = build_run_reports(args.run_dir, args.primary)
    _print_paths(paths)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from flows.aggregate import compare_run_dirs
    from tasks.errors import UsageError

    for run in (args.run_a, args.run_b):
        if not os.path.exists(os.path.join(run, "results.parquet")) and "://" not in run:
            raise UsageError(f"{run}: no results.parquet in this folder.")
    table = compare_run_dirs(args.run_a, args.run_b)
    print(table)
    return 0


class _ProgressBar:
    """A rich progress bar fed by the flow's Progress counters."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self.rich = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.gen = self.rich.add_task("generate", total=None, detail="")
        self.chk = self.rich.add_task("check", total=None, detail="")
        self.rich.start()

    def update(self, progress) -> None:
        self.rich.update(
            self.gen,
            total=progress.total,
            completed=progress.generated,
            detail=f"cached {progress.cached}",
        )
        self.rich.update(
            self.chk,
            total=progress.total,
            completed=progress.checked,
            detail=f"not passing {progress.failures}",
        )

    def close(self) -> None:
        self.rich.stop()


if __name__ == "__main__":
    raise SystemExit(main())
