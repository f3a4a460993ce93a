"""Libro webhook deliveries (DOC ``webhooks/*.md``), read with ``kit.webhooks``.

``X-Libro-Signature: t=<unix seconds>,v1=<hex>``; ``v1`` is the lowercase hex HMAC-SHA256 of
``"{t}.{raw body}"`` keyed by the signing secret, and deliveries outside a 300 s tolerance are
refused. Libro sends no event id: ``"<t>.<v1>"`` identifies a delivery (a retry of the same
body at the same second is the same event), so a replay inside the tolerance can be dropped.
The body is one JSON:API resource document; a list, or a ``data`` that is not one resource,
is malformed (``InvalidInput``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tablegraph.providers.kit import webhooks

SIGNATURE_HEADER = "X-Libro-Signature"
#: Our simulator's name for the event (Libro documents none).
EVENT_HEADER = "X-Libro-Event"

_BUCKETS = {"booking": "bookings", "restaurant": "restaurants", "person": "people"}


@dataclass(frozen=True)
class Delivery:
    event_id: str
    kind: str | None
    #: Libro's numeric restaurant ids (the adapter maps them to codes).
    restaurant_refs: tuple[str, ...]
    booking_ids: tuple[str, ...]
    person_ids: tuple[str, ...]


def read_delivery(
    secret: str, headers: Mapping[str, str], body: bytes, now: datetime, *, upstream: str
) -> Delivery:
    """An authentic, fresh, well-formed delivery, or ``InvalidInput``."""
    stamp, v1 = webhooks.verify_timestamped_hmac(
        secret, webhooks.header(headers, SIGNATURE_HEADER), body, now, upstream=upstream
    )
    doc = webhooks.json_object(body, upstream=upstream)
    item = webhooks.object_field(doc, "data", upstream=upstream)
    found: dict[str, list[str]] = {"bookings": [], "restaurants": [], "people": []}
    kind = "person" if item.get("type") == "people" else str(item.get("type"))
    if item.get("id") is not None and kind in _BUCKETS:
        found[_BUCKETS[kind]].append(str(item["id"]))
    relationships = webhooks.object_field(item, "relationships", upstream=upstream)
    for name in ("restaurant", "person"):
        related = webhooks.object_field(relationships, name, upstream=upstream)
        data = webhooks.object_field(related, "data", upstream=upstream)
        if data.get("id") is not None:
            found[_BUCKETS[name]].append(str(data["id"]))
    return Delivery(
        event_id=f"{stamp}.{v1}",
        kind=webhooks.header(headers, EVENT_HEADER),
        restaurant_refs=tuple(dict.fromkeys(found["restaurants"])),
        booking_ids=tuple(dict.fromkeys(found["bookings"])),
        person_ids=tuple(dict.fromkeys(found["people"])),
    )
