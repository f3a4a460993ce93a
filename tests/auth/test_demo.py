"""``tablegraph demo`` works out of the box: it prints a key beside the GraphiQL URL, the key
works over HTTP, and the printed URL opens GraphiQL with the key in its headers (checked in
headless Chromium: the schema loads through the gateway, which it cannot without the key)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.browser import chromium, rendered_dom
from tests.processes import running_demo


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    async with running_demo(tmp_path) as (url, key):
        assert url.endswith("#key=" + key)
        yield url, key


async def test_the_demo_key_works_over_http_and_in_graphiql(demo: tuple[str, str]) -> None:
    url, key = demo
    endpoint = url.split("#")[0]
    query = {"query": "{ restaurants { totalCount } }"}
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.post(endpoint, json=query)).status_code == 401
        ok = await http.post(endpoint, json=query, headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200 and ok.json()["data"]["restaurants"]["totalCount"] > 0

    browser = chromium()
    with_key = await rendered_dom(browser, url)
    without_key = await rendered_dom(browser, endpoint)
    assert "graphiql-container" in with_key and "graphiql-container" in without_key
    # The headers editor holds the printed key, and the schema loaded with it.
    assert key in with_key
    assert "UNAUTHENTICATED" not in with_key
    # The control: without the key the same page cannot load the schema.
    assert "UNAUTHENTICATED" in without_key or "401" in without_key
