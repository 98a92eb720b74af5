"""Progress of a run: counts for the CLI's rich bar and the Prefect progress artifact."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable


class Progress:
    """Thread-safe counters; listeners are called at most every ``interval`` seconds."""

    def __init__(self, total: int, interval: float = 1.0) -> None:
        self.total = total  # cells; each is generated, then checked
        self.generated = 0
        self.checked = 0
        self.failures = 0
        self.cached = 0
        self.interval = interval
        self._lock = threading.Lock()
        self._last = 0.0
        self.listeners: list[Callable[[Progress], None]] = []

    @property
    def line(self) -> str:
        """Counts a user can follow: ``generated 12/40 (3 cached), checked 8/40, not passing 2``."""
        return (
            f"generated {self.generated}/{self.total} ({self.cached} cached), "
            f"checked {self.checked}/{self.total}, not passing {self.failures}"
        )

    @property
    def percent(self) -> float:
        return 100.0 * (self.generated + self.checked) / (2 * self.total) if self.total else 100.0

    def advance(
        self, *, generated: int = 0, checked: int = 0, failures: int = 0, cached: int = 0
    ) -> None:
        with self._lock:
            self.generated += generated
            self.checked += checked
            self.failures += failures
            self.cached += cached
            now = time.monotonic()
            due = now - self._last >= self.interval or self.checked >= self.total
            if due:
                self._last = now
        if due:
            self.notify()

    def notify(self) -> None:
        for listener in list(self.listeners):
            with contextlib.suppress(Exception):  # progress display must never break a run
                listener(self)
