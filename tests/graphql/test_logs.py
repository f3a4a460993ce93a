"""Structured logs: JSON lines with the request's id, client, operation and duration; no line
holds an e-mail, phone number or credential from the test's data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tablegraph import logs
from tablegraph.settings import GatewaySettings

from .conftest import Api, Sim
from .helpers import AVAILABILITY, BERLIN_MITTE, CREATE, quiet_weekday

EMAIL, PHONE = "ada.lovelace@example.com", "+44 20 7946 0018"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The root logger's records as the gateway's JSON lines (as ``serve`` writes them)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def test_json_lines_carry_the_request_and_hide_guest_data_and_credentials(
    api: Api, sim: Sim, lines: io.StringIO
) -> None:
    settings: GatewaySettings = api.gateway.settings
    key = settings.upstreams[0].credentials["api_key"].reveal()
    for upstream in settings.upstreams:
        for secret in upstream.credentials.values():
            logs.register_secret(secret.reveal())
    day = quiet_weekday().isoformat()
    found = await api.data(
        "query Slots($ids: [ID!]!, $date: Date!, $party: Int!) "
        + AVAILABILITY.split("query($ids: [ID!]!, $date: Date!, $party: Int!)", 1)[1],
        {"ids": [BERLIN_MITTE], "date": day, "party": 2},
    )
    slots = found["availability"][0]["slots"]
    variables = {
        "input": {
            "restaurantId": BERLIN_MITTE,
            "start": slots[len(slots) // 2]["start"],
            "partySize": 2,
            "guest": {"firstName": "Ada", "lastName": "Lovelace", "email": EMAIL, "phone": PHONE},
            "idempotencyKey": "logs-1",
        }
    }
    created = await api.http.post(
        "/graphql",
        json={"query": CREATE, "variables": variables},
        headers={"X-Request-Id": "req-42"},
    )
    assert created.json()["data"]["createBooking"]["userErrors"] == []
    # Whatever a log call is handed, the line comes out clean.
    logging.getLogger("tablegraph.test").warning(
        "guest %s (%s) Authorization: Bearer %s", EMAIL, PHONE, key, extra={"guest": EMAIL}
    )

    text = lines.getvalue()
    records = [json.loads(line) for line in text.splitlines()]
    assert records, "the gateway logged nothing"
    # One line per GraphQL request, the access log's: the request id, client, operation,
    # status, outcome, duration and upstream calls together.
    requests = [r for r in records if r.get("path") == "/graphql"]
    assert [r["logger"] for r in requests] == ["tablegraph.access"] * 2
    assert [r["operation"] for r in requests] == ["Slots", None]
    assert requests[0]["request_id"] != "req-42" and len(requests[0]["request_id"]) == 32
    booking = requests[1]
    assert booking["request_id"] == "req-42" and booking["client_id"] == "test-client"
    assert booking["status"] == 200 and booking["outcome"] == "ok"
    assert booking["duration_ms"] > 0 and booking["level"] == "info"
    assert set(booking["upstreams"]) == {"vardvik-berlin"}
    assert booking["upstreams"]["vardvik-berlin"] >= 1
    assert not [r for r in records if r["message"] == "graphql request"]
    for secret in (EMAIL, PHONE, PHONE.replace(" ", ""), key):
        assert secret not in text, f"{secret!r} reached a log line"
    assert records[-1]["guest"] == logs.MASK
