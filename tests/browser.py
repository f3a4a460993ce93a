"""Headless Debian Chromium for the GraphiQL page checks: found (or skipped, or required when
``TABLEGRAPH_REQUIRE_BROWSER`` is set, as in CI) and asked for the DOM after scripts ran
(``rendered_dom``), or driven over the DevTools protocol (``DevTools``: click, read)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

#: Keep Chromium off the network it cannot reach here, and out of the way of a test.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    """The browser's path; a skip without it, a failure where CI requires it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("TABLEGRAPH_REQUIRE_BROWSER"):
            pytest.fail("chromium is required here (TABLEGRAPH_REQUIRE_BROWSER is set)")
        pytest.skip("Debian chromium is not installed")
    return browser


async def rendered_dom(browser: str, url: str) -> str:
    """The DOM after the page's scripts ran (a fresh profile: no stored GraphiQL tabs). The
    flags keep Chromium off the network it cannot reach here."""
    with tempfile.TemporaryDirectory() as profile:
        proc = await asyncio.create_subprocess_exec(
            browser,
            *_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        dom, _ = await asyncio.wait_for(proc.communicate(), timeout=90)
    return dom.decode()


class DevTools:
    """One page of a headless Chromium driven over the DevTools protocol (what a person does:
    open a URL, click, read the page), for checks that ``--dump-dom`` cannot make."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, browser: str) -> AsyncIterator[DevTools]:
        with tempfile.TemporaryDirectory() as profile:
            proc = await asyncio.create_subprocess_exec(
                browser,
                *_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            assert proc.stderr is not None
            drain: asyncio.Task[None] | None = None
            try:
                endpoint = await asyncio.wait_for(_devtools_endpoint(proc.stderr), timeout=60)
                drain = asyncio.create_task(_drain(proc.stderr))  # a full pipe would stall it
                async with aiohttp.ClientSession() as session:
                    async with session.get(f"http://{endpoint}/json/list") as listing:
                        targets = await listing.json()
                    page = next(t for t in targets if t.get("type") == "page")
                    async with session.ws_connect(
                        page["webSocketDebuggerUrl"], max_msg_size=0
                    ) as ws:
                        yield cls(ws)
            finally:
                if proc.returncode is None:
                    proc.terminate()
                    try:
                        await asyncio.wait_for(proc.wait(), timeout=10)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
                if drain is not None:
                    drain.cancel()
                    await asyncio.gather(drain, return_exceptions=True)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one protocol command and return its result (events meanwhile are ignored)."""
        ident = next(self._ids)
        await self._ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await self._ws.receive_json(timeout=60)
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        """The value of a script in the page (its promise awaited)."""
        result = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 30.0) -> Any:
        """Evaluate ``expression`` until it is truthy (bounded); return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                raise AssertionError(f"{expression!r} stayed falsy for {timeout} s")
            await asyncio.sleep(0.1)


async def _devtools_endpoint(stderr: asyncio.StreamReader) -> str:
    """``host:port`` from Chromium's "DevTools listening on ws://…" line."""
    while True:
        line = await stderr.readline()
        if not line:
            raise AssertionError("chromium exited before it opened its DevTools port")
        found = re.search(rb"DevTools listening on ws://([^/\s]+)/", line)
        if found:
            return found.group(1).decode()


async def _drain(stderr: asyncio.StreamReader) -> None:
    while await stderr.read(65536):
        pass
