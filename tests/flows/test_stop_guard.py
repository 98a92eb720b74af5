"""The stop watchdog: a started run that does not unwind after a stop signal still ends."""

from __future__ import annotations

import signal

import pytest

from flows.stops import StopGuard


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, *args) -> None:
        self.calls.append(args)


@pytest.fixture
def handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    inner = {s: Recorder() for s in saved}
    for s, handler in inner.items():  # what Prefect and asyncio install for a run
        signal.signal(s, handler)
    yield inner
    for s, handler in saved.items():
        signal.signal(s, handler)


@pytest.mark.parametrize(
    ("signum", "how", "code"),
    [(signal.SIGINT, "interrupted", 130), (signal.SIGTERM, "terminated", 143)],
)
def test_a_run_that_does_not_unwind_is_left_after_the_grace(handlers, capsys, signum, how, code):
    left, tidied = Recorder(), Recorder()
    guard = StopGuard(on_leave=tidied, grace_s=0.05, leave=left)
    guard.started("run-1")
    signal.raise_signal(signum)
    assert len(handlers[signum].calls) == 1  # the run's own handler still runs first
    guard.armed.join(5)
    assert tidied.calls == [("run-1", how)] and left.calls == [(code,)]
    assert (
        capsys.readouterr().err.strip()
        == f"vivek: {how}; finished cells are cached, rerun to resume."
    )


def test_a_run_that_unwinds_in_time_is_not_touched(handlers):
    left = Recorder()
    outer = signal.getsignal(signal.SIGINT)
    guard = StopGuard(grace_s=0.2, leave=left)
    guard.started("run-1")
    signal.raise_signal(signal.SIGINT)
    guard.close()  # the CLI closes the guard once asyncio.run returns or raises
    guard.armed.join(5)
    assert left.calls == []
    assert signal.getsignal(signal.SIGINT) is outer  # the wrapper is gone again


def test_no_signal_no_watchdog(handlers):
    guard = StopGuard(grace_s=0.01, leave=Recorder())
    guard.started("")
    guard.close()
    assert guard.armed is None and guard.flow_run_id is None
