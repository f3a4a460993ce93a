"""Without guests:read no response and no log line holds a guest's e-mail or phone; no log
line ever holds an API key, a JWT or a manage token."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tablegraph.auth.config import AuthSettings
from tablegraph.auth.redact import redact
from tablegraph.auth.scopes import ALL_SCOPES, Scope
from tests.graphql.helpers import AVAILABILITY, BERLIN_MITTE, quiet_weekday

from .conftest import Gw, StartGw, client, key_of

GUEST_FIELDS = "id firstName lastName email phone notes marketingConsent visitCount tags"
BOOKINGS = (
    "query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d)"
    " { nodes { id guest { " + GUEST_FIELDS + " } } } }"
)
CREATE = (
    "mutation($input: CreateBookingInput!) { createBooking(input: $input) {"
    " booking { id guest { " + GUEST_FIELDS + " } } userErrors { code message } manageToken } }"
)


async def _exercise(gw: Gw, who: str) -> list[str]:
    """Requests that pass guests' data through the gateway; the response bodies."""
    bodies: list[str] = []
    today = datetime.now(UTC).date()
    for offset in range(-2, 8):
        response = await gw.post(
            who, BOOKINGS, {"r": BERLIN_MITTE, "d": (today + timedelta(days=offset)).isoformat()}
        )
        bodies.append(response.text)
    day = quiet_weekday().isoformat()
    slots = await gw.body(who, AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    start = slots["data"]["availability"][0]["slots"][0]["start"]
    seeded = next(g for g in gw.state.guests.values() if g.email and g.phone)
    created = await gw.post(
        who,
        CREATE,
        {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "start": start,
                "partySize": 2,
                "guest": {
                    "firstName": "Same",
                    "lastName": "Person",
                    "email": seeded.email,
                    "phone": seeded.phone,
                },
            }
        },
    )
    bodies.append(created.text)
    token = created.json()["data"]["createBooking"]["manageToken"]
    by_token = await gw.post(
        who,
        "query($t: String!) { booking(manageToken: $t) { guest { " + GUEST_FIELDS + " } } }",
        {"t": token},
    )
    bodies.append(by_token.text)
    return bodies


def _secrets_of(gw: Gw) -> list[str]:
    found: list[str] = []
    for g in gw.state.guests.values():
        found += [v for v in (g.email, g.phone) if v]
    return found


async def test_without_guests_read_no_body_and_no_log_holds_contact_data(
    start_gw: StartGw, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    no_guests = ALL_SCOPES - {Scope.GUESTS_READ}
    gw = await start_gw(AuthSettings(clients=(client("all"), client("no-guests", no_guests))))
    values = _secrets_of(gw)
    assert len(values) > 10

    bodies = await _exercise(gw, "no-guests")
    logs = "\n".join(caplog.handler.format(r) for r in caplog.records) + "\n".join(
        r.getMessage() for r in caplog.records
    )
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx was heard
    for value in values:
        for body in bodies:
            assert value not in body, value
        assert value not in logs, value
        assert value.replace("@", "%40") not in logs, value

    # The control: the same requests with guests:read do show them.
    shown = "\n".join(await _exercise(gw, "all"))
    assert sum(1 for v in values if v in shown) > 3


def test_log_lines_are_redacted_on_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    from tablegraph.auth import redact as redaction

    redaction.install()
    caplog.set_level(logging.DEBUG)
    token = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
    manage = "tgm1.eyJiIjoiQm9va2luZyJ9.c2lnbmF0dXJlLWJ5dGVz"
    api_key = key_of("ops")
    secrets = [
        "mara.schneider@example.com",
        "mara.schneider%40example.com",
        "+49 30 1234567",
        "+1 (514) 555-0100",
        token,
        manage,
        api_key,
    ]
    for name in ("tablegraph.anything", "aiohttp.access", "httpx", "some.library"):
        logger = logging.getLogger(name)
        logger.info("guest %s called with %s", secrets[0], secrets[2])
        logger.warning("Authorization: Bearer %s; X-Api-Key: %s", api_key, api_key)
        logger.error("token %s manage %s url ?email=%s", token, manage, secrets[1])
        logger.info("phone %s", secrets[3])
        try:
            raise ValueError(f"bad guest {secrets[0]} {secrets[2]}")
        except ValueError:
            logger.exception("failed")
    text = "\n".join(caplog.handler.format(r) for r in caplog.records)
    assert "failed" in text and "ValueError" in text
    for secret in secrets:
        assert secret not in text, secret
    # Dates, times, ids and counts stay readable.
    assert redact("2026-12-02T19:00:00+01:00 res_123 took 1234567 ms") == (
        "2026-12-02T19:00:00+01:00 res_123 took 1234567 ms"
    )
