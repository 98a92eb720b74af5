"""Two models, one run: A's replies attack the verdict and B, B's are correct (issue 20).

Whatever A tries (builtins shadowed through the tests' names, a handle that says yes,
StopIteration escaping the tests' loop, CPU spread over forked children, a value that
cannot be rebuilt, a search of its memory for B's code), B passes every task, A passes
none, no row of A's holds B's code, and a second run (from the caches) and a third in a
new process give the same verdicts.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from local_runner import LocalRunner

from tasks.config import RunConfig
from tasks.run.plan import prepare, run_plan

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

MARK = f"B-SOURCE-{uuid.uuid4().hex[:12]}"  # in every one of B's replies; A hunts for it
TASKS = {
    "distance": (
        "def f(a, b):\n    return abs(a - b)\n",
        "from solution import *\n\n\ndef test_f():\n    assert abs(f(3, 5) - 2) < 1e-9\n"
        "    assert all([f(1, 1) == 0])\n",
        # A: a wrong answer plus the builtins the tests judge it with
        "__all__ = ['f', 'abs', 'all']\n\ndef f(a, b):\n    return a + b\n\n"
        "def abs(x):\n    return 0\n\ndef all(xs):\n    return True\n",
    ),
    "pair": (
        "def f():\n    return [1, 5]\n",
        "from solution import f\n\n\ndef test_f():\n    r = f()\n"
        "    assert len(r) == 2 and 5 in r and r\n",
        "class Yes:\n    def __len__(self):\n        return 2\n"
        "    def __contains__(self, x):\n        return True\n"
        "    def __bool__(self):\n        return True\n\ndef f():\n    return Yes()\n",
    ),
    "positive": (
        "def f(x):\n    return x > 0\n",
        "from solution import f\n\n\ndef test_f():\n    assert all(map(f, [1, 2, 3]))\n"
        "    assert not any(map(f, [-1, 0]))\n",
        "def f(x):\n    raise StopIteration\n",
    ),
    "one": (
        "def f():\n    return 1\n",
        "from solution import f\n\n\ndef test_f():\n"
        "    assert [f() for _ in range(6)] == [1] * 6\n",
        "import os, time\n\ndef f():\n    if os.fork() == 0:\n"
        "        end = time.process_time() + 0.9\n"
        "        while time.process_time() < end:\n            pass\n        os._exit(0)\n"
        "    os.wait()\n    return 1\n",
    ),
    "half": (
        "def f():\n    return 0.5\n",
        "from solution import f\n\n\ndef test_f():\n    assert f() == 0.5\n",
        "import sys\n\nfor name, module in list(sys.modules.items()):\n"
        "    link = getattr(module, 'Link', None)\n"
        "    if name.endswith('wire') and link is not None:\n        send = link.send\n"
        "        def forged(self, msg, flush=True, send=send):\n"
        "            if type(msg) is list and msg[:1] == ['r'] and msg[1:2] == [2]:\n"
        "                msg = ['r', {'fr': [1, 0]}]\n            return send(self, msg, flush)\n"
        "        link.send = forged\n\ndef f():\n    return 2\n",
    ),
    "copy": (
        "def f():\n    return 'ok'\n",
        "from solution import f\n\n\ndef test_f():\n    assert f() == 'ok'\n",
        # A: its answer is whatever of B's source it finds in the memory it inherited
        "import ctypes, re\n\ndef f():\n    found = []\n"
        "    for line in open('/proc/self/maps'):\n"
        "        p = line.split()\n        if len(p) < 5 or not p[1].startswith('rw'):\n"
        "            continue\n        a, b = (int(x, 16) for x in p[0].split('-'))\n"
        "        try:\n            data = ctypes.string_at(a, b - a)\n        except Exception:\n"
        "            continue\n"
        "        found += re.findall(rb'B-SOUR' + rb'CE-[0-9a-f]{12}[^\\n]*', data)\n"
        "    return repr(found[:5])\n",
    ),
}


def _suite(path) -> str:
    tasks = [
        {"id": tid, "prompt": f"Task {tid}.", "tests": tests, "reference": ref, "entry_point": "f"}
        for tid, (ref, tests, _) in TASKS.items()
    ]
    path.write_text(yaml.safe_dump({"name": "attacks", "tasks": tasks}))
    return str(path)


def _replay(path, replies: dict[str, str]) -> str:
    lines = [
        json.dumps({"task_id": t, "completion": f"```python\n{c}\n```"}) for t, c in replies.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _run(config: RunConfig) -> list[dict]:
    paths = asyncio.run(run_plan(prepare(config), LocalRunner()))
    return pq.read_table(paths["results"]).to_pylist()


def test_one_model_cannot_forge_its_verdict_or_touch_another(tmp_path):
    a = _replay(tmp_path / "attacker.jsonl", {t: v[2] for t, v in TASKS.items()})
    b = _replay(tmp_path / "honest.jsonl", {t: f"# {MARK}\n{v[0]}" for t, v in TASKS.items()})
    config = RunConfig(
        models=[f"replay:{b}", f"replay:{a}"],
        suite=_suite(tmp_path / "attacks.yaml"),
        out=str(tmp_path / "out"),
        sandbox={"cpu_s": 2.0, "wall_s": 10.0, "memory_mb": 512},
    )
    first = _run(config)
    verdicts = {(r["model"], r["task_id"]): r["status"] for r in first}
    honest = {t: s for (m, t), s in verdicts.items() if m == "replay:honest"}
    attacker = {t: s for (m, t), s in verdicts.items() if m == "replay:attacker"}
    assert honest == dict.fromkeys(TASKS, "pass")
    assert not [t for t, s in attacker.items() if s == "pass"], attacker
    assert not [t for t, s in attacker.items() if s in ("suite_error", "sandbox_error")]
    assert attacker["one"] == "timeout"  # the children's CPU counts
    for row in first:
        if row["model"] == "replay:attacker":
            assert MARK not in json.dumps(row, default=str), row["task_id"]
    # From the caches, then in a new process: the same verdicts.
    second = _run(config)
    assert {(r["model"], r["task_id"]): r["status"] for r in second} == verdicts
    assert all(r["cached"] for r in second)
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        import pyarrow.parquet as pq
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from local_runner import LocalRunner
        from tasks.config import RunConfig
        from tasks.run.plan import prepare, run_plan
        config = RunConfig.model_validate_json({config.model_dump_json()!r})
        paths = asyncio.run(run_plan(prepare(config), LocalRunner()))
        rows = pq.read_table(paths["results"]).to_pylist()
        print(json.dumps([[r["model"], r["task_id"], r["status"]] for r in rows]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    third = {(m, t): s for m, t, s in json.loads(out.strip().splitlines()[-1])}
    assert third == verdicts
