"""One real ``prefect server start`` for the session's operations tests; ``vivek``'s
in-process ``main`` undone after each test.

Starting one takes 13-35 s on this project's 2-core machine; the tests that need a server
that is not Vivek's own (a deployment and its worker, the shipped automation, ``vivek
eval`` with ``PREFECT_API_URL`` set) share this one. Each of them works in its own output
folder and names, so they do not see each other's runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from _deploy_support import PrefectStack


@pytest.fixture(scope="session")
def prefect_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    """A Prefect server with every service but the scheduler (see ``PrefectStack``)."""
    stack = PrefectStack(tmp_path_factory.mktemp("prefect"))
    try:
        stack.start_server()
    except BaseException:
        print(stack.logs)
        stack.stop()
        raise
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def _isolated_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``vivek``'s ``main`` sets Prefect env defaults and logging handlers: undo both after
    each test that calls it in this process."""
    from flows.cli import PREFECT_DEFAULTS, VIVEK_LOGGERS

    for key in PREFECT_DEFAULTS:
        if key in os.environ:
            monkeypatch.setenv(key, os.environ[key])
        else:
            monkeypatch.delenv(key, raising=False)
    before = {name: list(logging.getLogger(name).handlers) for name in VIVEK_LOGGERS}
    yield
    for name, handlers in before.items():
        logging.getLogger(name).handlers[:] = handlers
