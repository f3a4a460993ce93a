"""Every real LibreBooking exchange in shared/providers/librebooking-captures/ replayed
against the simulator: same status, same content type, same body shape (ids, tokens and
timestamps aside). Source of every payload: the capture file named in the test id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from tablegraph.simulators.common import Clock
from tablegraph.simulators.librebooking import LIBREBOOKING_STATE, LibreBookingState, create_app
from tablegraph.timeutil import zone
from tests.providers.librebooking_support import (
    CAPTURE_TIME,
    CAPTURES,
    load_capture,
    shape_mismatch,
)

NY = zone("America/New_York")
CAPTURE_FILES = sorted(p.name for p in CAPTURES.glob("*.json"))


def _ny(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=NY)


def _lunch(state: LibreBookingState) -> dict[str, str]:
    r = state.add_reservation(3, _ny(12), _ny(13), title="Lunch for 2", description="window seat")
    return {"6b01efb11e544761693977": r.ref}


def _pending(state: LibreBookingState) -> dict[str, str]:
    r = state.add_reservation(9, _ny(12), _ny(13), owner_id=1, title="Big table", pending=True)
    return {"6b01efb170f81855981548": r.ref}


def _to_delete(state: LibreBookingState) -> dict[str, str]:
    r = state.add_reservation(4, _ny(12), _ny(13), title="Zulu format")
    return {"6b01efb13d11a119157231": r.ref}


def _day(state: LibreBookingState) -> dict[str, str]:
    _lunch(state)
    state.add_reservation(5, _ny(9), _ny(10), title="Weekly breakfast")
    state.add_reservation(4, _ny(16), _ny(17), title="With extras", description="birthday")
    return {}


#: What each capture needs to exist on the simulated server before its request is replayed.
SETUP: dict[str, Callable[[LibreBookingState], dict[str, str]]] = {
    "042_reservation_create_overlap.json": _lunch,
    "060_reservation_approve.json": _pending,
    "065_reservations_list_range.json": _day,
    "071_reservation_get.json": _lunch,
    "121_reservation_delete_ok.json": _to_delete,
}


def _media_type(headers: dict[str, str]) -> str:
    value = next(v for k, v in headers.items() if k.lower() == "content-type")
    return value.split(";")[0].strip().lower()


@pytest.mark.parametrize("capture_file", CAPTURE_FILES)
async def test_capture_replayed_against_simulator(start_server: Any, capture_file: str) -> None:
    capture = load_capture(capture_file)
    app = create_app(0, clock=Clock(CAPTURE_TIME), demo_bookings=False)
    state = app[LIBREBOOKING_STATE]
    substitutions = SETUP.get(capture_file, lambda s: {})(state)
    url = await start_server(app)
    session = state.authenticate("admin", "password")
    assert session is not None
    request = capture["request"]
    path = request["path"]
    for old, new in substitutions.items():
        path = path.replace(old, new)
    headers = dict(request["headers"])
    if "X-Booked-SessionToken" in headers:
        headers["X-Booked-SessionToken"] = session.token
        headers["X-Booked-UserId"] = str(session.user_id)
    body = request["body"]
    if isinstance(body, dict) and "sessionToken" in body:
        body = {**body, "sessionToken": session.token, "userId": str(session.user_id)}
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.request(
            request["method"],
            path,
            params=request["query"],
            headers=headers,
            json=body if body is not None else None,
        )
    expected = capture["response"]
    assert response.status_code == expected["status"]
    assert _media_type(dict(response.headers)) == _media_type(expected["headers"])
    if expected["body_is_json"]:
        why = shape_mismatch(expected["body"], response.json())
        assert why is None, why
    elif expected["body"] == "":
        assert response.content == b""
    else:
        text = response.text
        assert text, "expected a non-empty body"
        first_words = expected["body"].split("<br/>")[0].split(":")[0]
        assert text.startswith(first_words[:20])
    if capture_file == "132_signout.json":
        assert session.token not in state.sessions


async def test_all_seventeen_captures_are_replayed() -> None:
    assert len(CAPTURE_FILES) == 17


def test_shape_check_catches_api_md_shapes() -> None:
    """The comparison is strict enough to tell the real server from API.md's examples."""
    real = load_capture("071_reservation_get.json")["response"]["body"]
    as_documented = {**real, "resources": [{"id": 3, "name": "Table 1"}]}
    assert shape_mismatch(real, as_documented) is not None
    assert shape_mismatch(real, {**real, "startDate": "2026-11-23T12:00:00-05:00"}) is not None
    assert shape_mismatch(real, {**real, "scheduleId": 1}) is not None
    assert shape_mismatch(real, real) is None
