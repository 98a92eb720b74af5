"""``vivek``: the command line.

    vivek eval --models llamacpp:smollm2,replay:FILE --suite basic --samples 2
    vivek report RUN_DIR
    vivek compare RUN_A RUN_B

``eval``'s options are generated from :class:`tasks.config.RunConfig`'s fields (the one
list of options). Bad input gets one sentence on stderr and exit code 2, before any
generation and with nothing written. Ctrl-C (SIGINT) and SIGTERM end with one line and
exit codes 130 and 143; finished generations and checks are kept in the cache.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import types
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flows.stops import StopGuard, stop_line

if TYPE_CHECKING:
    from flows.server import OwnedServer

# Logs go to the Prefect API at INFO (the flow run's Logs tab); the terminal shows only
# Vivek's own warnings, the progress bar and the result, never Prefect's chatter.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "vivek,tasks",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # e.g. `vivek report`
}
VIVEK_LOGGERS = ("vivek", "tasks")
CLI_ONLY = ("config", "no_progress")


def _option(annotation: Any) -> dict[str, Any] | None:
    """argparse keywords for a RunConfig field's type; None for tables (config file only)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if annotation in (str, int, float):
        return {"type": annotation}
    if origin is typing.Literal:
        return {"choices": list(typing.get_args(annotation))}
    if origin is list and typing.get_args(annotation) == (str,):
        return {"type": lambda text: [m.strip() for m in text.split(",") if m.strip()]}
    return None


def config_options(parser: argparse.ArgumentParser) -> list[str]:
    """Add one ``--flag`` per scalar RunConfig field; return the field names added."""
    from tasks.config import RunConfig

    names = []
    for name, field in RunConfig.model_fields.items():
        kwargs = _option(field.annotation)
        if kwargs is None:
            continue
        default = field.get_default(call_default_factory=True)
        help_ = field.description or ""
        if default not in (None, False, []):
            shown = ",".join(default) if isinstance(default, list) else default
            help_ += f" (default {shown})"
        parser.add_argument(f"--{name.replace('_', '-')}", default=None, help=help_, **kwargs)
        names.append(name)
    return names


class _Parser(argparse.ArgumentParser):
    """Usage errors in one sentence, like every other bad input (exit code 2)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help).\n")


def _parser() -> tuple[argparse.ArgumentParser, list[str]]:
    from tasks.metrics import METRICS

    p = _Parser(prog="vivek", description="Evaluate code-generating LLMs.", allow_abbrev=False)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    e = sub.add_parser(
        "eval", help="generate, check and compare models on a suite", allow_abbrev=False
    )
    fields = config_options(e)
    e.add_argument("--config", help="TOML or YAML config file; flags override it")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    r = sub.add_parser(
        "report",
        help="rebuild summary and reports of a run from its Parquet files (finishes a "
        "run interrupted during aggregation)",
        allow_abbrev=False,
    )
    r.add_argument("run_dir")
    c = sub.add_parser("compare", help="compare each model between two runs", allow_abbrev=False)
    c.add_argument("run_a")
    c.add_argument("run_b")
    for command, whose in ((r, "the run's"), (c, "run B's")):
        command.add_argument(
            "--primary-metric",
            choices=METRICS,
            help=f"metric that ranks models and decides (default: {whose} own, its meta.json)",
        )
    s = sub.add_parser(
        "server",
        help="start or stop a local Prefect server that later runs reuse (fast starts); "
        "status exits 3 when none runs",
        allow_abbrev=False,
    )
    s.add_argument("action", choices=["start", "stop", "status"])
    s.add_argument(
        "--all",
        action="store_true",
        help="with stop: every server vivek started for this user, whatever its PREFECT_HOME",
    )
    return p, fields


class _Terminated(Exception):
    """SIGTERM arrived (a worker or ``kill`` stopping the run)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    # Inside a flow run Prefect's own handler takes over and raises TerminationSignal.
    raise _Terminated


