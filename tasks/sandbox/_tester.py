"""The worker's handle on its tester: the long-lived process that runs every sample's tests.

Imports nothing from ``tasks``. The tester is forked from the worker (so it is warm, and
its memory never held a test before it started) and drops to the test uid at once
(``_test_side.serve``). Jobs go over a SOCK_SEQPACKET pair with their fds attached; the
tester answers one datagram per job. A tester that overruns or dies is killed and a
fresh one forked for the next sample.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket


class Tester:
    def __init__(self, limits: dict, uid: int | None, workdir: str, serve) -> None:
        self.limits, self.uid, self.workdir, self.serve = limits, uid, workdir, serve
        self.pid: int | None = None
        self.sock: socket.socket | None = None
        self.pidfd = -1

    def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the tester never returns
            try:
                ours.close()
                self.serve(self.limits, self.uid, theirs.fileno(), self.workdir)
            finally:
                os._exit(70)
        theirs.close()
        self.pid, self.sock, self.pidfd = pid, ours, os.pidfd_open(pid)

    def send(self, fds: list[int]) -> None:
        """Hand one job's fds over; start the tester first if there is none."""
        if self.pid is None:
            self.start()
        try:
            socket.send_fds(self.sock, [b"job"], fds)
        except OSError:  # it died between jobs: a fresh one
            self.stop()
            self.start()
            socket.send_fds(self.sock, [b"job"], fds)

    def answer(self) -> dict:
        """The tester's reply to the job (call when ``sock`` is readable)."""
        try:
            data = self.sock.recv(4096)
            reply = json.loads(data) if data else None
        except (OSError, ValueError):
            reply = None
        return reply if isinstance(reply, dict) else {}

    def stop(self, sig: int = signal.SIGKILL) -> int | None:
        """Kill and reap the tester; the signal that ended it (None if it exited)."""
        if self.pid is None:
            return None
        with contextlib.suppress(OSError):
            os.kill(self.pid, sig)
        status = None
        with contextlib.suppress(ChildProcessError):
            _, st = os.waitpid(self.pid, 0)
            status = os.WTERMSIG(st) if os.WIFSIGNALED(st) else None
        with contextlib.suppress(OSError):
            os.close(self.pidfd)
        self.sock.close()
        self.pid, self.sock, self.pidfd = None, None, -1
        return status
