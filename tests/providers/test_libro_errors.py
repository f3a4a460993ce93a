"""Every documented Libro error code (and HTTP status) maps to the right gateway error."""

from __future__ import annotations

from datetime import date, time

import httpx
import pytest
from aiohttp import web

from tablegraph.errors import (
    BookingRejected,
    GatewayError,
    InvalidInput,
    InvalidState,
    NotFound,
    PolicyViolation,
    SlotUnavailable,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamRateLimited,
)
from tablegraph.model import GuestData, NewBooking
from tablegraph.providers.libro.errors import ERRORS
from tablegraph.reconcile import LostCreates
from tablegraph.timeutil import localize
from tests.providers.libro_support import BISTRO, NOW, FrozenClock, libro_env

# Source: providers/libro.md "Pagination, errors, limits" (DOC _errors.md) and its
# "Error mapping" choice.
EXPECTED: dict[str, tuple[type[GatewayError], str]] = {
    "1001": (PolicyViolation, "OUTSIDE_POLICY"),
    "1002": (PolicyViolation, "OUTSIDE_POLICY"),
    "1003": (PolicyViolation, "OUTSIDE_POLICY"),
    "1004": (PolicyViolation, "OUTSIDE_POLICY"),
    "1005": (InvalidInput, "INVALID_INPUT"),
    "1006": (InvalidInput, "INVALID_INPUT"),
    **{f"200{i}": (SlotUnavailable, "SLOT_UNAVAILABLE") for i in range(1, 9)},
    "3001": (InvalidInput, "INVALID_INPUT"),
    "3002": (InvalidInput, "INVALID_INPUT"),
    "3003": (InvalidInput, "INVALID_INPUT"),
    "3004": (InvalidInput, "INVALID_INPUT"),
    "4001": (InvalidState, "NOT_CANCELLABLE"),
}


def test_error_body_from_the_reference() -> None:
    # Source: providers/libro.md (DOC _errors.md): {"error": legacy key, "code", "message"}.
    response = httpx.Response(
        422,
        json={
            "error": "validation.service.slots-unavailable-not-specific",
            "code": "2001",
            "message": "Unfortunately, there are no more available slots",
        },
    )
    with pytest.raises(SlotUnavailable) as err:
        raise ERRORS.error_for(response, "libro-x")
    assert err.value.code == "SLOT_UNAVAILABLE" and err.value.upstream == "libro-x"
    assert "Unfortunately" not in err.value.message  # never echo the upstream body
    assert err.value.details == {"providerStatus": 422, "providerCode": "2001"}


@pytest.mark.parametrize("code", sorted(EXPECTED))
async def test_each_documented_code_through_the_simulator(start_server, code: str) -> None:
    async with libro_env(start_server) as env:
        env.state.forced.append(("POST", "/restricted/restaurant/bookings", code))
        request = NewBooking(
            BISTRO,
            localize(date(2026, 7, 4), time(12, 0), "America/Montreal"),
            2,
            GuestData("A", "B", "a@b.ca", "5145550101"),
            "k",
        )
        cls, stable = EXPECTED[code]
        with pytest.raises(cls) as err:
            await env.provider.create_booking(request)
        assert err.value.code == stable
        assert err.value.details["providerCode"] == code
        assert err.value.upstream == "libro-montreal"


@pytest.mark.parametrize(
    ("status", "cls", "stable"),
    [
        ("400", InvalidInput, "INVALID_INPUT"),
        ("402", UpstreamAuthError, "UPSTREAM_AUTH_FAILED"),
        ("404", NotFound, "NOT_FOUND"),
        ("405", UpstreamAuthError, "UPSTREAM_AUTH_FAILED"),
        ("406", UpstreamBadResponse, "UPSTREAM_BAD_RESPONSE"),
        ("409", InvalidState, "NOT_CANCELLABLE"),
        ("422", InvalidInput, "INVALID_INPUT"),
    ],
)
async def test_http_statuses_without_a_code(
    start_server, status: str, cls: type[GatewayError], stable: str
) -> None:
    async with libro_env(start_server) as env:
        await env.provider.list_restaurants()
        env.state.forced.append(("GET", "/restricted/restaurant/seatings", status))
        with pytest.raises(cls) as err:
            await env.provider.get_availability(BISTRO, date(2026, 7, 4), 2)
        assert err.value.code == stable
        assert err.value.details["providerStatus"] == int(status)


