"""Vardvik quirks served through ``httpx.MockTransport`` (the adapter built with a ``Runtime``).

Payloads follow shared/providers/rest-v1.md: the config is the documented example ("Objects",
seed), error answers the documented envelope ("Error envelope"), webhook deliveries the
documented body and signature ("Webhooks").
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tablegraph.errors import (
    BookingRejected,
    InvalidInput,
    NotSupported,
    OutcomeUnknown,
    SlotUnavailable,
    UpstreamBadResponse,
)
from tablegraph.model import GuestData, NewBooking
from tablegraph.providers.kit import Runtime
from tablegraph.providers.vardvik import VardvikProvider
from tablegraph.settings import ConfigError, Secret, UpstreamConfig

NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
#: The seed's config example (rest-v1.md "Objects", seed text).
CONFIG = {
    "restaurant": {"id": "rst_1", "name": "Atelier Lindenhof", "timezone": "Europe/Berlin"},
    "locations": [
        {"id": "loc_1", "name": "Berlin Mitte", "city": "Berlin", "timezone": "Europe/Berlin"}
    ],
    "reservation": {
        "minPartySize": 1,
        "maxPartySize": 12,
        "defaultDurationMinutes": 120,
        "minLeadTimeMinutes": 30,
        "maxAdvanceBookingDays": 90,
        "slotIntervalMinutes": 30,
    },
    "features": {"waitlist": True, "webhooks": True, "reservationChanges": True},
}
Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def _config(**options: Any) -> UpstreamConfig:
    return UpstreamConfig(
        name="vardvik-test",
        kind="vardvik",
        base_url="http://vardvik.test/api/v1",
        credentials={"api_key": Secret("live-key"), "webhook_secret": Secret("whsec")},
        options={"restaurant_ids": ["rst_1"], **options},
    )


def _provider(handler: Handler, clock: Clock | None = None, **options: Any) -> VardvikProvider:
    runtime = Runtime(
        transport=httpx.MockTransport(handler),
        now=lambda: NOW,
        monotonic=clock or Clock(),
    )
    return VardvikProvider(_config(**options), runtime)


def _refusal(status: int, code: str, message: str, **details: Any) -> httpx.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return httpx.Response(status, json={"error": error})


def _answering(create: httpx.Response, seen: list[str] | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/config"):
            return httpx.Response(200, json=CONFIG)
        return create

    return handle


def _new_booking() -> NewBooking:
    return NewBooking(
        "rst_1/loc_1",
        datetime(2026, 6, 12, 19, 0, tzinfo=UTC),
        4,
        GuestData("Mara", "Schneider", "mara@example.com"),
        "order-84421",
    )


async def test_an_unknown_refusal_is_a_definite_rejection_with_vardviks_reason() -> None:
    # Issue #14 item 2, for Vardvik: a 4xx in Vardvik's envelope was not applied, whatever its
    # code; the client gets Vardvik's reason, never "outcome unknown".
    seen: list[str] = []
    answer = _refusal(409, "deposit_required", "parties of 4 or more need a deposit")
    provider = _provider(_answering(answer, seen))
    with pytest.raises(BookingRejected) as caught:
        await provider.create_booking(_new_booking())
    assert type(caught.value) is BookingRejected
    assert caught.value.code == "REJECTED"
    assert caught.value.message == "parties of 4 or more need a deposit"
    assert caught.value.details["providerStatus"] == 409
    assert caught.value.details["providerCode"] == "deposit_required"
    assert seen.count("POST /api/v1/restaurants/rst_1/reservations") == 1  # not retried
    await provider.close()


@pytest.mark.parametrize("status", [410, 418, 422])
async def test_a_4xx_without_a_readable_body_is_still_a_definite_rejection(status: int) -> None:
    answer = httpx.Response(status, text="<html>nope</html>", headers={"content-type": "text/html"})
    provider = _provider(_answering(answer))
    with pytest.raises(BookingRejected) as caught:
        await provider.create_booking(_new_booking())
    assert caught.value.code == "REJECTED"
    assert caught.value.message == f"Vardvik refused the request ({status})"
    assert "nope" not in caught.value.message
    await provider.close()


async def test_an_unreadable_success_is_the_only_ambiguous_answer() -> None:
    provider = _provider(_answering(httpx.Response(201, text='{"reservation": {"id"')))
    with pytest.raises(UpstreamBadResponse):
        await provider.create_booking(_new_booking())
    await provider.close()


async def test_known_codes_keep_their_stable_codes() -> None:
    answer = _refusal(409, "slot_unavailable", "no table is free at 19:00")
    provider = _provider(_answering(answer))
    with pytest.raises(SlotUnavailable) as caught:
        await provider.create_booking(_new_booking())
    assert caught.value.code == "SLOT_UNAVAILABLE"
    assert not isinstance(caught.value, OutcomeUnknown)
    await provider.close()


@pytest.mark.parametrize(
    ("vardvik_field", "model_field"),
    [
        ("partySize", ("party_size",)),
        ("startTime", ("start",)),
        ("guest.email", ("guest", "email")),
        ("guest.firstName", ("guest", "first_name")),
        ("Idempotency-Key", ("idempotency_key",)),
        ("somethingNew", None),
    ],
)
async def test_a_validation_error_names_the_model_field(
    vardvik_field: str, model_field: tuple[str, ...] | None
) -> None:
    message = f"{vardvik_field} is not acceptable"
    answer = _refusal(400, "validation_error", message, field=vardvik_field)
    provider = _provider(_answering(answer))
    with pytest.raises(InvalidInput) as caught:
        await provider.create_booking(_new_booking())
    assert caught.value.field == model_field
    assert caught.value.message == message
    await provider.close()


async def test_upsert_without_email_names_the_model_field() -> None:
    from tablegraph.model import GuestUpsert

    provider = _provider(_answering(httpx.Response(500)))
    with pytest.raises(InvalidInput) as caught:
        await provider.upsert_guest(GuestUpsert("rst_1/loc_1", GuestData("A", "B")))
    assert caught.value.field == ("guest", "email")
    await provider.close()


# ---- the restaurant config is a gateway cache --------------------------------------------


async def test_configs_live_in_the_gateways_cache_and_expire_on_its_clock() -> None:
    seen: list[str] = []
    clock = Clock()
    provider = _provider(_answering(httpx.Response(500), seen), clock, config_ttl_seconds=60)
    first = await provider.list_restaurants()
    await provider.list_restaurants()
    assert [r.native_id for r in first] == ["rst_1/loc_1"]
    assert seen == ["GET /api/v1/restaurants/rst_1/config"]
    caches = provider.runtime.caches
    assert caches is not None and "vardvik-test.config" in caches.made
    clock.seconds += 61
    await provider.list_restaurants()
    assert len(seen) == 2
    assert provider.runtime.caches is not None
    provider.runtime.caches.invalidate("vardvik-test.")
    await provider.list_restaurants()
    assert len(seen) == 3
    await provider.close()


# ---- options -----------------------------------------------------------------------------


def test_options_are_typed() -> None:
    provider = VardvikProvider(_config(availability_via_post=True))
    assert provider.options.restaurant_ids == ("rst_1",)
    assert provider.options.availability_via_post is True
    assert provider.options.config_ttl_seconds == 300.0
    with pytest.raises(ConfigError, match="unknown option 'ttl'"):
        VardvikProvider.check_options({"restaurant_ids": ["rst_1"], "ttl": 5}, "v")
    with pytest.raises(ConfigError, match="restaurant_ids"):
        VardvikProvider.check_options({}, "v")
    with pytest.raises(ConfigError, match="config_ttl_seconds"):
        VardvikProvider.check_options({"restaurant_ids": ["rst_1"], "config_ttl_seconds": -1}, "v")


# ---- webhooks ----------------------------------------------------------------------------


def _signed(body: bytes, secret: str = "whsec") -> dict[str, str]:
    stamp = int(NOW.timestamp())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-webhook-signature": f"t={stamp},v1={digest}", "x-webhook-event": "x"}


#: The documented delivery body (rest-v1.md "Webhooks").
DELIVERY = {
    "id": "evt_1",
    "type": "reservation.cancelled",
    "restaurantId": "rst_1",
    "createdAt": "2026-06-10T08:00:00.000Z",
    "data": {"reservationId": "res_9f31", "publicReference": "rr_7f3a91", "status": "cancelled"},
}


async def test_a_webhook_touches_every_cached_location_of_its_restaurant() -> None:
    provider = _provider(_answering(httpx.Response(500)))
    body = json.dumps(DELIVERY).encode()
    before = provider.verify_webhook(_signed(body), body)
    assert before.restaurant_ids == () and before.booking_ids == ("res_9f31",)
    await provider.list_restaurants()
    event = provider.verify_webhook(_signed(body), body)
    assert event.event_id == "evt_1" and event.kind == "reservation.cancelled"
    assert event.restaurant_ids == ("rst_1/loc_1",)
    await provider.close()


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", json.dumps({**DELIVERY, "data": [1]}).encode(), json.dumps("x").encode()],
)
def test_a_malformed_webhook_body_is_invalid_input(body: bytes) -> None:
    provider = VardvikProvider(_config(), Runtime(now=lambda: NOW))
    with pytest.raises(InvalidInput):
        provider.verify_webhook(_signed(body), body)


def test_a_webhook_without_a_configured_secret_is_not_supported() -> None:
    config = _config()
    config = UpstreamConfig(
        config.name, config.kind, config.base_url, {"api_key": Secret("k")}, config.options
    )
    provider = VardvikProvider(config, Runtime(now=lambda: NOW))
    body = json.dumps(DELIVERY).encode()
    with pytest.raises(NotSupported):
        provider.verify_webhook(_signed(body), body)
