"""Issue 14, items 1–6 and 8: each difference between the real LibreBooking server and the
adapter, proved against the real server (the simulator's side is in
``tests/providers/test_librebooking_*``). Item 7 (restarts) is ``test_restart_real.py``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tablegraph import ids
from tablegraph.errors import NotSupported, PolicyViolation
from tablegraph.model import BookingStatus, BookingUpdate, GuestData, NewBooking
from tablegraph.providers.kit import Runtime
from tablegraph.providers.librebooking import LibreBookingProvider
from tablegraph.timeutil import zone

from ..graphql.conftest import Api
from ..graphql.helpers import CREATE, RESCHEDULE
from .conftest import ZONE, real_gateway, upstream_config
from .server import Server

UPSTREAM = "librebooking-real"
RESTAURANT = ids.encode("Restaurant", UPSTREAM, "1")
READ = """query($id: ID!) { booking(id: $id) {
  status start area { name } guest { id firstName lastName email phone } } }"""
UPDATE = """mutation($input: UpdateBookingInput!) { updateBooking(input: $input) {
  booking { status } userErrors { code message } } }"""
UPSERT = """mutation($input: UpsertGuestInput!) { upsertGuest(input: $input) {
  guest { email phone } userErrors { code message } } }"""
POLICY = """query($id: ID!) { restaurant(id: $id) { policy { maxAdvanceDays minLeadMinutes } } }"""


def _at(day: date, hhmm: str) -> str:
    local = datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=zone(ZONE))
    return local.isoformat()


def _email() -> str:
    return f"i14+{uuid.uuid4().hex[:10]}@example.com"


async def _create(api: Api, start: str, guest: dict[str, str], **extra: Any) -> dict[str, Any]:
    payload = {"restaurantId": RESTAURANT, "start": start, "partySize": 2, "guest": guest}
    data = await api.data(CREATE, {"input": {**payload, **extra}})
    result: dict[str, Any] = data["createBooking"]
    return result


# ---- item 1: unknown guest e-mails ------------------------------------------------------------


async def test_item1_new_guests_book_and_upsert_without_relogging(
    real_server: Server, account: str, day: date
) -> None:
    provider = LibreBookingProvider(upstream_config(real_server, account))
    try:
        for hour in (12, 15, 18):
            guest = GuestData(first_name="New", last_name=f"G{hour}", email=_email())
            start = datetime.fromisoformat(f"{day}T{hour}:00:00").replace(tzinfo=zone(ZONE))
            booking = await provider.create_booking(
                NewBooking("1", start, 2, guest, f"i14-{uuid.uuid4()}")
            )
            assert booking.status is BookingStatus.CONFIRMED
        # One login for the whole run: a plain user's 401 on POST Users/ is no expired session.
        assert provider.health_details()["logins"] == 1
        assert provider.health_details()["createsUsers"] is (account == "admin")
    finally:
        await provider.close()


async def test_item1_upsert_guest(api: Api, account: str) -> None:
    email = _email()
    guest = {"firstName": "Up", "lastName": "Sert", "email": email, "phone": "+1 212 555 0100"}
    out = (await api.data(UPSERT, {"input": {"restaurantId": RESTAURANT, "guest": guest}}))[
        "upsertGuest"
    ]
    if account == "admin":
        assert out["userErrors"] == []
        assert out["guest"] == {"email": email, "phone": "+1 212 555 0100"}
    else:  # a plain user may not create LibreBooking users: said, not "outcome unknown"
        assert [e["code"] for e in out["userErrors"]] == ["NOT_SUPPORTED"]


# ---- item 2: a 4xx is a definite refusal with the server's reason -------------------------------


@pytest.mark.parametrize(
    ("shift", "ahead", "sentence"),
    [
        (timedelta(days=-1), timedelta(), "This reservation requires advance notice."),
        (
            timedelta(days=12),
            timedelta(days=25),
            "This reservation cannot be made this far in the future.",
        ),
    ],
)
async def test_item2_server_refusals_reach_the_client_with_its_reason(
    rules: Server, shift: timedelta, ahead: timedelta, sentence: str
) -> None:
    """The adapter's clock is moved by ``shift`` so that it lets through a booking ``ahead``
    of the real now that the server refuses (it holds a plain user to the past, the rules
    table's one-day notice and 20-day limit): the server's 400 must come back as a
    userError with its own sentence, never OUTCOME_UNKNOWN."""
    real_now = datetime.now(UTC)
    schedule = str(rules.rules_schedule)
    runner, api = await real_gateway(rules, "user", lambda: datetime.now(UTC) + shift, schedule)
    try:
        start = _slot_at_or_after(real_now + ahead + timedelta(minutes=5))
        guest = {"firstName": "Re", "lastName": "Fused", "email": _email()}
        payload = {
            "restaurantId": ids.encode("Restaurant", UPSTREAM, schedule),
            "start": start.isoformat(),
            "partySize": 2,
            "guest": guest,
        }
        errors = (await api.data(CREATE, {"input": payload}))["createBooking"]["userErrors"]
        assert [e["code"] for e in errors] == ["OUTSIDE_POLICY"], errors
        assert errors[0]["message"].startswith(sentence)
    finally:
        await api.http.aclose()
        await runner.cleanup()


def _slot_at_or_after(moment: datetime) -> datetime:
    """The first 30-minute boundary at or after ``moment`` inside 11:00–20:30 local."""
    local = moment.astimezone(zone(ZONE)).replace(second=0, microsecond=0)
    local = local + timedelta(minutes=(30 - local.minute % 30) % 30)
    if local.hour < 11:
        local = local.replace(hour=11, minute=0)
    if (local.hour, local.minute) > (20, 30):
        local = (local + timedelta(days=1)).replace(hour=11, minute=0)
    return local


async def test_item2_the_past_as_the_server_says_it(rules: Server) -> None:
    """(The gateway refuses past starts itself; an adapter whose clock is behind the server's
    meets the server's own refusal, with its sentence.)"""
    schedule = str(rules.rules_schedule)
    runtime = Runtime(now=lambda: datetime.now(UTC) - timedelta(days=4))
    provider = LibreBookingProvider(upstream_config(rules, "user", schedule), runtime)
    try:
        start = _slot_at_or_after(datetime.now(UTC) - timedelta(days=2))
        guest = GuestData(first_name="Past", last_name="Due", email=_email())
        with pytest.raises(PolicyViolation) as refused:
            await provider.create_booking(NewBooking(schedule, start, 2, guest, "past"))
        assert refused.value.message == "The start date and time cannot be in the past."
        assert refused.value.details["providerStatus"] == 400
    finally:
        await provider.close()


# ---- items 3 and 4: the adapter enforces the restaurant's rules itself ---------------------------


async def test_item3_notice_binds_an_administrator_account_too(rules: Server) -> None:
    provider = LibreBookingProvider(upstream_config(rules, "admin", str(rules.rules_schedule)))
    try:
        start = _slot_at_or_after(datetime.now(UTC) + timedelta(minutes=5))
        guest = GuestData(first_name="In", last_name="Notice", email=_email())
        with pytest.raises(PolicyViolation, match="too soon"):
            await provider.create_booking(
                NewBooking(str(rules.rules_schedule), start, 2, guest, "k")
            )
        [restaurant] = await provider.list_restaurants()
        assert restaurant.policy.min_lead_minutes == 24 * 60
        assert restaurant.policy.max_advance_days == 20
    finally:
        await provider.close()


async def test_item4_reschedule_outside_hours_is_outside_policy(api: Api, day: date) -> None:
    booking = (await _create(api, _at(day, "18:00"), {"firstName": "R", "lastName": "S"}))[
        "booking"
    ]
    for hhmm in ("19:15", "22:00", "10:00"):
        out = await api.data(
            RESCHEDULE, {"input": {"bookingId": booking["id"], "start": _at(day, hhmm)}}
        )
        errors = [(e["code"], e["field"]) for e in out["rescheduleBooking"]["userErrors"]]
        assert errors == [("OUTSIDE_POLICY", ["input", "start"])], (hhmm, out)


# ---- item 5: a guest without e-mail is not the API account -----------------------------------


async def test_item5_guest_without_email_reads_back_by_name(api: Api, day: date) -> None:
    created = await _create(api, _at(day, "13:00"), {"firstName": "Noemail", "lastName": "Guest"})
    assert created["userErrors"] == []
    read = (await api.data(READ, {"id": created["booking"]["id"]}))["booking"]
    assert (read["guest"]["firstName"], read["guest"]["lastName"]) == ("Noemail", "Guest")
    assert read["guest"]["email"] is None
    again = await api.data(
        "query($id: ID!) { guest(id: $id) { firstName lastName } }", {"id": read["guest"]["id"]}
    )
    assert again["guest"] == {"firstName": "Noemail", "lastName": "Guest"}


# ---- item 6: check-in ------------------------------------------------------------------------


async def test_item6_arrived_is_not_supported_and_changes_nothing(api: Api, day: date) -> None:
    created = await _create(api, _at(day, "12:00"), {"firstName": "Check", "lastName": "In"})
    bid = created["booking"]["id"]
    out = await api.data(UPDATE, {"input": {"bookingId": bid, "status": "ARRIVED"}})
    assert [e["code"] for e in out["updateBooking"]["userErrors"]] == ["NOT_SUPPORTED"]
    assert (await api.data(READ, {"id": bid}))["booking"]["status"] == "CONFIRMED"


async def test_item6_adapter_level(real_server: Server, account: str, day: date) -> None:
    provider = LibreBookingProvider(upstream_config(real_server, account))
    try:
        start = datetime.fromisoformat(f"{day}T16:00:00").replace(tzinfo=zone(ZONE))
        guest = GuestData(first_name="A", last_name="B")
        booking = await provider.create_booking(NewBooking("1", start, 2, guest, "k6"))
        with pytest.raises(NotSupported):
            await provider.update_booking(
                booking.native_id, BookingUpdate(status=BookingStatus.ARRIVED)
            )
    finally:
        await provider.close()


# ---- item 8: the smaller ones ------------------------------------------------------------------


async def test_item8_guest_phone_area_and_limits(api: Api, day: date, account: str) -> None:
    guest = {"firstName": "Pho", "lastName": "Ne", "email": _email(), "phone": "+1 917 555 0199"}
    created = await _create(api, _at(day, "14:00"), guest)
    read = (await api.data(READ, {"id": created["booking"]["id"]}))["booking"]
    assert read["guest"]["phone"] == "+1 917 555 0199"
    assert read["guest"]["email"] == guest["email"]
    assert read["area"] == {"name": "Main room"}
    policy = (await api.data(POLICY, {"id": RESTAURANT}))["restaurant"]["policy"]
    assert policy["maxAdvanceDays"] == 365  # no table has a maxNotice: the configured limit
    beyond = (datetime.now(UTC) + timedelta(days=370)).astimezone(zone(ZONE)).date()
    out = await api.data(
        "query($ids: [ID!]!, $d: Date!) { availability(restaurantIds: $ids, date: $d, "
        "partySize: 2) { slots { start } } }",
        {"ids": [RESTAURANT], "d": beyond.isoformat()},
    )
    assert out["availability"][0]["slots"] == []


async def test_item8_a_duration_off_the_grid_is_refused(api: Api, day: date) -> None:
    body = await api.query(
        CREATE,
        {
            "input": {
                "restaurantId": RESTAURANT,
                "start": _at(day, "12:00"),
                "partySize": 2,
                "guest": {"firstName": "D", "lastName": "M"},
                "durationMinutes": 45,
            }
        },
    )
    payload = (body.get("data") or {}).get("createBooking")
    codes = [e["extensions"]["code"] for e in body.get("errors") or []]
    codes += [e["code"] for e in (payload or {}).get("userErrors") or []]
    assert codes == ["INVALID_INPUT"], body


async def test_item8_logins_count_the_request_that_logged_in(api: Api) -> None:
    """``upstreams { details { logins } }`` beside the fields whose call logs in: counted in
    that very response, not the next one."""
    both = """{ restaurants(first: 5) { edges { node { name } } }
      upstreams { name requestsSent details } }"""
    [upstream] = (await api.data(both))["upstreams"]
    provider = api.gateway.provider(UPSTREAM)
    assert upstream["details"]["logins"] == 1
    assert upstream["requestsSent"] == provider.requests_sent > 0
