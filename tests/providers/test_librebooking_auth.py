"""LibreBooking sessions: login failure, renewal before expiry, one single-flight re-login
after a session ended behind the gateway's back, sign-out on shutdown."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest

from tablegraph.errors import UpstreamAuthError
from tablegraph.model import BookingQuery
from tablegraph.settings import Secret
from tablegraph.simulators.librebooking import PREFIX
from tablegraph.timeutil import local_day_bounds
from tests.providers.librebooking_support import CAPTURE_TIME, MakeRig

DAY = date(2026, 11, 23)


async def test_wrong_password_is_an_auth_error_for_that_upstream(make_rig: MakeRig) -> None:
    rig = await make_rig(credentials={"username": Secret("admin"), "password": Secret("nope")})
    with pytest.raises(UpstreamAuthError) as info:
        await rig.provider.list_restaurants()
    assert info.value.upstream == "librebooking-nyc"
    assert "nope" not in str(info.value)
    # Observed (capture 003): HTTP 200 with isAuthenticated:false — no crash, and the
    # concurrent calls of that read share the one refused login instead of retrying it.
    assert rig.state.logins == 1
    rig.clock.advance(31)
    with pytest.raises(UpstreamAuthError):
        await rig.provider.list_restaurants()
    assert rig.state.logins == 2


async def test_session_expired_behind_our_back_renews_once_for_50_requests(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(bookings=True)
    start, end = local_day_bounds(DAY, "America/New_York")
    query = BookingQuery("1", start, end)
    first = await rig.provider.list_bookings(query)
    assert len(first) >= 3 and rig.state.logins == 1
    async with httpx.AsyncClient(base_url=rig.url) as client:
        expired = await client.post("/_sim/expire-sessions")
    assert expired.json() == {"expired": 1}

    results = await asyncio.gather(*(rig.provider.list_bookings(query) for _ in range(50)))

    assert rig.state.logins - 1 == 1  # exactly one re-login for the whole burst of 50
    assert all(r == first for r in results)
    assert (
        rig.provider.clients[0].counts["GET 401"] == 50
    )  # all 50 were in flight on the old session


async def test_session_is_renewed_before_it_expires(make_rig: MakeRig) -> None:
    rig = await make_rig()
    await rig.provider.list_restaurants()
    assert rig.state.logins == 1
    rig.clock.advance(29 * 60)  # sessionExpires is 30 minutes after the login
    # (restaurants come from the gateway's caches now: the bookings list is a sure request)
    start, end = local_day_bounds(DAY, "America/New_York")
    await rig.provider.list_bookings(BookingQuery("1", start, end))
    assert rig.state.logins == 2
    assert rig.provider.clients[0].counts["GET 401"] == 0


async def test_simulated_session_slides_with_each_call(make_rig: MakeRig) -> None:
    rig = await make_rig()
    session = rig.state.authenticate("admin@example.com", "password")  # e-mail works as name
    assert session is not None
    for _ in range(3):
        rig.clock.advance(20 * 60)
        assert rig.state.session_user(session.token, str(session.user_id)) is not None
    rig.clock.advance(31 * 60)
    assert rig.state.session_user(session.token, str(session.user_id)) is None


async def test_every_auth_failure_is_the_same_html_401(make_rig: MakeRig) -> None:
    rig = await make_rig()
    session = rig.state.authenticate("user", "password")
    assert session is not None
    cases = [
        {},
        {"X-Booked-SessionToken": "bad", "X-Booked-UserId": "2"},
        {"X-Booked-SessionToken": session.token, "X-Booked-UserId": "2"},  # wrong user id
    ]
    async with httpx.AsyncClient(base_url=rig.url) as client:
        for headers in cases:
            r = await client.get(f"{PREFIX}/Resources/", headers=headers)
            assert r.status_code == 401
            assert r.headers["content-type"].startswith("text/html")
            assert r.text.startswith("You must be authenticated in order to access this service.")
        user_headers = {
            "X-Booked-SessionToken": session.token,
            "X-Booked-UserId": str(session.user_id),
        }
        admin_only = await client.post(f"{PREFIX}/Users/", headers=user_headers, json={})
        assert admin_only.status_code == 401  # non-admin on an admin route: no 403


async def test_close_signs_out(make_rig: MakeRig) -> None:
    rig = await make_rig()
    await rig.provider.list_restaurants()
    assert len(rig.state.sessions) == 1
    await rig.provider.close()
    assert rig.state.sessions == {}


async def test_health_details_count_logins(make_rig: MakeRig) -> None:
    rig = await make_rig(now=CAPTURE_TIME + timedelta(days=1))
    await rig.provider.check_health()
    assert rig.provider.health_details() == {"logins": 1, "createsUsers": None}
