"""``tablegraph demo`` run again on the same data directory: its simulators are seeded afresh
(and reuse their ids), so its store starts empty too. A create replayed with the first run's
key books in the new simulators instead of answering with a booking they never made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tablegraph.cli import launch_demo

from .auth_support import AUTH_HEADERS, TEST_KEY
from .graphql.helpers import AVAILABILITY, BERLIN_MITTE, CREATE, quiet_weekday
from .processes import free_port

READ = "query($id: ID!) { booking(id: $id) { id status } }"


async def _book_in_a_demo_run(data_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """One demo run: the create (same request and key every run), then its booking read back."""
    runners, url, _gateway, _ = await launch_demo(
        "127.0.0.1", free_port(), 1, key=TEST_KEY, data_dir=str(data_dir)
    )
    base = url.removesuffix("/graphql")
    try:
        async with httpx.AsyncClient(base_url=base, headers=AUTH_HEADERS, timeout=30) as http:
            day = quiet_weekday().isoformat()
            found = await http.post(
                "/graphql",
                json={
                    "query": AVAILABILITY,
                    "variables": {"ids": [BERLIN_MITTE], "date": day, "party": 2},
                },
            )
            slots = found.json()["data"]["availability"][0]["slots"]
            variables = {
                "input": {
                    "restaurantId": BERLIN_MITTE,
                    "start": slots[0]["start"],
                    "partySize": 2,
                    "guest": {"firstName": "Demo", "lastName": "Again", "email": "d@example.com"},
                    "idempotencyKey": "walkthrough-1",
                }
            }
            made = await http.post("/graphql", json={"query": CREATE, "variables": variables})
            created: dict[str, Any] = made.json()["data"]["createBooking"]
            assert created["userErrors"] == [], created
            read = await http.post(
                "/graphql", json={"query": READ, "variables": {"id": created["booking"]["id"]}}
            )
            return created, read.json()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def test_a_second_demo_run_starts_with_an_empty_store(tmp_path: Path) -> None:
    _first, first_read = await _book_in_a_demo_run(tmp_path)
    assert first_read["data"]["booking"]["status"] == "CONFIRMED", first_read
    _second, second_read = await _book_in_a_demo_run(tmp_path)
    # Without a fresh store this is the first run's booking, which the new simulators lack.
    assert second_read.get("errors") is None, second_read
    assert second_read["data"]["booking"]["status"] == "CONFIRMED"
    assert (tmp_path / "token.key").exists()  # the directory's secrets stay
