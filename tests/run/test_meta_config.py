"""meta.json records every setting the run used, and never a credential in a URL."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Future

from local_runner import LocalRunner

from tasks.config import RunConfig
from tasks.record.checks import CheckFields
from tasks.run.plan import prepare, run_plan


class NoChecks(LocalRunner):
    def submit_checks(self, items, plan, label) -> Future:
        done: Future = Future()
        done.set_result([CheckFields("fail", "stub", "") for _ in items])
        return done


def test_meta_holds_the_merged_config_without_passwords(tmp_path):
    cfg = RunConfig.model_validate(
        {
            "models": ["mock:x"],
            "suite": "basic",
            "task_limit": 1,
            "temperature": 0.7,
            "out": str(tmp_path / "out"),
            "base_url": "http://user:s3cret@llm.internal:8080/v1",
            "sandbox": {"cpu_s": 4},
        }
    )
    asyncio.run(run_plan(prepare(cfg, "r1"), NoChecks()))
    text = (tmp_path / "out" / "r1" / "meta.json").read_text()
    config = json.loads(text)["config"]
    assert (config["temperature"], config["task_limit"], config["sandbox"]["cpu_s"]) == (0.7, 1, 4)
    assert config["sandbox"]["wall_s"] == 30  # defaults too: the whole configuration
    assert config["base_url"] == "http://***@llm.internal:8080/v1"
    assert "s3cret" not in text
