"""Request helpers: the caller's key and access, body and parameter parsing (400s)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from aiohttp import web

from tablegraph.simulators.vardvik.model import (
    ApiError,
    ApiKey,
    Location,
    Reservation,
    Restaurant,
    invalid,
    not_found,
)
from tablegraph.simulators.vardvik.state import VardvikState
from tablegraph.timeutil import parse_instant

VARDVIK_STATE = web.AppKey("vardvik_state", VardvikState)
API_KEY = web.RequestKey("vardvik_api_key", ApiKey)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def state_of(request: web.Request) -> VardvikState:
    return request.app[VARDVIK_STATE]


def require(request: web.Request, scope: str) -> ApiKey:
    key = request[API_KEY]
    if scope not in key.scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            f"this API key lacks the {scope} scope",
            {"requiredScope": scope},
        )
    return key


def restaurant_for(request: web.Request, scope: str) -> tuple[ApiKey, Restaurant]:
    """The key (with ``scope``) and the path's restaurant, 404 when the key cannot reach it."""
    key = require(request, scope)
    rid = request.match_info["restaurantId"]
    if rid not in key.restaurant_ids:
        raise not_found("restaurant")
    return key, state_of(request).restaurant(rid)


def location_for(key: ApiKey, rest: Restaurant, value: Any) -> Location:
    """``locationId`` from the request; a location-bound key may omit it."""
    if value in (None, ""):
        if key.location_id is None:
            raise invalid("locationId", "locationId is required")
        value = key.location_id
    if not isinstance(value, str):
        raise invalid("locationId", "locationId must be a string")
    if (key.location_id is not None and value != key.location_id) or value not in rest.locations:
        raise not_found("location")
    return rest.locations[value]


def reservation_for(request: web.Request, scope: str) -> Reservation:
    key = require(request, scope)
    res = state_of(request).find_reservation(request.match_info["idOrPublicReference"])
    if (
        res is None
        or res.restaurant_id not in key.restaurant_ids
        or (key.location_id is not None and res.location_id != key.location_id)
    ):
        raise not_found("reservation")
    return res


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid("body", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    return body


def integer(value: Any, name: str, lo: int, hi: int, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise invalid(name, f"{name} is required")
        return default
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(name, f"{name} must be an integer")
    if not lo <= value <= hi:
        raise invalid(name, f"{name} must be between {lo} and {hi}")
    return value


def day(value: Any, name: str = "date") -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise invalid(name, f"{name} must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(name, f"{name} is not a valid date") from None


def instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise invalid(name, f"{name} is required (ISO 8601 instant)")
    try:
        return parse_instant(value)
    except ValueError:
        raise invalid(name, f"{name} must be an ISO 8601 instant with an offset") from None


def text(
    body: dict[str, Any], name: str, *, required: bool = False, limit: int = 500
) -> str | None:
    value = body.get(name)
    if value is None or (value == "" and not required):
        if required:
            raise invalid(name, f"{name} is required")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise invalid(name, f"{name} must be a non-empty string of at most {limit} characters")
    return value


def hhmm(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _HHMM.match(value):
        raise invalid(name, f"{name} must be HH:MM")
    return value


def person(value: Any, name: str = "guest") -> dict[str, Any]:
    """A ``guest{firstName, lastName, email, phone?}`` object, fields checked."""
    if not isinstance(value, dict):
        raise invalid(name, f"{name} is required")
    out: dict[str, Any] = {}
    for part, required in (
        ("firstName", True),
        ("lastName", True),
        ("email", True),
        ("phone", False),
    ):
        try:
            out[part] = text(value, part, required=required, limit=200)
        except ApiError as exc:
            raise invalid(f"{name}.{part}" if name else part, exc.message) from None
    if not _EMAIL.match(out["email"]):
        raise invalid(f"{name}.email" if name else "email", "email is not a valid e-mail address")
    return out
