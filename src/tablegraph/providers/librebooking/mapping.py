"""LibreBooking JSON → tablegraph model (and the one request body the adapter writes).

Conventions of the adapter, kept here in one place: the party size is the title's trailing
``"for N"`` (list items carry no custom attributes; without it, the owner plus participants);
the idempotency key is a ``[tablegraph:KEY]`` line at the end of the description, stripped
from ``notes``; the status is derived as the provider reference says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tablegraph.errors import UpstreamBadResponse
from tablegraph.model import (
    Booking,
    BookingPolicy,
    BookingStatus,
    Capability,
    Guest,
    OpeningHours,
    OpeningPeriod,
    Restaurant,
)
from tablegraph.providers.librebooking.availability import Table
from tablegraph.providers.librebooking.parse import (
    RawListItem,
    RawReservation,
    RawUser,
    keyed_items,
    people_ids,
    to_bool,
    to_datetime,
    to_str_id,
)
from tablegraph.timeutil import zone

PARTY = re.compile(r"\bfor\s+(\d{1,3})\s*$", re.IGNORECASE)
_MARKER = re.compile(r"\s*\[tablegraph:([^\]\s]{1,200})\]\s*$")

#: (approval pending, checked in, checked out) → status; a deleted reservation reads 404.
_STATUS_TABLE: tuple[tuple[str, BookingStatus, str], ...] = (
    ("requiresApproval", BookingStatus.PENDING, "pending-approval"),
    ("checkOutDate", BookingStatus.COMPLETED, "checked-out"),
    ("checkInDate", BookingStatus.ARRIVED, "checked-in"),
)


def status_of(raw: RawReservation | RawListItem) -> tuple[BookingStatus, str]:
    fields: dict[str, Any] = dict(raw)
    for key, status, provider_status in _STATUS_TABLE:
        value = fields.get(key)
        if to_bool(value) if key == "requiresApproval" else to_datetime(value) is not None:
            return status, provider_status
    return BookingStatus.CONFIRMED, "confirmed"


def party_size(title: str, fallback: int) -> int:
    m = PARTY.search(title or "")
    return int(m.group(1)) if m and int(m.group(1)) > 0 else fallback


def notes_of(description: Any) -> str | None:
    text = _MARKER.sub("", str(description or "")).strip()
    return text or None


def marker(description: Any) -> str | None:
    m = _MARKER.search(str(description or ""))
    return m.group(1) if m else None


def with_marker(notes: str, key: str | None) -> str:
    return f"{notes}\n[tablegraph:{key}]".strip() if key else notes


def fmt_input(moment: datetime) -> str:
    """LibreBooking input with an explicit offset (``2026-11-23T12:00:00-0500``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def to_guest(upstream: str, raw: RawUser | dict[str, Any]) -> Guest | None:
    uid = to_str_id(raw.get("id"))
    if uid is None:
        return None
    return Guest(
        upstream=upstream,
        native_id=uid,
        first_name=raw.get("firstName") or None,
        last_name=raw.get("lastName") or None,
        email=raw.get("emailAddress") or None,
        phone=raw.get("phoneNumber") or None,
        locale=raw.get("language") or None,
    )


def _times(upstream: str, raw: RawReservation | RawListItem, tz: str) -> tuple[datetime, datetime]:
    start, end = to_datetime(raw.get("startDate")), to_datetime(raw.get("endDate"))
    if start is None or end is None:
        raise UpstreamBadResponse(f"{upstream} sent a booking without times", upstream=upstream)
    z = zone(tz)
    return start.astimezone(z), end.astimezone(z)


def to_booking(upstream: str, raw: RawReservation, tz: str) -> Booking:
    """A single reservation (in the session user's zone) in the restaurant's zone."""
    start, end = _times(upstream, raw, tz)
    owner = raw.get("owner") or {}
    guest = to_guest(
        upstream,
        {
            "id": owner.get("userId", ""),
            "firstName": owner.get("firstName", ""),
            "lastName": owner.get("lastName", ""),
            "emailAddress": owner.get("emailAddress", ""),
        },
    )
    # Observed: ``resources`` is an object keyed by id (API.md: an array); accept both.
    tables = tuple(
        rid
        for r in keyed_items(raw.get("resources"))
        if (rid := to_str_id(r.get("id", r.get("resourceId")))) is not None
    ) or tuple(filter(None, [to_str_id(raw.get("resourceId"))]))
    status, provider_status = status_of(raw)
    ref = str(raw["referenceNumber"])
    return Booking(
        upstream=upstream,
        native_id=ref,
        restaurant_id=to_str_id(raw.get("scheduleId")) or "",
        status=status,
        provider_status=provider_status,
        start=start,
        end=end,
        party_size=party_size(
            str(raw.get("title") or ""), 1 + len(people_ids(raw.get("participants")))
        ),
        reference=ref,
        guest_id=guest.native_id if guest else None,
        guest=guest,
        tables=tables,
        notes=notes_of(raw.get("description")),
        source="librebooking",
    )


def to_list_booking(upstream: str, items: list[RawListItem], tz: str) -> Booking:
    """The rows of one reservation (one per table) from the list: UTC, owner without e-mail,
    so the guest is referenced by id only (priming it would lose the e-mail)."""
    first = items[0]
    start, end = _times(upstream, first, tz)
    status, provider_status = status_of(first)
    ref = str(first["referenceNumber"])
    return Booking(
        upstream=upstream,
        native_id=ref,
        restaurant_id=to_str_id(first.get("scheduleId")) or "",
        status=status,
        provider_status=provider_status,
        start=start,
        end=end,
        party_size=party_size(
            str(first.get("title") or ""), 1 + len(people_ids(dict(first).get("participants")))
        ),
        reference=ref,
        guest_id=to_str_id(first.get("userId")),
        tables=tuple(t for i in items if (t := to_str_id(i.get("resourceId")))),
        notes=notes_of(first.get("description")),
        source="librebooking",
    )


def _slot_minutes(raw: dict[str, Any]) -> int:
    for day in raw.get("periods") or []:
        for p in day or []:
            s, e = to_datetime(p.get("start")), to_datetime(p.get("end"))
            if s and e and to_bool(p.get("isReservable")):
                return int((e - s).total_seconds() // 60)
    return 30


def to_restaurant(
    upstream: str,
    sid: str,
    raw: dict[str, Any],
    tables: list[Table],
    *,
    profile: dict[str, Any],
    duration: timedelta,
    capabilities: frozenset[Capability],
) -> Restaurant:
    """A configured schedule: zone from the schedule, name/address from configuration."""
    return Restaurant(
        upstream=upstream,
        native_id=sid,
        name=str(profile.get("name") or raw.get("name") or f"Schedule {sid}"),
        timezone=str(raw["timezone"]),
        reference=sid,
        city=profile.get("city"),
        address=profile.get("address"),
        phone=profile.get("phone"),
        policy=BookingPolicy(
            min_party_size=1,
            max_party_size=max((t.seats for t in tables), default=1),
            min_lead_minutes=min(
                (int(t.min_notice.total_seconds() // 60) for t in tables), default=0
            ),
            slot_interval_minutes=_slot_minutes(raw),
            default_duration_minutes=int(duration.total_seconds() // 60),
        ),
        capabilities=capabilities,
    )


def to_opening_hours(raw: dict[str, Any]) -> OpeningHours:
    """``periods``: seven arrays of periods in the user's zone; reservable runs, read in the
    schedule's zone, are the opening hours (the weekday is taken from each date)."""
    tz = zone(str(raw["timezone"]))
    periods: list[OpeningPeriod] = []
    for day in raw.get("periods") or []:
        runs: list[list[datetime]] = []
        for p in day or []:
            s, e = to_datetime(p.get("start")), to_datetime(p.get("end"))
            if s is None or e is None or not to_bool(p.get("isReservable")):
                continue
            if runs and runs[-1][1] == s:
                runs[-1][1] = e
            else:
                runs.append([s, e])
        for s, e in runs:
            ls, le = s.astimezone(tz), e.astimezone(tz)
            periods.append(OpeningPeriod(ls.isoweekday(), ls.time(), le.time()))
    return OpeningHours(weekly=tuple(sorted(periods, key=lambda p: (p.day_of_week, p.opens))))


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
        "resourceId": int(table) if table.isdigit() else table,
        "resources": [int(t) if t.isdigit() else t for t in extra_tables],
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
