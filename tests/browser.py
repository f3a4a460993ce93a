"""Headless Debian Chromium for the GraphiQL page checks: found (or skipped, or required when
``TABLEGRAPH_REQUIRE_BROWSER`` is set, as in CI) and asked for the DOM after scripts ran."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile

import pytest


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
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        dom, _ = await asyncio.wait_for(proc.communicate(), timeout=90)
    return dom.decode()
