"""Host side: a pool of long-lived sandboxed workers (forkservers), one job at a time each."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import queue
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from tasks.errors import SandboxError
from tasks.sandbox import bwrap
from tasks.sandbox.cgroups import SampleCgroup
from tasks.sandbox.cgroups import detect as detect_cgroups
from tasks.sandbox.cgroups import sweep_stale as sweep_stale_cgroups
from tasks.sandbox.inside import protocol
from tasks.sandbox.jobs import job_messages
from tasks.sandbox.types import ExecResult, Job, Limits
from tasks.sandbox.verdict import decide

log = logging.getLogger(__name__)
START_TIMEOUT_S = 60.0
# Room for the worker's own bookkeeping beyond the sample's wall limit.
REPLY_MARGIN_S = 15.0
# Sample uids are random and unique per worker, so RLIMIT_NPROC and the leftover sweep
# never mix two workers (or two Sandboxes) up.
UID_RANGE = (1_000_000, 2_000_000_000)
# Verdicts worth a second look: a limit on a loaded machine, or our own failure.
RETRIED = frozenset({"timeout", "oom", "sandbox_error"})
# Limits on CPU time: another core's load barely moves a process's own CPU time, so such
# a sample is rerun at once on its own worker (pinned to its core), not alone at the end.
CPU_LIMITS = frozenset({"cpu", "tree_cpu", "tester_cpu"})
# Bump when the sandbox changes what it reports for the same job (part of cache keys).
SANDBOX_VERSION = "forkserver-1"


class _Worker:
    """One worker process and its pipe; raises SandboxError on any protocol failure.

    ``spawn`` runs ``Popen`` on the Sandbox's long-lived spawner thread: bwrap's
    ``--die-with-parent`` fires when the *thread* that started it exits.
    """

    def __init__(
        self,
        backend: str,
        limits: Limits,
        drop_uid: bool,
        spawn: Executor,
        cgroups: bool,
        cpu: int | None = None,
    ) -> None:
        self.uid = secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) + UID_RANGE[0]
        # The tests run as another uid: the solution cannot signal, trace or read them.
        self.test_uid = self.uid + 1 if self.uid + 1 < UID_RANGE[1] else self.uid - 1
        self.home = tempfile.mkdtemp(prefix="vivek-sbx-")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.hello: dict[str, Any] = {}
        self.cgroup = SampleCgroup.create(self.uid, limits) if cgroups else SampleCgroup.none()
        where = (self.cgroup.kind, self.cgroup.dirs)
        if backend == "bwrap":
            tmp_mb = max(64, 4 * limits.fsize_mb)
            argv = bwrap.bwrap_command((self.uid, self.test_uid), tmp_mb, where, cpu)
            cwd = "/"
        else:
            os.chmod(self.home, 0o755)
            uids = (self.uid, self.test_uid) if drop_uid else None
            argv = bwrap.plain_command(os.path.join(self.home, "run"), uids, where, cpu)
            cwd = self.home
        env = dict(bwrap.CLEAN_ENV, HOME=self.home if backend != "bwrap" else "/tmp")
        try:
            self.proc = spawn.submit(
                subprocess.Popen, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self.log, env=env, cwd=cwd, start_new_session=True,
            ).result()  # fmt: skip
        except OSError as exc:
            self.log.close()
            shutil.rmtree(self.home, ignore_errors=True)
            self.cgroup.remove()
            raise SandboxError(f"cannot start a sandbox worker: {exc}") from exc

    def wait_ready(self) -> None:
        try:
            self.hello = self._recv(START_TIMEOUT_S)
        except SandboxError:
            self.close()
            raise

    def call(
        self, header: dict[str, Any], blob: bytes, timeout: float
    ) -> tuple[protocol.WorkerReport, str, str, str]:
        """Send one job; its report, the verdict, and the tails of stdout and stderr."""
        body = json.dumps(header).encode()
        try:
            self.proc.stdin.write(protocol.pack(body) + blob)
            self.proc.stdin.flush()
        except (OSError, ValueError) as exc:  # ValueError: the pipe was closed already
            raise SandboxError(f"sandbox worker is gone: {exc}") from exc
        deadline = time.monotonic() + timeout
        raw = self._recv(timeout)
        if raw.get("worker_error"):
            raise SandboxError(f"sandbox worker failed: {raw['worker_error']}")
        try:
            report = protocol.WorkerReport.from_dict(raw)
        except TypeError as exc:
            raise SandboxError(f"sandbox worker sent a malformed report: {exc}") from exc
        texts = [
            self._read(n, deadline).decode("utf-8", "replace") if n else ""
            for n in (report.verdict_len, report.stdout_len, report.stderr_len)
        ]
        return report, *texts

    def _recv(self, timeout: float) -> dict[str, Any]:
        head = self._read(4, time.monotonic() + timeout)
        body = self._read(int.from_bytes(head, "big"), time.monotonic() + timeout)
        return json.loads(body)

    def _read(self, n: int, deadline: float) -> bytes:
        fd, buf = self.proc.stdout.fileno(), b""
        while len(buf) < n:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, n - len(buf)) if ready else None
            if not chunk:
                why = "timed out" if chunk is None else f"exited ({self.proc.poll()})"
                raise SandboxError(f"sandbox worker {why}: {self.stderr_tail()}")
            buf += chunk
        return buf

    def stderr_tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-500:].decode("utf-8", "replace").strip()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, 9)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.log):
            with contextlib.suppress(OSError):
                stream.close()
        shutil.rmtree(self.home, ignore_errors=True)
        self.cgroup.remove()


class Sandbox:
    """Runs jobs in long-lived sandboxed workers, one per core.

    Args:
        limits: per-sample resource limits.
        workers: number of worker processes (default: CPU count).
        isolation: ``"require"`` (bubblewrap or SandboxError), ``"auto"`` (bubblewrap,
            else rlimits only with a warning) or ``"none"`` (rlimits only).
    """

    def __init__(
        self,
        limits: Limits = Limits(),  # noqa: B008 - frozen, so sharing the default is safe
        workers: int | None = None,
        isolation: str = "auto",
    ) -> None:
        if isolation not in ("auto", "require", "none"):
            raise ValueError(f"isolation must be auto, require or none, not {isolation!r}")
        self.limits = limits
        self._cpus = sorted(os.sched_getaffinity(0))
        self._n = max(1, workers or len(self._cpus) or 1)
        self._drop_uid = os.geteuid() == 0
        self._cgroups = bool(detect_cgroups())
        if self._cgroups:
            sweep_stale_cgroups()
        self._workers: list[_Worker | None] = [None] * self._n
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="vivek-sandbox-spawner")
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._alone = threading.Lock()  # one rerun at a time gathers every slot
        for slot in range(self._n):
            self._free.put(slot)
        self._backend = "rlimit"
        if isolation != "none":
            reason = self._start_bwrap()
            if reason and isolation == "require":
                self.close()
                raise SandboxError(f"Sandbox isolation is required but {reason}.")
            if reason:
                msg = f"{reason}; running generated code with rlimits only (no isolation)"
                log.warning(msg)
                warnings.warn(msg, RuntimeWarning, stacklevel=2)
        if self._backend == "rlimit":
            # Without a mount namespace the sample uid must reach the interpreter itself
            # (it cannot when Python lives under /root): then samples keep our uid.
            roots = [*bwrap.python_roots(), str(bwrap.INSIDE_DIR)]
            self._drop_uid = self._drop_uid and all(map(bwrap.readable_by_others, roots))
            self._start_all()

    def _start_bwrap(self) -> str:
        """Start the workers in bubblewrap; return why not, or "" on success."""
        if bwrap.bwrap_version() is None:
            return "bubblewrap (bwrap) is not installed or cannot run"
        if not self._drop_uid:
            return "the bubblewrap backend needs root to drop samples to a private uid"
        self._backend = "bwrap"
        try:
            self._start_all()
        except SandboxError as exc:
            self._backend = "rlimit"
            return f"bubblewrap failed to start a worker ({exc})"
        return ""

    def _new_worker(self, slot: int) -> _Worker:
        # One core per worker: a sample's two processes answer each other dozens of times,
        # and on one core each answer costs microseconds, on two a cross-core wake-up.
        cpu = self._cpus[slot % len(self._cpus)] if self._cpus else None
        return _Worker(
            self._backend, self.limits, self._drop_uid, self._spawner, self._cgroups, cpu
        )

    def _start_all(self) -> None:
        workers = [self._new_worker(slot) for slot in range(self._n)]
        try:
            for w in workers:
                w.wait_ready()
        except SandboxError:
            for w in workers:
                w.close()
            raise
        self._workers = list(workers)

    def _restart(self, slot: int) -> None:
        old, self._workers[slot] = self._workers[slot], None
        if old is not None:
            old.close()
        try:
            worker = self._new_worker(slot)
        except SandboxError as exc:
            log.error("sandbox worker %d failed to start: %s", slot, exc)
            return
        try:
            worker.wait_ready()
        except SandboxError as exc:
            worker.close()
            log.error("sandbox worker %d failed to start: %s", slot, exc)
            return
        self._workers[slot] = worker

    @property
    def config(self) -> dict[str, Any]:
        """How samples are run; recorded with every result row."""
        hello = next((w.hello for w in self._workers if w is not None), {})
        return {
            "backend": self._backend,
            "bwrap_version": bwrap.bwrap_version() if self._backend == "bwrap" else None,
            "limits": self.limits.to_dict(),
            "network": self._backend != "bwrap",
            "filesystem_isolated": self._backend == "bwrap",
            "uid_dropped": self._drop_uid,
            "sample_uid_range": list(UID_RANGE) if self._drop_uid else None,
            "workers": self._n,
            "python": hello.get("python", sys.version.split()[0]),
            "coverage": hello.get("coverage_tool"),
            "cgroups": (hello.get("cgroups") or {}).get("kind"),
            "harness": "forkserver: a fresh solution process and tester per sample",
            "version": SANDBOX_VERSION,
            "limitations": self._limitations(hello),
        }

    def _limitations(self, hello: dict[str, Any]) -> list[str]:
        """What this configuration does not bound or separate, in words."""
        out = []
        cg = hello.get("cgroups") or {}
        if not cg.get("kind"):
            out.append(
                "no cgroups: memory_mb and nproc bound each process (RLIMIT_AS, RLIMIT_NPROC), "
                "not a sample's whole process tree" + (f" ({cg['why']})" if cg.get("why") else "")
            )
        if not self._drop_uid:
            out.append(
                "solution and tests share one uid: the solution runs without capabilities "
                "and the tester is not dumpable, but the solution can kill it"
            )
        return out

    def sample_uids(self) -> set[int]:
        """The private uids samples currently run as (two per worker: solution, tests)."""
        return {u for w in self._workers if w is not None for u in (w.uid, w.test_uid)}

    def run(self, jobs: Sequence[Job]) -> list[ExecResult]:
        """Run ``jobs`` spread over the workers; results come back in the same order.

        A job that hit a limit (or met a sandbox failure) runs once more without coverage
        (a verdict never depends on tracing), and its second verdict stands (``retried``,
        ``first_status``). The rerun of a CPU-time limit follows at once on the same
        worker; any other (wall time, memory, a sandbox failure) waits for the batch's end
        and runs alone, every other worker idle, so that no verdict depends on the
        machine's load either. Safe to call from several threads at once: each job
        borrows a free worker.
        """
        results: list[ExecResult] = [ExecResult(status="sandbox_error")] * len(jobs)

        def one(index: int) -> None:
            slot = self._free.get()
            try:
                first = self._guarded(slot, jobs[index])
                if first.status == "timeout" and first.details.get("limit") in CPU_LIMITS:
                    first = self._rerun(jobs[index], first, slot)
                results[index] = first
            finally:
                self._free.put(slot)

        if jobs:
            with ThreadPoolExecutor(min(self._n, len(jobs))) as pool:
                list(pool.map(one, range(len(jobs))))
        for i, (job, first) in enumerate(zip(jobs, results, strict=True)):
            if first.status in RETRIED and not first.retried:
                results[i] = self._rerun(job, first)
        return results

    def _rerun(self, job: Job, first: ExecResult, slot: int | None = None) -> ExecResult:
        """``job`` once more, untraced: on ``slot`` (held by the caller), else alone."""
        untraced = dataclasses.replace(job, measure_coverage=False)
        second = self._alone_run(untraced) if slot is None else self._guarded(slot, untraced)
        return dataclasses.replace(second, retried=True, first_status=first.status)

    def _alone_run(self, job: Job) -> ExecResult:
        """Run ``job`` with every worker of this sandbox idle (the others wait)."""
        with self._alone:  # one rerun at a time takes all the slots
            slots = [self._free.get() for _ in range(self._n)]
        try:
            return self._guarded(slots[0], job)
        finally:
            for slot in slots:
                self._free.put(slot)

    def _guarded(self, slot: int, job: Job) -> ExecResult:
        try:
            return self._run_one(slot, job)
        except Exception as exc:  # a bug of ours must not lose the other rows
            log.exception("sandbox failed on a job")
            return ExecResult(status="sandbox_error", error=repr(exc)[:300])

    def _run_one(self, slot: int, job: Job) -> ExecResult:
        limits = self.limits
        if job.cpu_s is not None and 0 < job.cpu_s < limits.cpu_s:
            limits = dataclasses.replace(limits, cpu_s=job.cpu_s)
        failure = ""
        for _attempt in range(2):  # a dead worker is ours, not the model's: retry once
            worker = self._workers[slot]
            if worker is None:
                self._restart(slot)
                worker = self._workers[slot]
                if worker is None:
                    failure = "sandbox worker could not be restarted"
                    continue
            nonce = secrets.token_hex(16)
            header, blob = job_messages(job, limits, nonce)
            try:
                report, verdict, out, err = worker.call(
                    header, blob, limits.wall_s + REPLY_MARGIN_S
                )
            except SandboxError as exc:
                failure = str(exc)
                log.warning("%s", worker.stderr_tail())
                log.warning("sandbox worker %d failed, restarting: %s", slot, exc)
                self._restart(slot)
                continue
            return decide(job, nonce, report, verdict, out, err)
        return ExecResult(status="sandbox_error", error=failure[:300])

    def close(self) -> None:
        for slot, worker in enumerate(self._workers):
            if worker is not None:
                worker.close()
                self._workers[slot] = None
        self._spawner.shutdown()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
