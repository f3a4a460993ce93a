"""LibreBooking's JSON as the adapter reads and writes it: the raw shapes (``TypedDict``s,
``total=False`` because a real server omits and nulls freely — read them through ``parse``),
and the two request bodies the adapter sends, shaped as the real server needs them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict

from tablegraph.providers.librebooking.parse import people_ids, to_bool, to_str_id


class RawUserRef(TypedDict, total=False):
    userId: str | int
    firstName: str
    lastName: str
    emailAddress: str


class RawResource(TypedDict, total=False):
    resourceId: str | int
    name: str
    location: str | None
    maxParticipants: str | int | None
    requiresApproval: int | str | bool
    minNoticeAdd: str  # observed "1d0h0m"
    maxNotice: str  # observed "60d0h0m"; "" for no limit
    scheduleId: str | int
    statusId: str | int
    bufferTime: str


class RawSchedule(TypedDict, total=False):
    id: str | int
    name: str
    timezone: str
    periods: list[list[dict[str, Any]]]


class RawReservation(TypedDict, total=False):
    """A single reservation (``GET Reservations/{ref}``): in the session user's zone."""

    referenceNumber: str
    startDate: str
    endDate: str
    title: str
    description: str
    requiresApproval: bool | int | str
    scheduleId: str | int
    resourceId: str | int
    owner: RawUserRef
    participants: Any
    invitees: Any
    customAttributes: list[dict[str, Any]]
    resources: Any  # observed: an object keyed by resource id; API.md: an array
    startReminder: Any
    allowParticipation: bool | int | str | None
    checkInDate: str
    checkOutDate: str
    isRecurring: bool
    recurrenceRule: dict[str, Any]


class RawListItem(TypedDict, total=False):
    """One (reservation, resource) row of ``GET Reservations/``: always UTC."""

    referenceNumber: str
    startDate: str
    endDate: str
    firstName: str
    lastName: str
    title: str
    description: str
    requiresApproval: bool | int | str
    scheduleId: str | int
    userId: str | int
    resourceId: str | int
    bufferTime: str  # observed "1 hours" here (resources say "0d1h0m")
    checkInDate: str
    checkOutDate: str
    participatingGuests: list[str]
    isRecurring: bool


class RawUser(TypedDict, total=False):
    id: str | int
    userName: str
    firstName: str
    lastName: str
    emailAddress: str
    phoneNumber: str
    language: str


class RawErrorBody(TypedDict, total=False):
    """A 400/404 answer: ``{"links":[],"message":"…","errors":["…"]}``."""

    message: str
    errors: list[str]


def fmt_input(moment: datetime) -> str:
    """LibreBooking input with an explicit offset (``2026-11-23T12:00:00-0500``): without one
    a real server takes the value as UTC."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _num(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def reservation_body(
    *,
    table: str,
    start: datetime,
    end: datetime,
    title: str,
    description: str,
    owner_id: str | None,
    raw: RawReservation | None = None,
    extra_tables: Sequence[str] = (),
) -> dict[str, Any]:
    """A full reservation body (an update replaces everything), shaped as capture 041."""
    body: dict[str, Any] = {
        "accessories": [],
        "customAttributes": [],
        "description": description,
        "endDateTime": fmt_input(end),
        "invitees": [],
        "participants": [],
        "participatingGuests": [],
        "invitedGuests": [],
        "recurrenceRule": None,
        "resourceId": _num(table),
        "resources": [_num(t) for t in extra_tables],
        "startDateTime": fmt_input(start),
        "title": title,
        "userId": int(owner_id) if owner_id and owner_id.isdigit() else None,
        "startReminder": None,
        "endReminder": None,
        # Both always sent: a real server answers 500 (an HTML page) without them.
        "allowParticipation": False,
        "retryParameters": [],
        "termsAccepted": True,
    }
    if raw is not None:
        body["participants"] = [int(i) for i in people_ids(raw.get("participants"))]
        body["invitees"] = [int(i) for i in people_ids(raw.get("invitees"))]
        body["allowParticipation"] = to_bool(raw.get("allowParticipation"))
        body["customAttributes"] = [
            {"attributeId": to_str_id(a.get("id")), "attributeValue": a.get("value")}
            for a in raw.get("customAttributes") or []
            if isinstance(a, dict) and a.get("value") is not None
        ]
        reminder = raw.get("startReminder")
        if isinstance(reminder, dict):
            body["startReminder"] = reminder
    return body


def update_body(
    raw: RawReservation,
    *,
    tables: Sequence[str],
    start: datetime,
    end: datetime,
    title: str,
    description: str,
) -> dict[str, Any]:
    """The body that rewrites ``raw`` (an update replaces everything): its owner,
    participants, attributes and reminder kept."""
    owner = raw.get("owner") or {}
    return reservation_body(
        table=tables[0],
        extra_tables=tables[1:],
        start=start,
        end=end,
        title=title,
        description=description,
        owner_id=to_str_id(owner.get("userId")),
        raw=raw,
    )


def user_body(
    *,
    first_name: str,
    last_name: str,
    email: str,
    phone: str | None,
    locale: str | None,
    timezone: str,
) -> dict[str, Any]:
    """``POST Users/``. ``timezone`` is required in practice: without it a real server answers
    500 with an HTML page (PHP 8.2 deprecation turned error) and creates nothing."""
    return {
        "password": secrets.token_urlsafe(18),
        "language": (locale or "en_us").replace("-", "_").lower(),
        "firstName": first_name,
        "lastName": last_name,
        "emailAddress": email,
        "userName": email,
        "phone": phone or "",
        "timezone": timezone,
        "customAttributes": [],
        "groups": [],
    }
