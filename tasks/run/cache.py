"""Content-keyed stores that make reruns free and crashes lossless.

A generation is stored under a key made of everything that makes a cell distinct
(provider identity and endpoint, task id, prompt hash, generation options, sample
index; never the run id) as soon as it completes, so a rerun on unchanged inputs makes
no provider call for finished cells, and a run killed with SIGKILL loses at most the
calls in flight. Check results are keyed by what changes a row. Stores write through
fsspec, so the output location may be a local path or a URL other machines can reach.

Entries are validated on read: a torn, damaged or foreign entry is treated as absent.
A failed write is logged once per store and never loses the value in hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import asdict
from typing import Any

import fsspec

from tasks.providers.wire import stored_generation
from tasks.record.types import Generation, GenerationOptions

log = logging.getLogger("vivek.cache")
KEY_VERSION = 2  # bump when the key's payload changes meaning


def generation_key(
    identity: str, prompt: str, options: GenerationOptions, sample: int, task_id: str = ""
) -> str:
    """The cell's cache key. Two tasks with one prompt are two cells: the task id is in it."""
    payload = json.dumps(
        {
            "v": KEY_VERSION,
            "model": identity,
            "task_id": task_id,
            "prompt_sha256": hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest(),
            "options": asdict(options),
            "sample": sample,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def content_key(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()


class JsonStore:
    """Small JSON objects under ``root/<kind>/<key[:2]>/<key>.json``, written atomically.

    ``read=False`` makes a write-only store (``--fresh``): nothing is read back, new
    values are still written.
    """

    def __init__(self, root: str, kind: str, *, read: bool = True) -> None:
        self.root = root
        self.fs, base = fsspec.core.url_to_fs(root)
        self.base = f"{base.rstrip('/')}/{kind}"
        self.read = read
        self.write_failed: str | None = None  # the first write error, if any

    def _path(self, key: str) -> str:
        return f"{self.base}/{key[:2]}/{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored object, or None when absent, torn, or not a JSON object."""
        if not self.read:
            return None
        try:
            with self.fs.open(self._path(key), "r", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):  # absent, unreadable, torn, not UTF-8, not JSON
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> bool:
        """Store ``value``; on failure log once, remove the temporary file, return False."""
        path = self._path(key)
        folder = path.rsplit("/", 1)[0]
        tmp = f"{folder}/.{key}.{uuid.uuid4().hex}.tmp"
        try:
            text = json.dumps(value, sort_keys=True, allow_nan=False)
            self.fs.makedirs(folder, exist_ok=True)
            with self.fs.open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            self.fs.mv(tmp, path)
            return True
        except (OSError, ValueError, TypeError) as exc:
            with contextlib.suppress(Exception):
                if self.fs.exists(tmp):
                    self.fs.rm(tmp)
            if self.write_failed is None:
                self.write_failed = f"{exc.__class__.__name__}: {exc}"
                log.warning(
                    "cannot write to the cache under %s (%s); results are kept in this run "
                    "but a rerun will redo this work",
                    self.base,
                    self.write_failed,
                )
            return False


class GenerationStore(JsonStore):
    def __init__(self, root: str, *, read: bool = True) -> None:
        super().__init__(root, "generations", read=read)

    def get_generation(self, key: str) -> Generation | None:
        return stored_generation(self.get(key))

    def put_generation(self, key: str, generation: Generation) -> bool:
        return self.put(key, generation.to_dict())


class CheckStore(JsonStore):
    """Check results by content key; an entry without a known ``status`` is absent."""

    def __init__(self, root: str, *, read: bool = True) -> None:
        super().__init__(root, "checks", read=read)

    def get(self, key: str) -> dict[str, Any] | None:
        from tasks.record.types import STATUSES

        data = super().get(key)
        if data is None or data.get("status") not in STATUSES:
            return None
        if not _fits_results_schema(data):
            return None
        return data


def _fits_results_schema(row: dict[str, Any]) -> bool:
    """True when every field of a cached check row is a known results column of its type."""
    import pyarrow as pa

    from tasks.record.results import SCHEMA

    if not set(row) <= set(SCHEMA.names):
        return False
    schema = pa.schema([SCHEMA.field(name) for name in row])
    try:
        pa.Table.from_pylist([row], schema=schema)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return False
    return True