async def test_429_is_retried_then_reported(start_server) -> None:
    clock = FrozenClock(NOW)
    async with libro_env(start_server, clock=clock, sim={"rate_limit": 2}) as env:
        await env.provider.list_restaurants()  # 1 of 2 requests in this second
        await env.provider.list_reviews(BISTRO)  # 2 of 2
        # The clock stands still, so every retry in this second is refused too.
        with pytest.raises(UpstreamRateLimited) as err:
            await env.provider.list_reviews(BISTRO)
        assert err.value.code == "UPSTREAM_RATE_LIMITED"
        assert env.count("GET /restricted/restaurant/reviews") == 1 + 4  # 1 + 3 retries


async def test_429_then_success_once_the_window_passes(start_server) -> None:
    clock = FrozenClock(NOW)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # backoff moves the simulator's clock
        slept.append(seconds)
        clock.advance(1.0)

    async with libro_env(start_server, clock=clock, sim={"rate_limit": 1}, sleep=sleep) as env:
        await env.provider.list_restaurants()
        reviews = await env.provider.list_reviews(BISTRO)
        assert len(reviews) == 8 and len(slept) == 1
        assert 0 <= slept[0] <= 1.0  # first backoff: full jitter under 1 s


# A Libro error body the table has no rule for: the body shape is the documented one
# (providers/libro.md, DOC _errors.md); the code and the sentence are invented, as a newer
# Libro might send them.
UNDOCUMENTED = {
    422: {
        "error": "validation.booking.terrace-party-size",
        "code": "3999",
        "message": "The terrace takes parties of 6 or fewer",
    },
    410: {
        "error": "restaurant.online-booking-closed",
        "code": "9001",
        "message": "This restaurant no longer takes online bookings",
    },
}


@pytest.mark.parametrize(
    ("status", "cls", "stable"),
    [(422, InvalidInput, "INVALID_INPUT"), (410, BookingRejected, "REJECTED")],
)
async def test_a_4xx_with_libros_error_body_is_a_definite_refusal_with_its_reason(
    start_server, status: int, cls: type[GatewayError], stable: str
) -> None:
    """Issue #14 item 2, for Libro: a refused create was not applied, so it is reported with
    Libro's reason — never OUTCOME_UNKNOWN, and nothing is looked up or sent again."""
    posts: list[str] = []

    @web.middleware
    async def refuse(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if request.method == "POST" and request.path == "/restricted/restaurant/bookings":
            posts.append(request.path)
            return web.json_response(UNDOCUMENTED[status], status=status)
        return await handler(request)

    async with libro_env(start_server, middlewares=(refuse,)) as env:
        request = NewBooking(
            BISTRO,
            localize(date(2026, 7, 4), time(12, 0), "America/Montreal"),
            2,
            GuestData("A", "B", "a@b.ca", "5145550101"),
            "definite",
        )
        lookups_before = env.count("GET /restricted/restaurant/bookings")
        with pytest.raises(cls) as err:
            await LostCreates().create(env.provider, request, "client")
        assert type(err.value) is cls and err.value.code == stable
        assert err.value.message == UNDOCUMENTED[status]["message"]
        assert err.value.details == {
            "providerStatus": status,
            "providerCode": UNDOCUMENTED[status]["code"],
        }
        assert posts == ["/restricted/restaurant/bookings"]
        assert env.count("GET /restricted/restaurant/bookings") == lookups_before


def test_an_unreadable_4xx_is_still_definite() -> None:
    response = httpx.Response(409, text="<html>Conflict</html>")
    error = ERRORS.error_for(response, "libro-x")
    assert isinstance(error, InvalidState) and error.code == "NOT_CANCELLABLE"
    assert "<html>" not in error.message
    assert ERRORS.error_for(httpx.Response(418), "libro-x").code == "REJECTED"
