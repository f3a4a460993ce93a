"""bookingEvents end to end: the Vardvik simulator, the gateway, and subscribers over
graphql-transport-ws and Server-Sent Events, all on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from tablegraph.settings import Secret, Security
from tablegraph.simulators.vardvik import demo_upstreams

from ..graphql.conftest import Api, Sim
from ..graphql.helpers import BERLIN_MITTE, CANCEL, CREATE, OSLO, RESCHEDULE, guest, quiet_weekday
from .live import SseSubscriber, WsSubscriber, bearer, start_live, until

STREAM = ("vardvik-berlin", "rst_1/loc_1")
SLOTS = """
query($ids: [ID!]!, $date: Date!) {
  availability(restaurantIds: $ids, date: $date, partySize: 2) { slots { start } }
}"""

BEARER = bearer("all")


@pytest.fixture
async def live(sim: Sim) -> AsyncIterator[Api]:
    upstreams = [
        replace(u, credentials={**u.credentials, "webhook_secret": Secret("whsec_test")})
        for u in demo_upstreams(sim.url)
    ]
    runner, api = await start_live(upstreams)
    yield api
    await api.http.aclose()
    await runner.cleanup()


async def _two_starts(api: Api) -> tuple[str, str]:
    day = quiet_weekday().isoformat()
    data = await api.data(SLOTS, {"ids": [BERLIN_MITTE], "date": day})
    slots = data["availability"][0]["slots"]
    return slots[1]["start"], slots[-2]["start"]


async def _create(api: Api, start: str, n: int = 0) -> dict[str, Any]:
    payload = {"restaurantId": BERLIN_MITTE, "start": start, "partySize": 2, "guest": guest(n)}
    data = await api.data(CREATE, {"input": payload})
    assert data["createBooking"]["userErrors"] == []
    booking: dict[str, Any] = data["createBooking"]["booking"]
    return booking


async def _reschedule(api: Api, booking_id: str, start: str) -> None:
    data = await api.data(RESCHEDULE, {"input": {"bookingId": booking_id, "start": start}})
    assert data["rescheduleBooking"]["userErrors"] == []


async def _cancel(api: Api, booking_id: str) -> None:
    data = await api.data(CANCEL, {"input": {"bookingId": booking_id}})
    assert data["cancelBooking"]["userErrors"] == []


async def _ws(api: Api, variables: dict[str, Any], token: str = "all") -> WsSubscriber:
    sub = await WsSubscriber.connect(api, bearer(token))
    await sub.acked()
    await sub.subscribe(variables)
    return sub


async def test_ws_and_sse_subscribers_see_create_reschedule_cancel_in_order(live: Api) -> None:
    api = live
    ws = await _ws(api, {"ids": [BERLIN_MITTE]})
    sse = await SseSubscriber.open(api, {"ids": [BERLIN_MITTE]}, BEARER)
    try:
        assert sse.status == 200
        await until(lambda: api.gateway.events.subscribers(STREAM) == 2)
        first, second = await _two_starts(api)
        booking = await _create(api, first)
        await _reschedule(api, booking["id"], second)
        await _cancel(api, booking["id"])
        for sub in (ws, sse):
            created, moved, cancelled = [await sub.event() for _ in range(3)]
            assert [e["kind"] for e in (created, moved, cancelled)] == [
                "CREATED",
                "RESCHEDULED",
                "CANCELLED",
            ]
            assert {e["source"] for e in (created, moved, cancelled)} == {"GATEWAY"}
            assert {e["booking"]["id"] for e in (created, moved, cancelled)} == {booking["id"]}
            assert created["restaurant"]["name"].startswith("Atelier Lindenhof")
            assert created["booking"]["guest"]["email"] == "ada0@example.com"
            start_change = next(c for c in moved["changes"] if c["field"] == "start")
            assert datetime.fromisoformat(start_change["old"]) == datetime.fromisoformat(first)
            assert datetime.fromisoformat(start_change["new"]) == datetime.fromisoformat(second)
            assert {"field": "status", "old": "CONFIRMED", "new": "CANCELLED"} in cancelled[
                "changes"
            ]
            assert cancelled["booking"]["status"] == "CANCELLED"
    finally:
        await ws.close()
        await sse.close()
    await until(lambda: api.gateway.events.subscribers(STREAM) == 0)


def _signed(body: bytes) -> dict[str, str]:
    t = int(time.time())
    sig = hmac.new(b"whsec_test", f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-webhook-signature": f"t={t},v1={sig}", "content-type": "application/json"}


async def test_a_signed_webhook_delivered_twice_yields_one_event(live: Api, sim: Sim) -> None:
    api = live
    ws = await _ws(api, {"ids": [BERLIN_MITTE]})
    try:
        await until(lambda: api.gateway.events.subscribers(STREAM) == 1)
        first, _ = await _two_starts(api)
        # Staff booked it in Vardvik's console: only the webhook tells the gateway.
        res = sim.state.add_reservation("rst_1", "loc_1", datetime.fromisoformat(first), 2)
        body = json.dumps(
            {
                "id": "evt_console_1",
                "type": "reservation.created",
                "restaurantId": "rst_1",
                "data": {"reservationId": res.id},
            }
        ).encode()
        once = await api.http.post("/webhooks/vardvik-berlin", content=body, headers=_signed(body))
        twice = await api.http.post("/webhooks/vardvik-berlin", content=body, headers=_signed(body))
        assert once.json() == {"status": "accepted"}
        assert twice.json() == {"status": "duplicate"}
        event = await ws.event()
        assert (event["kind"], event["source"]) == ("CREATED", "WEBHOOK")
        # The next event is the gateway's cancel, not a second copy of the webhook's.
        await _cancel(api, event["booking"]["id"])
        after = await ws.event()
        assert (after["kind"], after["source"]) == ("CANCELLED", "GATEWAY")
        assert after["booking"]["id"] == event["booking"]["id"]
    finally:
        await ws.close()


async def test_reconnecting_with_the_last_event_id_replays_what_was_missed_once(
    live: Api,
) -> None:
    api = live
    first, second = await _two_starts(api)
    ws = await _ws(api, {"ids": [BERLIN_MITTE]})
    await until(lambda: api.gateway.events.subscribers(STREAM) == 1)
    booking = await _create(api, first)
    seen = await ws.event()
    await ws.close()
    await until(lambda: api.gateway.events.subscribers(STREAM) == 0)
    await _reschedule(api, booking["id"], second)  # missed while away
    await _cancel(api, booking["id"])

    again = await _ws(api, {"ids": [BERLIN_MITTE], "after": seen["id"]})
    sse = await SseSubscriber.open(
        api, {"ids": [BERLIN_MITTE]}, {**BEARER, "Last-Event-ID": seen["id"]}
    )
    try:
        for sub in (again, sse):
            replayed = [await sub.event() for _ in range(2)]
            assert [e["kind"] for e in replayed] == ["RESCHEDULED", "CANCELLED"]
        await until(lambda: api.gateway.events.subscribers(STREAM) == 2)
        live_one = await _create(api, first, n=1)  # then live, nothing repeated in between
        for sub in (again, sse):
            nxt = await sub.event()
            assert (nxt["kind"], nxt["booking"]["id"]) == ("CREATED", live_one["id"])
    finally:
        await again.close()
        await sse.close()


async def test_an_unknown_last_event_id_is_refused_with_a_reason(live: Api) -> None:
    ws = await _ws(live, {"ids": [BERLIN_MITTE], "after": "evt_never"})
    try:
        message = await ws.message()
        assert message["type"] in ("next", "error"), message
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "REPLAY_UNAVAILABLE"
    finally:
        await ws.close()


@pytest.mark.parametrize(
    ("payload", "code"),
    [({}, 4401), ({"Authorization": "Bearer x"}, 4403), (bearer("no-bookings"), 4403)],
)
async def test_websocket_without_or_with_a_bad_token_is_closed(
    live: Api, payload: dict[str, str], code: int
) -> None:
    ws = await WsSubscriber.connect(live, payload)
    try:
        message = await ws.message()
        assert message == {"type": "closed", "code": code}
    finally:
        await ws.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer x"}, 401), (bearer("no-bookings"), 403)],
)
async def test_sse_without_or_with_a_bad_token_is_refused(
    live: Api, headers: dict[str, str], status: int
) -> None:
    live.http.headers.pop("Authorization")
    response = await live.http.post(
        "/graphql",
        json={"query": "subscription { bookingEvents(restaurantIds: []) { id } }"},
        headers={"Accept": "text/event-stream", **headers},
    )
    assert response.status_code == status


async def test_a_client_never_subscribes_outside_its_restaurants(live: Api) -> None:
    ws = await _ws(live, {"ids": [BERLIN_MITTE]}, token="oslo-only")
    own = await _ws(live, {"ids": [OSLO]}, token="oslo-only")
    try:
        message = await ws.message()
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"
        assert live.gateway.events.subscribers(STREAM) == 0
        await until(lambda: live.gateway.events.subscribers(("vardvik-oslo", "rst_2/loc_3")) == 1)
    finally:
        await ws.close()
        await own.close()


async def test_without_guest_scope_events_carry_no_email_or_phone(live: Api) -> None:
    api = live
    ws = await _ws(api, {"ids": [BERLIN_MITTE]}, token="no-pii")
    try:
        await until(lambda: api.gateway.events.subscribers(STREAM) == 1)
        first, _ = await _two_starts(api)
        await _create(api, first)
        event = await ws.event()
        assert event["booking"]["guest"]["firstName"] == "Ada"
        assert event["booking"]["guest"]["email"] is None
        assert event["booking"]["guest"]["phone"] is None
    finally:
        await ws.close()


async def test_stopping_the_gateway_ends_open_subscriptions_promptly(sim: Sim) -> None:
    runner, api = await start_live(demo_upstreams(sim.url))
    try:
        ws = await _ws(api, {"ids": [BERLIN_MITTE]})
        sse = await SseSubscriber.open(api, {"ids": [BERLIN_MITTE]}, BEARER)
        await until(lambda: api.gateway.events.subscribers(STREAM) == 2)

        async def until_closed() -> list[dict[str, Any]]:
            seen = [await ws.message()]
            while seen[-1]["type"] != "closed":
                seen.append(await ws.message())
            return seen

        reading = asyncio.create_task(until_closed())
        await asyncio.wait_for(runner.cleanup(), 10)  # not aiohttp's 60 s shutdown timeout
        frame = await sse.frame()
        errors = json.loads(frame["data"])["errors"]
        assert errors[0]["extensions"]["code"] == "SHUTTING_DOWN"
        seen = await reading
        assert seen[-1] == {"type": "closed", "code": 1001}
        await ws.close()
        await sse.close()
    finally:
        await api.http.aclose()


async def test_kinds_filter_what_a_subscriber_hears(live: Api) -> None:
    api = live
    ws = await _ws(api, {"ids": [BERLIN_MITTE], "kinds": ["CANCELLED"]})
    try:
        await until(lambda: api.gateway.events.subscribers(STREAM) == 1)
        first, _ = await _two_starts(api)
        booking = await _create(api, first)
        await _cancel(api, booking["id"])
        event = await ws.event()  # the creation was not for this subscriber
        assert (event["kind"], event["booking"]["id"]) == ("CANCELLED", booking["id"])
    finally:
        await ws.close()


async def test_graphiql_is_configured_for_subscriptions(sim: Sim) -> None:
    runner, api = await start_live(demo_upstreams(sim.url), security=Security(graphiql=True))
    try:
        page = await api.http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "subscriptionUrl" in page.text and "'ws://'" in page.text
    finally:
        await api.http.aclose()
        await runner.cleanup()


async def test_the_socket_carries_subscriptions_only(live: Api) -> None:
    ws = await WsSubscriber.connect(live)
    try:
        await ws.acked()
        await ws.ws.send_json(
            {"id": "q", "type": "subscribe", "payload": {"query": "{ upstreams { name } }"}}
        )
        message = await ws.message()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
    finally:
        await ws.close()
