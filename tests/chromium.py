"""Open a page in headless Chromium and see what a reader sees: a full-page screenshot, the
boxes of chosen elements, console errors and every network request.

It speaks the DevTools protocol over ``--remote-debugging-pipe`` (JSON messages ending in a
NUL byte, Chromium reading file descriptor 3 and writing 4), so it needs no package beyond
the standard library. ``.ci/run`` installs Chromium with apt; without it the tests skip.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


@dataclass
class Visit:
    """What opening a page gave."""

    screenshot: bytes
    boxes: list[list[float]]
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class _Pipe:
    def __init__(self, profile: Path):
        to_chromium, self._commands = os.pipe()
        self._replies, from_chromium = os.pipe()

        def descriptors() -> None:  # in the child: Chromium reads fd 3 and writes fd 4
            os.dup2(to_chromium, 3)
            os.dup2(from_chromium, 4)

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=descriptors,
            pass_fds=(3, 4),
        )
        os.close(to_chromium)
        os.close(from_chromium)
        self.buffer = b""
        self.number = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.number += 1
        message = {"id": self.number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self.number:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._read(deadline))

    def close(self) -> None:
        for fd in (self._commands, self._replies):
            os.close(fd)
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def visit(page: Path, selector: str, profile: Path, width: int = 1200) -> Visit:
    """Open ``page`` (a file) ``width`` pixels wide; the full-page PNG, the page boxes
    ``[x, y, width, height]`` of the elements that match ``selector``, and the console errors
    and network requests (the page's own URL left out) seen while loading it."""
    url = page.resolve().as_uri()
    pipe = _Pipe(profile)
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        pipe.events.clear()
        pipe.send("Page.navigate", {"url": url}, session)
        pipe.wait("Page.loadEventFired")
        script = (
            f"JSON.stringify([...document.querySelectorAll({json.dumps(selector)})].map(e => "
            "{const r = e.getBoundingClientRect(); "
            "return [r.left + scrollX, r.top + scrollY, r.width, r.height];}))"
        )
        found = pipe.send(
            "Runtime.evaluate", {"expression": script, "returnByValue": True}, session
        )
        boxes = json.loads(found["result"]["value"])
        size = pipe.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = pipe.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": size["height"],
                    "scale": 1,
                },
            },
            session,
        )
        errors, requests = [], []
        for event in pipe.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(json.dumps(params.get("args")))
            elif method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params.get("exceptionDetails")))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                if params["request"]["url"] != url:
                    requests.append(params["request"]["url"])
        return Visit(base64.b64decode(shot["data"]), boxes, errors, requests)
    finally:
        pipe.close()
