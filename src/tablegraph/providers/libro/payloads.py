"""Libro's raw JSON (restricted API v2, JSON:API with kebab-case attributes), as ``TypedDict``s.

Kebab-case names need the functional ``TypedDict`` form. Every shape is ``total=False``: Libro
omits and nulls attributes freely, so mappers read them with ``.get`` and defaults. Nothing
here leaves the ``libro`` package; ``mapping`` turns it into the unified model.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Ref(TypedDict):
    id: str
    type: str


class Relationship(TypedDict, total=False):
    data: Ref | list[Ref] | None


class Resource(TypedDict, total=False):
    """Any JSON:API resource; ``attributes`` is one of the ``*Attributes`` shapes below."""

    id: str
    type: str
    attributes: dict[str, Any]
    relationships: dict[str, Relationship]


class Document(TypedDict, total=False):
    data: Resource | list[Resource]
    included: list[Resource]
    #: ``{"page": {"limit", "offset", "total"}}`` on the people list.
    meta: dict[str, Any]


class ServiceScope(TypedDict):
    name: str
    startTime: str
    endTime: str


RestaurantAttributes = TypedDict(
    "RestaurantAttributes",
    {
        "name": str,
        "active": bool,
        "code": str,
        "latitude": float,
        "longitude": float,
        "tz": str,
        "created-at": str,
        "online-booking-lead-months": int,
        "cancelation-delay": int,  # seconds
        "service-scopes": list[ServiceScope],
    },
    total=False,
)


class ModificationRestricted(TypedDict, total=False):
    restricted: bool
    reason: str | None


BookingAttributes = TypedDict(
    "BookingAttributes",
    {
        "size": int,
        "status": str,  # one of mapping.STATUSES' keys, or something new
        "time": str,  # ISO with offset
        "expected-leave-at": str,
        "note": str | None,
        "private-note": str | None,
        "table-number": str | None,
        "source": str | None,
        "locale": str | None,
        "tags": list[str],
        "created-at": str | None,
        "updated-at": str | None,
        "cancelation-allowed-until": str | None,
        "modification-restricted": ModificationRestricted,
    },
    total=False,
)

PersonAttributes = TypedDict(
    "PersonAttributes",
    {
        "first-name": str | None,
        "last-name": str | None,
        "email": str | None,
        "phone": str | None,
        "locale": str | None,
        "note": str | None,
        "tags": list[str],
        "preferred-communication-channel": str,
    },
    total=False,
)

ReviewAttributes = TypedDict(
    "ReviewAttributes",
    {
        "rating": float,
        "ambiance-rating": float | None,
        "food-rating": float | None,
        "service-rating": float | None,
        "menu-rating": float | None,
        "presentation-rating": float | None,
        "description": str | None,
        "reply": str | None,
        "source": str | None,
        "created-at": str | None,
    },
    total=False,
)

PaymentRequired = TypedDict(
    "PaymentRequired",
    {"payment-type": str, "amount-cents": int, "payment-delay": int, "offer": dict[str, Any]},
    total=False,
)

#: One seatings entry: an experience (``id``, localized ``name``) and what it costs.
SeatingEntry = TypedDict(
    "SeatingEntry",
    {"id": int, "name": dict[str, str] | str, "payment-required": PaymentRequired | bool},
    total=False,
)

#: ``GET /restricted/restaurant/seatings``: ``{date: {local wall time: true | [entry…]}}``.
Seatings = dict[str, dict[str, bool | list[SeatingEntry]]]


class TokenResponse(TypedDict, total=False):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class ErrorPayload(TypedDict, total=False):
    """DOC ``_errors.md``: ``{"error": legacy key, "code": 4-digit string, "message": text}``."""

    error: str
    code: str
    message: str
