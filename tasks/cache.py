"""Content-keyed stores that make reruns free and crashes lossless.

A generation is stored under a key made of provider identity, model, prompt hash,
generation options and sample index - not the run id - as soon as it completes,
so a rerun on unchanged inputs makes no provider call for finished cells, and a
run killed with SIGKILL loses at most the calls in flight. Check results are keyed
by code, tests and checker version. Stores write through fsspec, so the output
location may be a local path or a URL that other machines can reach.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict
from typing import Any

import fsspec

from tasks.records import Generation, GenerationOptions


def generation_key(identity: str, prompt: str, options: GenerationOptions, sample: int) -> str:
    payload = json.dumps(
        {
            "model": identity,
            "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
            "options": asdict(options),
            "sample": sample,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def content_key(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part.encode()).digest())
    return h.hexdigest()


class JsonStore:
    """Small JSON documents under ``root/<kind>/<key[:2]>/<key>.json``, written atomically."""

    def __init__(self, root: str, kind: str) -> None:
        self.fs, base = fsspec.core.url_to_fs(root)
        self.base = f"{base.rstrip('/')}/{kind}"

    def _path(self, key: str) -> str:
        return f"{self.base}/{key[:2]}/{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            with self.fs.open(path, "r", encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # a torn write from another writer: treat as absent

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        folder = path.rsplit("/", 1)[0]
        self.fs.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.{key}.{uuid.uuid4().hex}.tmp"
        with self.fs.open(tmp, "w", encoding="utf-8") as fh:
            json.dump(value, fh, sort_keys=True)
        self.fs.mv(tmp, path)


class GenerationStore(JsonStore):
    def __init__(self, root: str) -> None:
        super().__init__(root, "generations")

    def get_generation(self, key: str) -> Generation | None:
        data = self.get(key)
        return Generation.from_dict(data) if data else None

    def put_generation(self, key: str, generation: Generation) -> None:
        self.put(key, generation.to_dict())


class CheckStore(JsonStore):
    def __init__(self, root: str) -> None:
        super().__init__(root, "checks")
