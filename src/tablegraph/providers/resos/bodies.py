"""Request bodies the adapter sends to resOS (known keys only: unknown keys are a 422).

A create carries the gateway's idempotency key in ``metadata.tablegraphIdempotencyKey``
(resOS has no idempotency of its own), so a create whose answer was lost can be found again.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Any

from tablegraph.errors import InvalidInput, NotSupported
from tablegraph.model import BookingUpdate, Capability, GuestData, NewBooking, WaitlistRequest
from tablegraph.providers.resos.mapping import STATUS_OUT, PeriodPolicy, normalize_phone
from tablegraph.providers.resos.options import RestaurantConfig
from tablegraph.providers.resos.payloads import LANGUAGES, RawTimesPeriod

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


def reschedule_body(
    service_day: date,
    local: datetime,
    people: int,
    period: RawTimesPeriod,
    current_period_id: str | None,
    policy: PeriodPolicy | None,
) -> dict[str, Any]:
    """A move; a move into another period takes that period's name and duration."""
    body: dict[str, Any] = {
        "date": service_day.isoformat(),
        "time": local.strftime("%H:%M"),
        "people": people,
    }
    if period.get("_id") and period.get("_id") != current_period_id:
        body["openingHourId"] = period["_id"]
        if period.get("name"):
            body["openingHourName"] = period["name"]
        if policy is not None:
            body["duration"] = policy.duration
    return body


def update_body(update: BookingUpdate, upstream: str) -> dict[str, Any]:
    """The PUT for a status, tables or language change (notes are added separately)."""
    if update.tags is not None:
        raise NotSupported(
            "resOS bookings have no tags",
            upstream=upstream,
            field=("tags",),
            details={"capability": Capability.BOOKING_UPDATE.value},
        )
    body: dict[str, Any] = {}
    if update.status is not None:
        if update.status not in STATUS_OUT:
            raise InvalidInput(
                f"status {update.status.value} cannot be set in resOS",
                upstream=upstream,
                field=("status",),
            )
        body["status"] = STATUS_OUT[update.status]
    if update.tables is not None:
        body["tables"] = list(update.tables)
    if update.locale is not None:
        language = update.locale.split("-")[0].lower()
        if language not in LANGUAGES:
            raise InvalidInput(
                "resOS speaks en, es, de, da or sv only", upstream=upstream, field=("locale",)
            )
        body["languageCode"] = language
    return body


def waitlist_body(
    r: RestaurantConfig, request: WaitlistRequest, hhmm: str, period: RawTimesPeriod, upstream: str
) -> dict[str, Any]:
    """A ``waitlist`` booking at one of the day's ``waitlistTimes``."""
    return booking_body(
        r,
        request.day,
        hhmm,
        request.party_size,
        request.guest,
        period,
        "waitlist",
        request.notes,
        upstream,
    )
