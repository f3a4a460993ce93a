"""GraphiQL's subscription support against the demo, in a real browser: the page the demo
prints (with its key) runs ``bookingEvents`` over its WebSocket, the test books through the
gateway, and the event appears in GraphiQL's result pane."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.browser import DevTools, chromium
from tests.processes import running_demo

from ..graphql.helpers import BERLIN_MITTE, CREATE, quiet_weekday

LIVE = """subscription Live($ids: [ID!]!) {
  bookingEvents(restaurantIds: $ids) {
    id kind source booking { id start guest { firstName } }
  }
}"""
SLOTS = """
query($ids: [ID!]!, $date: Date!) {
  availability(restaurantIds: $ids, date: $date, partySize: 2) { slots { start } }
}"""
SUBSCRIBED = 'tablegraph_event_subscribers{upstream="vardvik-berlin"} 1.0'
#: GraphiQL's result pane (a CodeMirror editor), as text.
RESULT = """(() => {
  const pane = document.querySelector('.result-window .CodeMirror');
  return pane && pane.CodeMirror ? pane.CodeMirror.getValue() : '';
})()"""


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """The demo with a store of its own; yields the printed GraphiQL URL and key."""
    async with running_demo(tmp_path / "demo") as printed:
        yield printed


async def _subscribed(http: httpx.AsyncClient, base: str) -> None:
    """Wait (bounded) until the gateway counts the page's subscriber."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while SUBSCRIBED not in (await http.get(f"{base}/metrics")).text:
        assert loop.time() < deadline, "the page's subscription never reached the gateway"
        await asyncio.sleep(0.1)


async def _book(http: httpx.AsyncClient, endpoint: str) -> str:
    day = quiet_weekday().isoformat()
    found = await http.post(
        endpoint, json={"query": SLOTS, "variables": {"ids": [BERLIN_MITTE], "date": day}}
    )
    start = found.json()["data"]["availability"][0]["slots"][1]["start"]
    payload = {
        "restaurantId": BERLIN_MITTE,
        "start": start,
        "partySize": 2,
        "guest": {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"},
    }
    made = await http.post(endpoint, json={"query": CREATE, "variables": {"input": payload}})
    data = made.json()["data"]["createBooking"]
    assert data["userErrors"] == [], data
    booking_id: str = data["booking"]["id"]
    return booking_id


async def test_graphiql_shows_a_booking_event_from_its_subscription(
    demo: tuple[str, str],
) -> None:
    url, key = demo
    endpoint = url.split("#")[0]
    base = endpoint.rsplit("/graphql", 1)[0]
    opened = (
        f"{endpoint}?{urlencode({'query': LIVE, 'variables': json.dumps({'ids': [BERLIN_MITTE]})})}"
    )
    browser = chromium()
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        DevTools.launch(browser) as page,
        httpx.AsyncClient(timeout=30, headers=headers) as http,
    ):
        await page.open(f"{opened}#key={key}")
        await page.until("document.querySelector('.graphiql-execute-button') !== null")
        assert await page.evaluate("location.hash") == ""  # the key left the address bar
        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        await _subscribed(http, base)
        booking_id = await _book(http, endpoint)
        text = await page.until(
            f"(() => {{ const t = {RESULT}; return t.includes('CREATED') && t; }})()"
        )
        shown = json.loads(text)
        event = shown["data"]["bookingEvents"]
        assert (event["kind"], event["source"]) == ("CREATED", "GATEWAY")
        assert event["booking"]["id"] == booking_id
        assert event["booking"]["guest"]["firstName"] == "Grace"
