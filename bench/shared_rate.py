"""Shared rate limits: two concurrent runs call one endpoint under one Prefect limit.

A real ``prefect server start`` (own home and SQLite file), a loopback
OpenAI-compatible server that records when each request arrives and leaves, and
two client processes, each driving ``Limiter`` + the ``openai-compatible``
provider through the retry layer, released together. The figure is the busiest
minute's arrivals against the limit (for a run shorter than a minute, its rate
after the first window's burst); the requests in flight are counted from the same
timestamps (no clocks in asserts).

    python -m bench.shared_rate serve --port P --delay S     # the recording server
    python -m bench.shared_rate client --base-url U ...       # one run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import Outcome
from bench.fake_server import free_port

TARGET = 1.05
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 300.0


# -- the processes ------------------------------------------------------------------


@dataclass
class Child:
    """A process in its own session, logging to a file; stopped as a group."""

    popen: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, cmd: list[str], log: Path, env: dict[str, str]) -> Child:
        with log.open("ab") as fh:
            popen = subprocess.Popen(
                cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
            )  # fmt: skip
        return cls(popen, log)

    def tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-30:])

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=10)
                return


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    env.update(extra)
    return env


def _wait_ok(url: str, child: Child, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        if child.popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{child.tail()}")
        time.sleep(0.2)


@contextlib.contextmanager
def _serving(
    cmd: list[str], log: Path, env: dict[str, str], health: str, what: str
) -> Iterator[None]:
    """A child process started from ``cmd``, up once ``health`` answers 200; stopped after."""
    child = Child.start(cmd, log, env)
    try:
        _wait_ok(health, child, what)
        yield
    finally:
        child.stop()


@contextlib.contextmanager
def prefect_server(base: Path) -> Iterator[str]:
    """A real Prefect server on loopback; yields its API URL."""
    port = free_port()
    env = _env(
        PREFECT_HOME=str(base / "server-home"),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{base / 'prefect.db'}",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
    )
    cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    api_url = f"http://127.0.0.1:{port}/api"
    with _serving(cmd, base / "prefect-server.log", env, f"{api_url}/health", "the Prefect server"):
        yield api_url


@contextlib.contextmanager
def recording_server(base: Path, delay_s: float) -> Iterator[str]:
    """The loopback model server; yields its root URL (``/v1`` for the SDK, ``/log``)."""
    port = free_port()
    cmd = [sys.executable, "-m", "bench.shared_rate", "serve", "--port", str(port)]
    root = f"http://127.0.0.1:{port}"
    log = base / "model-server.log"
    with _serving([*cmd, "--delay", str(delay_s)], log, _env(), f"{root}/log", "the model server"):
        yield root


# -- the measurement -----------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What each run asks for and the limits it configures."""

    runs: int = 2
    calls: int = 6  # per run
    max_concurrency: int = 2
    requests_per_minute: float = 120.0
    delay_s: float = 0.3


