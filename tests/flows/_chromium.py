"""Headless Chromium driven over the DevTools protocol: enough to open a page of the
Prefect UI, wait for what it renders, click a tab and take a screenshot (test helper).

``--dump-dom`` (as in tests/report/test_report_browser.py) serves a static page; the
Prefect UI loads its data after the page, so a test must wait for elements instead.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class Browser:
    """One Chromium with one tab; ``profile`` must be a fresh folder."""

    def __init__(self, profile: Path, width: int = 1400, height: int = 1000) -> None:
        assert CHROMIUM, "headless Chromium is needed (.ci/setup-system installs it)"
        profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self._ids = itertools.count(1)
        try:
            port_file = profile / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text().strip():
                assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
            target = next(p for p in pages if p["type"] == "page")
            self.ws = connect(target["webSocketDebuggerUrl"], max_size=None)
        except BaseException:
            self.close()
            raise

    def call(self, method: str, **params: Any) -> dict:
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:  # events arrive in between; only the answer to this call matters
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == call_id:
                assert "error" not in message, message["error"]
                return message.get("result", {})

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def text(self) -> str:
        return self.js("document.body ? document.body.innerText : ''") or ""

    def wait_for_text(self, *needles: str, timeout_s: float = 60.0) -> str:
        """The page's text once it holds every needle; AssertionError with the text if not."""
        deadline = time.monotonic() + timeout_s
        while True:
            text = self.text()
            missing = [n for n in needles if n not in text]
            if not missing:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"never shown: {missing}\n--- page text ---\n{text[:3000]}")
            time.sleep(0.25)

    def click_text(self, label: str) -> None:
        """Click the innermost element whose own text is ``label`` (a tab, a link)."""
        found = self.js(
            "(() => { const all = [...document.querySelectorAll('body *')]"
            f".filter(e => e.textContent.trim() === {json.dumps(label)});"
            " const el = all[all.length - 1]; if (!el) return false; el.click(); return true; })()"
        )
        assert found, f"nothing to click labelled {label!r}"

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
