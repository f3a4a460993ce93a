"""Request bodies the adapter sends to resOS (create keys only: unknown keys are a 422).

A create carries the gateway's idempotency key in ``metadata.tablegraphIdempotencyKey``
(resOS has no idempotency of its own), so a create whose answer was lost can be found again.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Any

from tablegraph.errors import InvalidInput
from tablegraph.model import GuestData, NewBooking
from tablegraph.providers.resos.config import RestaurantConfig
from tablegraph.providers.resos.payloads import LANGUAGES, RawTimesPeriod, normalize_phone

METADATA_KEY = "tablegraphIdempotencyKey"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")


def stored_key(key: str) -> str:
    """The key as written into metadata: verbatim when plain, else its SHA-256 (so it can
    be searched with ``customQuery`` and fits resOS' 2000-character metadata)."""
    if _SAFE_KEY.match(key):
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def guest_body(data: GuestData, upstream: str) -> dict[str, Any]:
    """resOS sends its own messages only in five languages: notifications stay off."""
    guest: dict[str, Any] = {
        "name": f"{data.first_name} {data.last_name}".strip(),
        "notificationSms": False,
        "notificationEmail": False,
    }
    phone = normalize_phone(data.phone)
    if data.phone and phone is None:
        raise InvalidInput("phone number is not valid", upstream=upstream, field=("guest", "phone"))
    if phone:
        guest["phone"] = phone
    if data.email:
        guest["email"] = data.email.strip()
    return guest


def booking_body(
    r: RestaurantConfig,
    service_day: date,
    hhmm: str,
    people: int,
    data: GuestData,
    period: RawTimesPeriod,
    status: str,
    comment: str | None,
    upstream: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "date": service_day.isoformat(),
        "time": hhmm,
        "people": people,
        "guest": guest_body(data, upstream),
        "status": status,
        "source": r.source,
    }
    if period.get("_id"):
        body["openingHourId"] = period["_id"]
    if comment:
        body["comment"] = comment[:1000]  # the guest's words, visible to both sides
    language = (data.locale or "").split("-")[0].lower()
    if language in LANGUAGES:
        body["languageCode"] = language
    return body


def create_body(
    r: RestaurantConfig,
    request: NewBooking,
    local: datetime,
    service_day: date,
    period: RawTimesPeriod,
    upstream: str,
) -> dict[str, Any]:
    body = booking_body(
        r,
        service_day,
        local.strftime("%H:%M"),
        request.party_size,
        request.guest,
        period,
        "approved" if r.instant_confirmation else "request",
        request.notes,
        upstream,
    )
    body["metadata"] = {METADATA_KEY: stored_key(request.idempotency_key)}
    if request.duration_minutes:
        body["duration"] = request.duration_minutes
    return body
