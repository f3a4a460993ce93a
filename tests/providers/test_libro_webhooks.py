"""Libro webhooks: the simulator signs deliveries, the adapter verifies them."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import date, time

import pytest
from aiohttp import web

from tablegraph.errors import InvalidInput, NotSupported
from tablegraph.model import GuestData, NewBooking, WebhookEvent
from tablegraph.providers.kit import Runtime
from tablegraph.providers.libro import LibroProvider
from tablegraph.simulators.libro import LIBRO_WEBHOOKS, demo_upstreams
from tablegraph.timeutil import localize
from tests.providers.libro_support import BISTRO, libro_env

SECRET = "whsec_test"

# Source: seeds/libro-api.txt "Get Booking" response (trimmed to the fields used).
DOC_BOOKING = {
    "data": {
        "id": "63873433",
        "type": "booking",
        "attributes": {"size": 2, "status": "seated", "time": "2025-04-30T10:45:00.000-04:00"},
        "relationships": {
            "person": {"data": {"id": "18476003", "type": "person"}},
            "restaurant": {"data": {"id": "4521", "type": "restaurant"}},
        },
    },
    "included": [],
}


def _sign(body: bytes, t: int, secret: str = SECRET) -> str:
    # Source: providers/libro.md "Webhooks": v1 = hex HMAC-SHA256 of "{t}.{raw body}".
    return (
        f"t={t},v1="
        + hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    )


async def test_simulator_delivery_verifies_and_names_what_it_touches(start_server) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    hook_url = await start_server(receiver) + "/hook"
    async with libro_env(
        start_server,
        webhook_secret=SECRET,
        sim={"webhook_urls": (hook_url,), "webhook_secret": SECRET},
    ) as env:
        made = await env.provider.create_booking(
            NewBooking(
                BISTRO,
                localize(date(2026, 7, 4), time(12, 0), "America/Montreal"),
                2,
                GuestData("Ann", "Roy", "ann@roy.ca", "5145550000"),
                "k",
            )
        )
        await env.app[LIBRO_WEBHOOKS].flush()
        assert len(received) == 1
        headers, body = received[0]
        assert headers["X-Libro-Event"] == "booking.created"
        touched = env.provider.verify_webhook(headers, body)
        t, _, v1 = headers["X-Libro-Signature"].partition(",v1=")
        assert touched == WebhookEvent(
            event_id=f"{t[2:]}.{v1}",
            restaurant_ids=(BISTRO,),
            booking_ids=(made.native_id,),
            guest_ids=(made.guest_id,),
            kind="booking.created",
        )
        await env.provider.cancel_booking(made.native_id, None)
        await env.app[LIBRO_WEBHOOKS].flush()
        assert [h["X-Libro-Event"] for h, _ in received] == ["booking.created", "booking.canceled"]
        cancelled = env.provider.verify_webhook(*received[1])
        assert cancelled.booking_ids == (made.native_id,)
        # tampered body
        with pytest.raises(InvalidInput):
            env.provider.verify_webhook(headers, body.replace(b'"size": 2', b'"size": 9'))
        # replayed 301 s later
        env.clock.advance(301)
        with pytest.raises(InvalidInput) as err:
            env.provider.verify_webhook(headers, body)
        assert "stale" in err.value.message


async def test_signature_checks_on_a_reference_payload(start_server) -> None:
    async with libro_env(start_server, webhook_secret=SECRET) as env:
        await env.provider.list_restaurants()  # learns restaurant 4521 = its code
        body = json.dumps(DOC_BOOKING).encode()
        now = int(env.clock.now().timestamp())
        ok = env.provider.verify_webhook({"x-libro-signature": _sign(body, now)}, body)
        assert ok.restaurant_ids == (BISTRO,) and ok.booking_ids == ("63873433",)
        earlier = env.provider.verify_webhook({"X-Libro-Signature": _sign(body, now - 299)}, body)
        assert earlier.booking_ids == ("63873433",)
        for headers in (
            {},  # unsigned
            {"X-Libro-Signature": "garbage"},
            {"X-Libro-Signature": _sign(body, now, "wrong-secret")},
            {"X-Libro-Signature": _sign(body, now - 301)},  # stale
            {"X-Libro-Signature": _sign(body, now + 301)},  # from the future
        ):
            with pytest.raises(InvalidInput) as err:
                env.provider.verify_webhook(headers, body)
            assert SECRET not in err.value.message and "63873433" not in err.value.message


async def test_malformed_deliveries_are_invalid_input_and_no_secret_is_not_supported(
    start_server,
) -> None:
    async with libro_env(start_server, webhook_secret=SECRET) as env:
        now = int(env.clock.now().timestamp())
        for body in (
            b"[1, 2]",  # a list, not a document
            json.dumps({"data": [DOC_BOOKING["data"]]}).encode(),  # data is not one resource
            json.dumps({"data": "63873433"}).encode(),
            json.dumps({"data": {**DOC_BOOKING["data"], "relationships": []}}).encode(),
            b"\xff\xfe not json",
        ):
            with pytest.raises(InvalidInput):
                env.provider.verify_webhook({"X-Libro-Signature": _sign(body, now)}, body)
        [config] = demo_upstreams(env.url)
        credentials = {k: v for k, v in config.credentials.items() if k != "webhook_secret"}
        unsecured = LibroProvider(replace(config, credentials=credentials), Runtime())
        try:
            body = json.dumps(DOC_BOOKING).encode()
            with pytest.raises(NotSupported):
                unsecured.verify_webhook({"X-Libro-Signature": _sign(body, now)}, body)
        finally:
            await unsecured.close()
