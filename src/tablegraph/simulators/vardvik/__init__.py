"""Simulator of Vardvik Bookings "REST API v1" (seeds/rest-api-v1.txt, providers/rest-v1.md).

**API.** JSON under ``/api/v1`` (the upstream base URL includes it). Collections nest under
``/restaurants/{restaurantId}``; reservation items are flat under
``/reservations/{idOrPublicReference}``; single objects are wrapped in a named key, lists in a
plural key. Instants are UTC with milliseconds (``2026-06-12T17:00:00.000Z``), dates
``YYYY-MM-DD`` in the location's zone.

| route (``rid`` = restaurantId) | scope |
|---|---|
| GET ``/restaurants/{rid}/config`` | config:read |
| GET ``/restaurants/{rid}/opening-hours?locationId=`` | config:read |
| GET ``/restaurants/{rid}/availability`` (locationId, date, partySize, | availability:read |
| durationMinutes?, intervalMinutes?); POST ``…/availability/search`` (JSON body) | |
| POST ``/restaurants/{rid}/reservations`` (``Idempotency-Key`` header) → 201 | reservations:write |
| GET ``/restaurants/{rid}/reservations?locationId&date&status`` (≤ 200) | reservations:read |
| GET / PATCH / DELETE ``/reservations/{idOrPublicReference}`` | reservations:* |
| POST ``/restaurants/{rid}/waitlist`` → 201 | waitlist:write |
| GET / POST ``/restaurants/{rid}/guests`` (email, limit ≤ 200; POST 201/200) | customers:* |
| POST ``/restaurants/{rid}/webhooks/test`` → 202 | webhooks:test |

**Auth.** ``Authorization: Bearer <key>``; missing/unknown → 401 ``unauthorized``; a missing
scope → 403 ``insufficient_scope`` with ``details.requiredScope``. A key lists its restaurants
(others answer 404, as do their reservations) and may be bound to one location (then
``locationId`` may be omitted, and other locations answer 404).

**Errors.** ``{"error": {"code", "message", "details"?}}``. 400 ``validation_error``
(``details.field`` names the field), 401, 403, 404 ``not_found``, 409 ``slot_unavailable`` /
``invalid_transition`` / ``invalid_state`` / ``idempotency_key_reused`` / ``waitlist_disabled``,
422 ``outside_policy`` (lead time, advance window or party size against the config policy;
``details.rule`` names the config field) and ``feature_disabled`` (reschedule fields while
``features.reservationChanges`` is false), 429 ``rate_limited``, 500 ``internal_error``.
Malformed input is 400; a well-formed booking the policy forbids is 422; a slot that is
closed or has no free table is 409.

**Quirks and choices** (where the documents are silent):

- Rate limit: fixed one-minute window per key (``rate_limit_per_minute``, default 60); 429
  carries ``Retry-After`` in seconds until the window ends.
- Idempotency: scoped per API key, 24 h; the same key and body replays the first 201 exactly
  (plus ``Idempotent-Replayed: true``); a different body → 409 ``idempotency_key_reused``.
  Only successful creates are remembered, so a rejected attempt may be retried with the key.
  Concurrent requests with one key are serialised by a lock per key.
- Availability: one slot per grid start (from ``opens`` every interval, while
  start + duration ≤ closes) of each service period of the service date; special days
  override the week. ``capacity`` is the largest party seatable at that start (single table or
  adjacent pair in one area, capped by ``maxPartySize`` and ``maxCoversPerSlot`` rules; 0 before
  the lead time or beyond the advance window); ``tableIds`` are the tables a booking would get
  (empty when unavailable). Tables stay blocked for a per-location buffer after each booking.
- Create accepts any start inside a service period (not only grid starts).
- PATCH: ``status``, ``tableIds``, and with ``reservationChanges`` ``startTime``,
  ``partySize``, ``durationMinutes``; unknown fields → 400. Moves: pending→confirmed/cancelled,
  confirmed→seated/no_show/cancelled, seated→completed; the same status is a no-op. Reschedule
  keeps the current tables when they still fit, re-checks availability excluding the booking
  itself, and changes nothing on 409.
- DELETE: pending/confirmed → cancelled; cancelled → 200 unchanged; seated, completed and
  no_show → 409 ``invalid_state``.
- Webhooks (``create_app(webhooks=[...])`` or ``POST /_sim/webhooks``): signed deliveries for
  reservation.created/updated/cancelled and waitlist.created; ``await state.drain_webhooks()``.
- Faults: ``/_sim/chaos`` and ``create_app(faults=[...])`` (``simulators.faults``, the uniform
  injector); the older ``/_sim/faults`` (``control.py``) also fails a request after handling it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tablegraph.settings import Secret, UpstreamConfig
from tablegraph.simulators.common import StoredBooking
from tablegraph.simulators.vardvik.app import create_app
from tablegraph.simulators.vardvik.parsing import VARDVIK_STATE
from tablegraph.simulators.vardvik.state import VardvikState

__all__ = [
    "DEMO_OPTIONS",
    "VARDVIK_STATE",
    "VardvikState",
    "create_app",
    "demo_upstreams",
    "stored_bookings",
]

#: ``create_app`` options for the demo/CLI: a comfortable rate limit for GraphiQL users.
DEMO_OPTIONS: dict[str, Any] = {"rate_limit_per_minute": 600}


def demo_upstreams(base_url: str) -> list[UpstreamConfig]:
    """Gateway upstreams for the seeded demo (``base_url`` is the simulator's root URL)."""
    api = base_url.rstrip("/") + "/api/v1"
    return [
        UpstreamConfig(
            name=name,
            kind="vardvik",
            base_url=api,
            credentials={"api_key": Secret("demo-key")},
            options={"restaurant_ids": [rid]},
        )
        for name, rid in (("vardvik-berlin", "rst_1"), ("vardvik-oslo", "rst_2"))
    ]


def stored_bookings(app: web.Application) -> list[StoredBooking]:
    """Every reservation the simulator holds, in neutral terms."""
    state = app[VARDVIK_STATE]
    return [
        StoredBooking(
            id=r.id,
            restaurant_id=r.restaurant_id,
            start=r.start,
            party_size=r.party_size,
            guest_email=state.guests[r.guest_id].email if r.guest_id in state.guests else None,
            status=r.status,
        )
        for r in state.reservations.values()
    ]
