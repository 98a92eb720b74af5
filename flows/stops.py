"""Stopping ``vivek eval`` on Ctrl-C or SIGTERM, in bounded time.

Prefect and asyncio unwind a stopped run by cancellation. A call that does not see it (a
provider request held by its server, a worker thread being joined) would keep the command
alive for as long as that call's own timeout: minutes. So once the flow run has started,
a stop signal also arms a watchdog: the run gets ``GRACE_S`` to unwind, then the process
leaves anyway. Nothing is lost by leaving: every finished cell is already in the cache.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

GRACE_S = 10.0
STOPS = {
    signal.SIGINT: ("interrupted", 130),
    signal.SIGTERM: ("terminated", 143),
}


def stop_line(how: str) -> str:
    return f"vivek: {how}; finished cells are cached, rerun to resume."


class StopGuard:
    """Arms the watchdog when a stop signal reaches a started flow run.

    ``started`` is called (in the flow run, on the main thread) with the flow run's id;
    it wraps the signal handlers Prefect and asyncio installed for the run, so they still
    run first. ``on_leave`` is called with the flow run id and how the run stopped, just
    before a forced exit (to mark the run Cancelled, stop a server the command owns).
    """

    def __init__(
        self,
        on_leave: Callable[[str | None, str], None] = lambda run_id, how: None,
        grace_s: float = GRACE_S,
        leave: Callable[[int], Any] = os._exit,
    ) -> None:
        self.flow_run_id: str | None = None
        self.on_leave = on_leave
        self.grace_s = grace_s
        self.leave = leave
        self.armed: threading.Thread | None = None
        self._closed = threading.Event()
        self._ours: dict[signal.Signals, Callable[[int, Any], None]] = {}
        # What to put back afterwards: the handlers before the flow run (and its asyncio
        # loop, and Prefect) installed theirs, which stop their own restoring once wrapped.
        main = threading.current_thread() is threading.main_thread()
        self._outer = {signum: signal.getsignal(signum) for signum in STOPS} if main else {}

    def started(self, flow_run_id: str) -> None:
        self.flow_run_id = flow_run_id or None
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for signum in STOPS:
            self._ours[signum] = self._handler(signum, signal.getsignal(signum))
            signal.signal(signum, self._ours[signum])

    def _handler(self, signum: int, previous: Any) -> Callable[[int, Any], None]:
        def handler(sig: int, frame: Any) -> None:
            self.arm(signum)
            if callable(previous):
                previous(sig, frame)
            elif previous == signal.SIG_DFL:  # the default action, as if never wrapped
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        return handler

    def close(self) -> None:
        """The run unwound in time: disarm, and take the wrapped handlers out again."""
        self._closed.set()
        if threading.current_thread() is threading.main_thread():
            for signum, ours in self._ours.items():
                if signal.getsignal(signum) is ours and signum in self._outer:
                    signal.signal(signum, self._outer[signum])
        self._ours.clear()

    def arm(self, signum: int) -> None:
        if self.armed is None:
            self.armed = threading.Thread(
                target=self._watch, args=(signum,), name="vivek-stop-watchdog", daemon=True
            )
            self.armed.start()

    def _watch(self, signum: int) -> None:
        if self._closed.wait(self.grace_s):
            return
        how, code = STOPS[signal.Signals(signum)]
        try:
            self.on_leave(self.flow_run_id, how)
        finally:
            print(stop_line(how), file=sys.stderr, flush=True)
            self.leave(code)
