"""Guest, waitlist and webhook-test endpoints."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tablegraph.simulators.vardvik.model import (
    CONSENT_SOURCES,
    EVENT_TYPES,
    ApiError,
    Guest,
    WaitlistEntry,
    invalid,
)
from tablegraph.simulators.vardvik.parsing import (
    day,
    hhmm,
    integer,
    json_object,
    location_for,
    person,
    restaurant_for,
    state_of,
    text,
)

GUEST_CAP = 200


async def list_guests(request: web.Request) -> web.Response:
    _key, rest = restaurant_for(request, "customers:read")
    state = state_of(request)
    limit = integer(request.query.get("limit"), "limit", 1, GUEST_CAP, 50)
    rows = state.guests_of(rest.id, request.query.get("email") or None)
    return web.json_response({"guests": [g.to_json(state.visit_count(g.id)) for g in rows[:limit]]})


async def upsert_guest(request: web.Request) -> web.Response:
    _key, rest = restaurant_for(request, "customers:write")
    state = state_of(request)
    body = await json_object(request)
    fields = person(body, "")
    consent = body.get("marketingConsent")
    if consent is not None and not isinstance(consent, bool):
        raise invalid("marketingConsent", "marketingConsent must be a boolean")
    source = body.get("consentSource")
    if source is not None and source not in CONSENT_SOURCES:
        raise invalid("consentSource", f"consentSource must be one of {sorted(CONSENT_SOURCES)}")
    guest, created = state.upsert_guest(
        rest.id, fields["firstName"], fields["lastName"], fields["email"], fields["phone"]
    )
    _apply_consent(guest, consent, source, state.now())
    return web.json_response(
        {"guest": guest.to_json(state.visit_count(guest.id))}, status=201 if created else 200
    )


def _apply_consent(guest: Guest, consent: bool | None, source: str | None, now: Any) -> None:
    if consent is True and not guest.marketing_consent:
        guest.marketing_consent, guest.consented_at = True, now
    elif consent is False:
        guest.marketing_consent, guest.consented_at, guest.consent_source = False, None, None
    if source is not None and guest.marketing_consent:
        guest.consent_source = source


async def join_waitlist(request: web.Request) -> web.Response:
    key, rest = restaurant_for(request, "waitlist:write")
    state = state_of(request)
    if not rest.features.get("waitlist", False):
        raise ApiError(409, "waitlist_disabled", "the waitlist is disabled for this restaurant")
    body = await json_object(request)
    loc = location_for(key, rest, body.get("locationId"))
    service_date = day(body.get("date"))
    party = integer(body.get("partySize"), "partySize", 1, 30)
    preferred = hhmm(body.get("preferredTime"), "preferredTime")
    fields = person(body.get("guest"))
    notes = text(body, "notes", limit=2000)
    guest, _ = state.upsert_guest(
        rest.id, fields["firstName"], fields["lastName"], fields["email"], fields["phone"]
    )
    entry = WaitlistEntry(
        id=state.new_id("wl_", 8, state.waitlist),
        restaurant_id=rest.id,
        location_id=loc.id,
        date=service_date,
        party_size=party,
        preferred_time=preferred,
        guest_id=guest.id,
        notes=notes,
        created_at=state.now(),
    )
    state.waitlist[entry.id] = entry
    if rest.features.get("webhooks", False):
        state.emit(
            "waitlist.created",
            rest.id,
            {
                "waitlistEntryId": entry.id,
                "status": entry.status,
                "date": entry.date.isoformat(),
                "partySize": party,
                "preferredTime": preferred,
                "guest": {"firstName": guest.first_name, "lastName": guest.last_name},
            },
        )
    return web.json_response({"waitlistEntry": entry.to_json(guest)}, status=201)


async def send_test_event(request: web.Request) -> web.Response:
    _key, rest = restaurant_for(request, "webhooks:test")
    state = state_of(request)
    body = await json_object(request)
    event_type = body.get("eventType")
    if event_type not in EVENT_TYPES:
        raise invalid("eventType", f"eventType must be one of {sorted(EVENT_TYPES)}")
    event = state.dispatcher.event(
        event_type,
        rest.id,
        {
            "test": True,
            "reservationId": "res_test",
            "publicReference": "rr_000000",
            "status": "confirmed",
            "guest": {"firstName": "Test", "lastName": "Event"},
        },
    )
    hooks = [h for h in state.hooks_for(rest.id) if h.wants(event_type)]
    results = await asyncio.gather(*(state.dispatcher.deliver(h, event) for h in hooks))
    return web.json_response(
        {
            "deliveries": [
                {
                    "webhookId": d["webhookId"],
                    "status": d["status"],
                    "responseCode": d["responseCode"],
                }
                for d in results
            ]
        },
        status=202,
    )
