"""Run untrusted generated code: long-lived bubblewrap workers, a fork per sample.

with Sandbox(Limits(cpu_s=5)) as sandbox:
    results = sandbox.run([Job(code=..., tests=...)])
"""

from tasks.sandbox.pool import Sandbox
from tasks.sandbox.types import ExecResult, Job, Limits

__all__ = ["ExecResult", "Job", "Limits", "Sandbox"]
