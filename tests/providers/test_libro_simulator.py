"""The Libro simulator on its own: the documented protocol details, over loopback HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tablegraph.simulators.common import Clock
from tablegraph.simulators.libro import LIBRO_STATE, create_app
from tablegraph.simulators.libro.state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_CODES

ACCEPT = "application/vnd.libro-restricted-v2+json"
NOW = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


async def _token(c: httpx.AsyncClient) -> str:
    # DOC _authentication.md: form body grant_type=client_credentials&client_id&client_secret
    r = await c.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 7200
    return str(body["access_token"])


async def test_token_expires_by_clock_and_accept_is_checked(start_server) -> None:
    clock = Clock(NOW)
    url = await start_server(create_app(0, clock=clock))
    async with httpx.AsyncClient(base_url=url) as c:
        token = await _token(c)
        headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
        ok = await c.get("/restricted/restaurants", headers=headers)
        assert ok.status_code == 200
        assert [d["attributes"]["code"] for d in ok.json()["data"]] == list(DEMO_CODES)
        wrong = await c.get(
            "/restricted/restaurants", headers={**headers, "Accept": "application/json"}
        )
        assert wrong.status_code == 406
        assert wrong.json()["code"] == "406"
        clock.advance(7200)
        expired = await c.get("/restricted/restaurants", headers=headers)
        assert expired.status_code == 401


async def test_rate_limit_per_token(start_server) -> None:
    clock = Clock(NOW)
    url = await start_server(create_app(0, clock=clock, rate_limit=3))
    async with httpx.AsyncClient(base_url=url) as c:
        headers = {"Authorization": f"Bearer {await _token(c)}", "Accept": ACCEPT}
        codes = [
            (await c.get("/restricted/restaurants", headers=headers)).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        clock.advance(1)
        assert (await c.get("/restricted/restaurants", headers=headers)).status_code == 200


async def test_booking_consumes_availability_and_errors_have_codes(start_server) -> None:
    clock = Clock(NOW)
    app = create_app(0, clock=clock, rate_limit=None)
    state = app[LIBRO_STATE]
    state.bookings.clear()
    url = await start_server(app)
    day = (NOW + timedelta(days=3)).date().isoformat()
    async with httpx.AsyncClient(base_url=url) as c:
        headers = {"Authorization": f"Bearer {await _token(c)}", "Accept": ACCEPT}
        params = {"restaurant-code": DEMO_CODES[0], "date": day, "size": 8}
        seat = (
            await c.get("/restricted/restaurant/seatings", headers=headers, params=params)
        ).json()
        assert f"{day}T12:00:00" in seat[day]
        # DOC bookings/_create.md "request body with person data" (snake-case names as sent)
        body = {
            "restaurant-code": DEMO_CODES[0],
            "data": {
                "attributes": {
                    "size": 8,
                    "date": day,
                    "time": "12:00",
                    "note": "Birthday party",
                    "locale": "en",
                },
                "relationships": {
                    "person": {
                        "data": {
                            "type": "people",
                            "attributes": {
                                "first_name": "John",
                                "last_name": "Doe",
                                "email": "john@doe.com",
                                "phone": "5141111111",
                                "preferred-communication-channel": "email",
                                "locale": "en",
                            },
                        }
                    }
                },
            },
            "device-infos": {"id": "XXXXXXXXXXX", "ip": "192.168.1.1"},
        }
        made = await c.post("/restricted/restaurant/bookings", headers=headers, json=body)
        assert made.status_code == 201
        assert made.json()["data"]["attributes"]["time"] == f"{day}T12:00:00.000-04:00"
        seat = (
            await c.get("/restricted/restaurant/seatings", headers=headers, params=params)
        ).json()
        # the only 8-seat table is taken from 10:45 up to 13:30
        assert f"{day}T12:00:00" not in seat[day]
        assert f"{day}T13:30:00" in seat[day]
        again = await c.post("/restricted/restaurant/bookings", headers=headers, json=body)
        assert again.status_code == 422
        assert again.json() == {
            "error": "validation.service.slots-unavailable-not-specific",
            "code": "2004",
            "message": "Not enough room at this time",
        }


async def test_seed_is_deterministic() -> None:
    clock = Clock(NOW)
    a, b = (create_app(3, clock=clock)[LIBRO_STATE] for _ in range(2))
    assert [(x.id, x.start, x.size, x.read_token) for x in a.bookings.values()] == [
        (x.id, x.start, x.size, x.read_token) for x in b.bookings.values()
    ]
    assert len(a.bookings) > 20
    assert {r.tz for r in a.restaurants.values()} == {"America/Montreal"}


async def test_refresh_tokens_rotate_and_are_single_use(start_server) -> None:
    app = create_app(0, clock=Clock(NOW))
    url = await start_server(app)
    async with httpx.AsyncClient(base_url=url, follow_redirects=False) as c:
        redirect = "https://app.example.io/oauth/callback"
        page = await c.get(
            "/oauth/authorize",
            params={
                "client_id": DEMO_CLIENT_ID,
                "redirect_uri": redirect,
                "response_type": "code",
                "scope": "bookings people reviews",
                "state": "xyz",
            },
        )
        assert page.status_code == 200 and "owner-bistro" in page.text
        denied = await c.post(
            "/oauth/authorize",
            data={
                "client_id": DEMO_CLIENT_ID,
                "redirect_uri": redirect,
                "login": "owner-bistro",
                "state": "xyz",
                "decision": "deny",
            },
        )
        assert denied.headers["Location"] == f"{redirect}?state=xyz&error=access_denied"
        approved = await c.post(
            "/oauth/authorize",
            data={
                "client_id": DEMO_CLIENT_ID,
                "redirect_uri": redirect,
                "login": "owner-bistro",
                "scope": "bookings",
                "state": "xyz",
                "decision": "approve",
            },
        )
        code = httpx.URL(approved.headers["Location"]).params["code"]
        creds = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
        # DOC _authentication.md step 3
        first = await c.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                **creds,
            },
        )
        assert set(first.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
        reused_code = await c.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                **creds,
            },
        )
        assert reused_code.status_code == 400
        # DOC _authentication.md step 5: a new access and refresh token each time
        old = first.json()["refresh_token"]
        second = await c.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": old, **creds}
        )
        assert second.status_code == 200 and second.json()["refresh_token"] != old
        again = await c.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": old, **creds}
        )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        # the token covers the owner's restaurant and only the granted scope
        headers = {"Authorization": f"Bearer {second.json()['access_token']}", "Accept": ACCEPT}
        mine = await c.get("/restricted/restaurants", headers=headers)
        assert [d["attributes"]["code"] for d in mine.json()["data"]] == [DEMO_CODES[0]]
        reviews = await c.get(
            "/restricted/restaurant/reviews",
            headers=headers,
            params={"restaurant-code": DEMO_CODES[0]},
        )
        assert reviews.status_code == 405
        bad = await c.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": "nope",
            },
        )
        assert bad.status_code == 401


async def test_write_rules_pages_and_cancellation(start_server) -> None:
    clock = Clock(NOW)
    app = create_app(0, clock=clock, rate_limit=None)
    url = await start_server(app)
    state = app[LIBRO_STATE]
    async with httpx.AsyncClient(base_url=url) as c:
        headers = {"Authorization": f"Bearer {await _token(c)}", "Accept": ACCEPT}
        too_many = await c.get(
            "/restricted/restaurant/bookings", headers=headers, params={"limit": 251}
        )
        assert too_many.status_code == 400
        people = await c.get(
            "/restricted/people",
            headers=headers,
            params={"restaurant-code": DEMO_CODES[0], "limit": 5},
        )
        assert people.json()["meta"]["page"] == {"limit": 5, "offset": 0, "total": 12}
        ids = [int(p["id"]) for p in people.json()["data"]]
        assert ids == sorted(ids, reverse=True)  # newest first
        booking = next(b for b in state.bookings.values() if b.restaurant_id == "4521")
        path = f"/restricted/restaurant/bookings/{booking.id}"
        no_code = await c.delete(path, headers=headers)
        assert no_code.status_code == 422 and no_code.json()["code"] == "1005"
        # DOC bookings/_reschedule.md example: parameters in the query string
        day = booking.start.date().isoformat()
        moved = await c.put(
            f"{path}/reschedule",
            headers=headers,
            params={"restaurant-code": DEMO_CODES[0], "date": day, "time": "23:45", "size": 2},
        )
        assert moved.status_code == 422 and moved.json()["code"] == "2008"  # no service
        clock.set(booking.start - timedelta(hours=1))  # past the cancellation deadline
        headers["Authorization"] = f"Bearer {await _token(c)}"
        late = await c.delete(path, headers=headers, params={"restaurant-code": DEMO_CODES[0]})
        assert late.status_code == 409 and late.json()["code"] == "4001"
        assert state.bookings[booking.id].status != "canceled"
