"""Run untrusted generated code: long-lived bubblewrap workers (forkservers), two fresh
processes per sample (the solution's and its tester's). ``inside/protocol.py`` says which
process runs which file, with what rights, and what crosses between them.

with Sandbox(Limits(cpu_s=5)) as sandbox:
    results = sandbox.run([Job(code=..., tests=..., exports=exports_for(...))])
"""

from tasks.sandbox.namespace import exports_for
from tasks.sandbox.pool import Sandbox
from tasks.sandbox.types import ExecResult, Exports, Job, Limits

__all__ = ["ExecResult", "Exports", "Job", "Limits", "Sandbox", "exports_for"]
