"""A private, pre-migrated Prefect home for the flow benchmarks.

``configure`` must run before anything imports Prefect (settings are read at
import). ``warm`` starts the ephemeral API server (and migrates a fresh database)
once per process, so flow timings measure orchestration, not first start-up.
"""

from __future__ import annotations

import os
import tempfile

_WARM: dict[str, float] = {}

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def configure(home: str | None = None) -> str:
    """Point Prefect at ``home`` (default: a new temp dir) unless PREFECT_HOME is set."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    if "PREFECT_HOME" not in os.environ:
        os.environ["PREFECT_HOME"] = home or tempfile.mkdtemp(prefix="vivek-bench-prefect-")
    return os.environ["PREFECT_HOME"]


def warm() -> float:
    """Seconds the first flow run of this process took (server start, migration); cached."""
    if "s" not in _WARM:
        import asyncio
        import time

        from prefect import flow

        @flow(name="vivek-bench-warm-up")
        async def warm_up() -> int:
            return 1

        start = time.perf_counter()
        asyncio.run(warm_up())
        _WARM["s"] = time.perf_counter() - start
    return _WARM["s"]