def _terminal_logging() -> None:
    """Vivek's warnings, one line each, on stderr (Prefect's console handler is muted)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("vivek: %(levelname)s: %(message)s"))
    for name in VIVEK_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from tasks.errors import UsageError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["alerts"]:  # notification block and automation: a parser of its own
        from flows import alerts

        try:
            return alerts.main(argv[1:])
        except UsageError as exc:
            print(f"vivek: {exc}", file=sys.stderr)
            return 2
    parser, fields = _parser()
    args = parser.parse_args(argv)

    try:
        if args.command == "eval":
            return _eval(args, fields)
        if args.command == "report":
            return _report(args)
        if args.command == "server":
            return _server(args)
        return _compare(args)
    except UsageError as exc:
        print(f"vivek: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(stop_line("interrupted"), file=sys.stderr)
        return 130
    except BaseException as exc:  # Prefect's TerminationSignal is a BaseException
        if not _is_termination(exc):
            raise
        print(stop_line("terminated"), file=sys.stderr)
        return 143


def _is_termination(exc: BaseException) -> bool:
    if isinstance(exc, _Terminated):
        return True
    from prefect.exceptions import TerminationSignal

    return isinstance(exc, TerminationSignal)


def _eval(args: argparse.Namespace, fields: list[str]) -> int:
    import asyncio
    import logging

    from tasks.config import load_config
    from tasks.run.plan import new_run_id, prepare

    cfg = load_config(args.config, {name: getattr(args, name) for name in fields})
    plan = prepare(cfg, new_run_id())  # validates everything before anything is generated
    logging.getLogger("distributed").setLevel(logging.WARNING)
    from flows.evaluate import evaluate
    from flows.local import PLAN as LOCAL_PLAN
    from flows.local import PROGRESS as LOCAL_PROGRESS
    from flows.local import STARTED as LOCAL_STARTED
    from flows.server import prefect_api

    flow = evaluate
    if cfg.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        # A temporary local cluster's dashboard takes any free port (prefect-dask logs its
        # link): two runs on one machine must not both ask for Dask's default 8787.
        runner = (
            DaskTaskRunner(address=cfg.dask_address)
            if cfg.dask_address
            else DaskTaskRunner(cluster_kwargs={"dashboard_address": ":0"})
        )
        flow = evaluate.with_options(task_runner=runner)  # type: ignore[arg-type]
    _terminal_logging()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    bar = None
    tokens: tuple = ()
    guard: StopGuard | None = None
    try:
        with prefect_api() as owned:
            bar = None if args.no_progress else _ProgressBar()
            guard = StopGuard(on_leave=lambda run_id, how: _forced_stop(owned, run_id, how))
            tokens = (
                LOCAL_PLAN.set(plan),
                LOCAL_PROGRESS.set(bar.update if bar else None),
                LOCAL_STARTED.set(guard.started),
            )
            try:
                paths = asyncio.run(flow(run=cfg, run_id=plan.run_id))
            except BaseException as exc:
                # A server that outlives this command shows the run: as Cancelled, not Crashed.
                stopped = isinstance(exc, KeyboardInterrupt) or _is_termination(exc)
                if stopped and owned is None and guard.flow_run_id:
                    how = "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated"
                    _mark_cancelled(guard.flow_run_id, how)
                raise
            finally:
                guard.close()
            # A per-command server dies with the command: its page would not open.
            link = None if owned is not None else _flow_run_link(paths.get("flow_run_id"))
    finally:
        if bar:
            bar.close()
        signal.signal(signal.SIGTERM, previous)
        if tokens:  # an in-process caller (tests, notebooks) must not inherit this plan
            LOCAL_PLAN.reset(tokens[0])
            LOCAL_PROGRESS.reset(tokens[1])
            LOCAL_STARTED.reset(tokens[2])
    _print_paths(paths)
    if link:
        print(f"  flow run     {link}")
    return 0


def _forced_stop(owned: OwnedServer | None, flow_run_id: str | None, how: str) -> None:
    """The run did not unwind in time after a stop signal: leave the server tidy."""
    if owned is not None:
        owned.stop()
    elif flow_run_id:
        _mark_cancelled(flow_run_id, how)


def _mark_cancelled(flow_run_id: str, how: str) -> None:
    """Set the stopped run's state to Cancelled, quickly; a failure here changes nothing."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled

    message = f"{how} by a signal to vivek eval; finished cells are cached, rerun to resume"
    with contextlib.suppress(Exception), get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Cancelled(message=message), force=True)


def _flow_run_link(flow_run_id: str | None) -> str | None:
    """The flow run's page in the Prefect UI, when the server the run used serves one."""
    if not flow_run_id:
        return None
    from prefect.settings import PREFECT_UI_URL

    ui = PREFECT_UI_URL.value()
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui else None


def _server(args: argparse.Namespace) -> int:
    from flows.server import server_command

    return server_command(args.action, every=args.all)


def _print_paths(paths: dict[str, str]) -> None:
    from tasks.record.results import read_table
    from tasks.stats.schema import SummaryRow

    print(f"run {paths.get('run_id', '')}")
    for name in ("results", "summary", "comparisons", "report_md", "report_html"):
        if name in paths:
            print(f"  {name:12} {paths[name]}")
    if "summary" in paths:
        summary = SummaryRow.read(read_table(paths["summary"]))
        if summary and summary[0].decision:
            print(summary[0].decision)
    # What changed since the previous comparable run, in the webhook's words.
    if paths.get("changes"):
        print(paths["changes"])


def _report(args: argparse.Namespace) -> int:
    from flows.aggregate import build_run_reports
    from tasks.errors import UsageError

    if (
        not os.path.exists(os.path.join(args.run_dir, "results.parquet"))
        and "://" not in args.run_dir
    ):
        raise UsageError(f"{args.run_dir}: no results.parquet in this folder.")
    paths = build_run_reports(args.run_dir, args.primary_metric)
    _print_paths(paths)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from flows.aggregate import compare_run_dirs
    from tasks.errors import UsageError

    for run in (args.run_a, args.run_b):
        if not os.path.exists(os.path.join(run, "results.parquet")) and "://" not in run:
            raise UsageError(f"{run}: no results.parquet in this folder.")
    table = compare_run_dirs(args.run_a, args.run_b, args.primary_metric)
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


def entry() -> None:  # pragma: no cover - the console script; tests call main()
    """``vivek``: run, then leave without interpreter finalization.

    Native threads (Arrow's scan threads among them) can still hold Python objects when the
    interpreter finalizes, and the process then aborts ("terminate called without an
    active exception") after the work is done. Exit handlers still run.
    """
    import atexit

    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)
