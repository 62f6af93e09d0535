"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe).

The pipe needs no websocket client and no port: Chromium reads NUL-terminated JSON commands on
fd 3 and writes replies/events on fd 4.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--window-size=1280,800", "--hide-scrollbars",
         "--remote-debugging-pipe"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, exe: str, timeout: float = 15.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="zhkg-chromium-")
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        # move the child's ends above 10 so dup2 onto 3/4 cannot clobber one another
        hi_in = fcntl.fcntl(child_in, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_out = fcntl.fcntl(child_out, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(child_in)
        os.close(child_out)

        def wire() -> None:  # in the child, before exec: dup2 makes inheritable fds 3 and 4
            os.dup2(hi_in, 3)
            os.dup2(hi_out, 4)

        # close_fds=False keeps 3/4; every other pipe end is O_CLOEXEC (PEP 446), so none leaks
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire, close_fds=False)
        os.close(hi_in)
        os.close(hi_out)
        self._w, self._r = parent_out, parent_in
        self._buf = b""
        self._id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []

    # -- protocol -------------------------------------------------------------------------
    def _write(self, method: str, params: dict[str, Any] | None, session: str | None) -> int:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._id

    def _pump(self, deadline: float) -> None:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("no reply from Chromium")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise CDPError("Chromium closed the pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        msg = json.loads(raw)
        if "id" in msg:
            self._replies[msg["id"]] = msg
            return
        self.events.append(msg)
        if msg.get("method") == "Page.javascriptDialogOpening":  # never leave the page blocked
            self._write("Page.handleJavaScriptDialog", {"accept": False}, msg.get("sessionId"))

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        mid = self._write(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while mid not in self._replies:
            self._pump(deadline)
        reply = self._replies.pop(mid)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        while True:
            for ev in self.events[seen:]:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            seen = len(self.events)
            self._pump(deadline)

    def open(self, url: str) -> "Page":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=sid)
        page = Page(self, target, sid)
        self.send("Page.navigate", {"url": url}, session=sid)
        self.wait_event("Page.loadEventFired", sid)
        return page

    def close(self) -> None:
        try:
            self._write("Browser.close", None, None)
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.b, self.target, self.session = browser, target, session

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.b.send(method, params, session=self.session)

    def eval(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in res:
            raise CDPError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.eval(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(expression)
            time.sleep(0.05)

    def click(self, x: float, y: float) -> None:
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                   "clickCount": 0 if kind == "mouseMoved" else 1})

    def hover(self, x: float, y: float) -> None:
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot")["data"]))

    def _mine(self) -> list[dict[str, Any]]:
        return [e for e in self.b.events if e.get("sessionId") == self.session]

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (e.g. failed loads)."""
        out = []
        for e in self._mine():
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails"))[:500])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args"))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(json.dumps(p["entry"])[:500])
        return out

    def dialogs(self) -> list[dict[str, Any]]:
        return [e for e in self._mine() if e.get("method") == "Page.javascriptDialogOpening"]

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self._mine()
                if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        self.b.send("Target.closeTarget", {"targetId": self.target})
