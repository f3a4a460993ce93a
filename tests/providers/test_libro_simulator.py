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
    r = await c.post("/oauth/token", data={"grant_type": "client_credentials",
                                           "client_id": DEMO_CLIENT_ID,
                                           "client_secret": DEMO_CLIENT_SECRET})
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
        wrong = await c.get("/restricted/restaurants",
                            headers={**headers, "Accept": "application/json"})
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
        codes = [(await c.get("/restricted/restaurants", headers=headers)).status_code
                 for _ in range(4)]
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
        seat = (await c.get("/restricted/restaurant/seatings", headers=headers,
                            params=params)).json()
        assert f"{day}T12:00:00" in seat[day]
        # DOC bookings/_create.md "request body with person data" (snake-case names as sent)
        body = {"restaurant-code": DEMO_CODES[0], "data": {
            "attributes": {"size": 8, "date": day, "time": "12:00", "note": "Birthday party",
                           "locale": "en"},
            "relationships": {"person": {"data": {"type": "people", "attributes": {
                "first_name": "John", "last_name": "Doe", "email": "john@doe.com",
                "phone": "5141111111", "preferred-communication-channel": "email",
                "locale": "en"}}}}},
            "device-infos": {"id": "XXXXXXXXXXX", "ip": "192.168.1.1"}}
        made = await c.post("/restricted/restaurant/bookings", headers=headers, json=body)
        assert made.status_code == 201
        assert made.json()["data"]["attributes"]["time"] == f"{day}T12:00:00.000-04:00"
        seat = (await c.get("/restricted/restaurant/seatings", headers=headers,
                            params=params)).json()
        # the only 8-seat table is taken from 10:45 up to 13:30
        assert f"{day}T12:00:00" not in seat[day]
        assert f"{day}T13:30:00" in seat[day]
        again = await c.post("/restricted/restaurant/bookings", headers=headers, json=body)
        assert again.status_code == 422
        assert again.json() == {"error": "validation.service.slots-unavailable-not-specific",
                                "code": "2004", "message": "Not enough room at this time"}
