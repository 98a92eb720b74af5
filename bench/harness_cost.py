"""The separated test harness against the in-process one (``bench.check_throughput``)."""

from bench.check_throughput import run_harness as run

__all__ = ["run"]