def peak_in_flight(spans: Sequence[tuple[float, float]]) -> int:
    """Most requests the server held at once (a request leaving frees its place first)."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def busiest_window(starts: Sequence[float], window_s: float) -> int:
    """Most request arrivals within any ``window_s`` seconds."""
    starts, best, lo = sorted(starts), 0, 0
    for hi, t in enumerate(starts):
        while t - starts[lo] > window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def measure(api_url: str, shape: Shape, base: Path) -> dict:
    """Run ``shape.runs`` clients at once against one model server; what the server saw."""
    base.mkdir(parents=True, exist_ok=True)
    go = base / "go"
    with recording_server(base, shape.delay_s) as root:
        clients = []
        for i in range(shape.runs):
            cmd = [
                sys.executable, "-m", "bench.shared_rate", "client", "--base-url", f"{root}/v1",
                "--calls", str(shape.calls), "--concurrency", str(shape.max_concurrency),
                "--rpm", str(shape.requests_per_minute), "--go", str(go),
                "--out", str(base / f"run{i}.json"),
            ]  # fmt: skip
            env = _env(PREFECT_API_URL=api_url, PREFECT_HOME=str(base / f"client{i}-home"))
            clients.append(Child.start(cmd, base / f"run{i}.log", env))
        try:
            for i, _ in enumerate(clients):  # every run imported and ready: release them together
                while not (base / f"run{i}.json.ready").exists():
                    if clients[i].popen.poll() is not None:
                        raise RuntimeError(f"run {i} exited early:\n{clients[i].tail()}")
                    time.sleep(0.05)
            go.touch()
            for i, child in enumerate(clients):
                if child.popen.wait(timeout=3600) != 0:
                    raise RuntimeError(f"run {i} failed:\n{child.tail()}")
        finally:
            for child in clients:
                child.stop()
        spans = httpx.get(f"{root}/log", timeout=30).json()["spans"]
    runs = [json.loads((base / f"run{i}.json").read_text()) for i in range(shape.runs)]
    starts = [s for s, _ in spans]
    span_s = max(starts) - min(starts) if len(starts) > 1 else 0.0
    port = int(root.rsplit(":", 1)[1])
    return {
        "spans": spans,
        "runs": runs,
        "requests": len(spans),
        "span_s": span_s,
        "model_port": port,
    }


def run(quick: bool = False) -> Outcome:
    from tasks.providers.shared_limits import burst, window_s

    shape = (
        Shape(calls=15, max_concurrency=4, requests_per_minute=600, delay_s=0.05)
        if quick
        else Shape(calls=450, max_concurrency=8, requests_per_minute=600, delay_s=0.1)
    )
    rpm, slots = shape.requests_per_minute, burst(shape.requests_per_minute)
    with tempfile.TemporaryDirectory(prefix="vivek-bench-shared-") as tmp:
        base = Path(tmp)
        with prefect_server(base) as api_url:
            m = measure(api_url, shape, base / "measure")
    arrivals = sorted(s for s, _ in m["spans"])
    t0 = arrivals[0]
    # What a provider counts: arrivals in its busiest minute. A run shorter than a minute
    # is judged by its rate after the first window's burst, which a minute would average in.
    busiest_minute = busiest_window(arrivals, 60.0)
    if m["span_s"] >= 60:
        ratio, how = busiest_minute / rpm, "busiest minute of arrivals / the limit"
    else:
        ratio = (len(arrivals) - slots) / m["span_s"] * 60 / rpm
        how = "arrivals after the first window's burst per minute / the limit (run < 1 min)"
    mean = (len(arrivals) - 1) / m["span_s"] * 60 if m["span_s"] else float("nan")
    peak = peak_in_flight(m["spans"])
    busiest_slot_window = busiest_window(
        sorted(t for r in m["runs"] for t in r["granted"]), window_s(rpm) * 0.999
    )
    finished = [round(max(r["granted"]) - t0, 1) for r in m["runs"]]
    counts = [r["server_counts"] for r in m["runs"]]
    rate_counts = [
        next((c for n, c in rc.items() if n.endswith(":rpm-window")), {}) for rc in counts
    ]
    busy = sum(c.get("busy", 0) for rc in counts for c in rc.values())
    handed = sum(c.get("handed", 0) for c in rate_counts)
    notes = (
        f"{shape.runs} client processes released together, each {shape.calls} calls through "
        f"Limiter + openai-compatible provider + retry layer, max_concurrency="
        f"{shape.max_concurrency}, requests_per_minute={rpm:g} (a window of {slots} slots, "
        f"each free {window_s(rpm):g} s after its request started), against one `prefect "
        f"server start` (SQLite) and a loopback model server answering in "
        f"{shape.delay_s * 1000:.0f} ms that records arrivals. Figure: {how}. Busiest minute "
        f"{busiest_minute} arrivals; mean {mean:.0f}/min over {m['span_s']:.0f} s; at most "
        f"{busiest_slot_window} calls started in any window (limit {slots}); peak in flight "
        f"{peak} (limit {shape.max_concurrency}). The runs finished {finished[0]} s and "
        f"{finished[1]} s after the first request. Rate slots handed from call to call within "
        f"a run: {handed} of {m['requests']}; busy answers (503, SQLite locked) asked again: "
        f"{busy}."
    )
    met = 0.8 <= ratio <= TARGET and peak <= shape.max_concurrency
    if not met:
        notes += f" Missed: {ratio:.2f}x the limit."
    return Outcome(
        name="shared_rate",
        figure=f"shared rate limit, {shape.runs} concurrent runs ({how})",
        value=round(ratio, 3),
        unit="x",
        target=f"0.8-{TARGET}x",
        met=met,
        details={
            "requests": m["requests"],
            "expected_requests": shape.runs * shape.calls,
            "busiest_minute_requests": busiest_minute,
            "requests_per_minute": rpm,
            "mean_per_minute": round(mean, 1),
            "span_s": round(m["span_s"], 2),
            "window_slots": slots,
            "window_s": round(window_s(rpm), 3),
            "busiest_window_starts": busiest_slot_window,
            "peak_in_flight": peak,
            "max_concurrency": shape.max_concurrency,
            "runs_finished_s": finished,
            "shared_slots": sum(r["acquired"].get("shared", 0) for r in m["runs"]),
            "server_counts": counts,
            "fallbacks": [r["fallback"] for r in m["runs"] if r["fallback"]],
        },
        notes=notes,
    )


# -- the child processes -------------------------------------------------------------


def serve(port: int, delay_s: float) -> None:  # pragma: no cover - runs as a child
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    spans: list[tuple[float, float]] = []

    async def chat(request: Request) -> JSONResponse:
        start = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the box
        body = await request.json()
        await asyncio.sleep(delay_s)
        spans.append((start, time.monotonic()))
        message = {"role": "assistant", "content": "```python\ndef f():\n    return 1\n```"}
        return JSONResponse({
            "id": f"c{len(spans)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })  # fmt: skip

    async def log(_request: Request) -> JSONResponse:
        return JSONResponse({"spans": spans})

    app = Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/log", log)]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=1024)


async def client(args: argparse.Namespace) -> dict:  # pragma: no cover - runs as a child
    from tasks.providers.base import ProviderConfig
    from tasks.providers.limits import Limiter
    from tasks.providers.registry import resolve
    from tasks.providers.retry import generate_with_retry
    from tasks.record.types import GenerationRequest

    config = ProviderConfig(
        base_url=args.base_url, max_concurrency=args.concurrency, requests_per_minute=args.rpm
    )
    provider, limiter = resolve("openai-compatible:fake", config), Limiter()
    # When each call got its slot (CLOCK_MONOTONIC, shared by every process on the box):
    # what the limit governs, without the model server's own arrival jitter.
    granted: list[float] = []
    send = provider.generate

    async def timed(request: GenerationRequest):
        granted.append(time.monotonic())
        return await send(request)

    provider.generate = timed  # type: ignore[method-assign]
    Path(f"{args.out}.ready").touch()
    while not Path(args.go).exists():
        await asyncio.sleep(0.01)
    results = await asyncio.gather(
        *(
            generate_with_retry(provider, GenerationRequest(prompt=f"call {i}"), limiter=limiter)
            for i in range(args.calls)
        ),
        return_exceptions=True,
    )
    await provider.aclose()
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    return {
        "ok": len(results) - len(errors),
        "errors": errors[:5],
        "acquired": dict(limiter.acquired),
        "fallback": limiter.fallback_reason,
        "granted": granted,
        "server_counts": limiter.server_counts(),
    }


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - runs as a child
    p = argparse.ArgumentParser(prog="python -m bench.shared_rate")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--delay", type=float, default=0.1)
    c = sub.add_parser("client")
    for flag in ("--base-url", "--go", "--out"):
        c.add_argument(flag, required=True)
    c.add_argument("--calls", type=int, required=True)
    c.add_argument("--concurrency", type=int, required=True)
    c.add_argument("--rpm", type=float, required=True)
    args = p.parse_args(argv)
    if args.cmd == "serve":
        serve(args.port, args.delay)
    else:
        Path(args.out).write_text(json.dumps(asyncio.run(client(args))), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
