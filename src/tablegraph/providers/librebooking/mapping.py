"""LibreBooking JSON → tablegraph model (and the one request body the adapter writes).

Conventions of the adapter, kept here in one place: the party size is the title's trailing
``"for N"`` (list items carry no custom attributes; without it, the owner plus participants);
the idempotency key is a ``[tablegraph:KEY]`` line at the end of the description, stripped
from ``notes``; a guest who is not a LibreBooking user (no e-mail, or an API account that may
not create users) is the title's name plus a ``[guest:email|phone]`` description line, with
the native id ``r-<reference>``; the status is derived as the provider reference says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tablegraph.errors import UpstreamBadResponse
from tablegraph.model import (
    Area,
    Booking,
    BookingPolicy,
    BookingStatus,
    Capability,
    Guest,
    GuestPreview,
    OpeningHours,
    OpeningPeriod,
    Restaurant,
)
from tablegraph.providers.librebooking.availability import Table
from tablegraph.providers.librebooking.parse import (
    keyed_items,
    people_ids,
    to_bool,
    to_datetime,
    to_str_id,
)
from tablegraph.providers.librebooking.payloads import RawListItem, RawReservation, RawUser
from tablegraph.timeutil import zone

PARTY = re.compile(r"\bfor\s+(\d{1,3})\s*$", re.IGNORECASE)
_MARKER = re.compile(r"\s*\[tablegraph:([^\]\s]{1,200})\]\s*$")
#: Contact of a guest who is not a LibreBooking user (the reservation is owned by the
#: integration account): ``[guest:ada@example.com|+4915…]`` before the key marker.
_GUEST = re.compile(r"\s*\[guest:([^\]|]{0,254})\|([^\]|]{0,64})\]")
#: Prefix of the native id of such a guest; the reservation's reference follows.
TITLE_GUEST = "r-"
#: What a reservation list row tells of its owner (``firstName``/``lastName``).
PREVIEW_FIELDS = frozenset({"first_name", "last_name"})

#: (approval pending, checked in, checked out) → status; a deleted reservation reads 404.
_STATUS_TABLE: tuple[tuple[str, BookingStatus, str], ...] = (
    ("requiresApproval", BookingStatus.PENDING, "pending-approval"),
    ("checkOutDate", BookingStatus.COMPLETED, "checked-out"),
    ("checkInDate", BookingStatus.ARRIVED, "checked-in"),
)

#: The server calls that move a booking from one status to another (none: a no-op).
STATUS_STEPS: dict[tuple[BookingStatus, BookingStatus], tuple[str, ...]] = {
    (BookingStatus.PENDING, BookingStatus.CONFIRMED): ("Approval",),
    (BookingStatus.CONFIRMED, BookingStatus.ARRIVED): ("CheckIn",),
    (BookingStatus.CONFIRMED, BookingStatus.SEATED): ("CheckIn",),
    (BookingStatus.CONFIRMED, BookingStatus.COMPLETED): ("CheckIn", "CheckOut"),
    (BookingStatus.ARRIVED, BookingStatus.SEATED): (),
    (BookingStatus.ARRIVED, BookingStatus.COMPLETED): ("CheckOut",),
}


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


def title_for(first_name: str | None, last_name: str | None, party: int) -> str:
    return f"{first_name or ''} {last_name or ''}".strip() + f" for {party}"


def notes_of(description: Any) -> str | None:
    text = _GUEST.sub("", _MARKER.sub("", str(description or ""))).strip()
    return text or None


def marker(description: Any) -> str | None:
    m = _MARKER.search(str(description or ""))
    return m.group(1) if m else None


def with_marker(notes: str, key: str | None, contact: tuple[str, str] | None = None) -> str:
    """The description: notes, the contact line of a title guest, the idempotency marker."""
    text = notes
    if contact is not None and any(contact):
        text += f"\n[guest:{contact[0].replace('|', '')}|{contact[1].replace('|', '')}]"
    return f"{text}\n[tablegraph:{key}]".strip() if key else text.strip()


def with_cancel_reason(notes: str | None, reason: str | None) -> str | None:
    """The notes of a booking cancelled for ``reason``: the server deletes the reservation and
    keeps no reason, so it is kept with the remembered booking (``Cancelled: …``)."""
    reason = (reason or "").strip()
    if not reason:
        return notes
    return f"{notes}\nCancelled: {reason}" if notes else f"Cancelled: {reason}"


def contact_of(description: Any) -> tuple[str, str] | None:
    m = _GUEST.search(str(description or ""))
    return (m.group(1), m.group(2)) if m else None


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


def title_guest(upstream: str, ref: str, title: Any, description: Any) -> Guest:
    """A guest who is not a LibreBooking user: the name from the title, the contact from the
    description's ``[guest:…]`` line."""
    name = PARTY.sub("", str(title or "")).strip()
    first, _, last = name.partition(" ")
    email, phone = contact_of(description) or ("", "")
    return Guest(
        upstream=upstream,
        native_id=TITLE_GUEST + ref,
        first_name=first or None,
        last_name=last or None,
        email=email or None,
        phone=phone or None,
    )


def _guest_of(
    upstream: str, ref: str, owner_id: str | None, raw: Mapping[str, Any], account_id: str | None
) -> tuple[str | None, Guest | None]:
    """(guest id, embedded guest). A LibreBooking user other than the integration account is
    the guest, by id only: the reservation's owner lacks the phone, so the guest loader reads
    the whole user (one list call for a page). Otherwise the guest lives in title and
    description."""
    if (
        owner_id is not None
        and owner_id != account_id
        and contact_of(raw.get("description")) is None
    ):
        return owner_id, None
    return None, title_guest(upstream, ref, raw.get("title"), raw.get("description"))


def _times(upstream: str, raw: RawReservation | RawListItem, tz: str) -> tuple[datetime, datetime]:
    start, end = to_datetime(raw.get("startDate")), to_datetime(raw.get("endDate"))
    if start is None or end is None:
        raise UpstreamBadResponse(f"{upstream} sent a booking without times", upstream=upstream)
    z = zone(tz)
    return start.astimezone(z), end.astimezone(z)


def _area(tables: tuple[str, ...], areas: Mapping[str, str]) -> Area | None:
    name = next((areas[t] for t in tables if areas.get(t)), None)
    return Area(name, name) if name else None


def to_booking(
    upstream: str,
    raw: RawReservation,
    tz: str,
    *,
    account_id: str | None = None,
    areas: Mapping[str, str] | None = None,
) -> Booking:
    """A single reservation (in the session user's zone) in the restaurant's zone."""
    start, end = _times(upstream, raw, tz)
    owner = raw.get("owner") or {}
    ref = str(raw["referenceNumber"])
    guest_id, guest = _guest_of(upstream, ref, to_str_id(owner.get("userId")), raw, account_id)
    # Observed: ``resources`` is an object keyed by id (API.md: an array); accept both.
    tables = tuple(
        rid
        for r in keyed_items(raw.get("resources"))
        if (rid := to_str_id(r.get("id", r.get("resourceId")))) is not None
    ) or tuple(filter(None, [to_str_id(raw.get("resourceId"))]))
    status, provider_status = status_of(raw)
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
        guest_id=guest_id,
        guest=guest,
        tables=tables,
        notes=notes_of(raw.get("description")),
        source="librebooking",
        area=_area(tables, areas or {}),
    )


def to_list_booking(
    upstream: str,
    items: list[RawListItem],
    tz: str,
    *,
    account_id: str | None = None,
    areas: Mapping[str, str] | None = None,
) -> Booking:
    """The rows of one reservation (one per table) from the list: UTC."""
    first = items[0]
    start, end = _times(upstream, first, tz)
    status, provider_status = status_of(first)
    ref = str(first["referenceNumber"])
    guest_id, guest = _guest_of(upstream, ref, to_str_id(first.get("userId")), first, account_id)
    tables = tuple(t for i in items if (t := to_str_id(i.get("resourceId"))))
    # The row names its owner: enough for a query that asks only the guest's name.
    preview = (
        GuestPreview(
            Guest(
                upstream,
                guest_id,
                first_name=first.get("firstName") or None,
                last_name=first.get("lastName") or None,
            ),
            PREVIEW_FIELDS,
        )
        if guest_id is not None and guest is None
        else None
    )
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
        guest_id=guest_id,
        guest=guest,
        guest_preview=preview,
        tables=tables,
        notes=notes_of(first.get("description")),
        source="librebooking",
        area=_area(tables, areas or {}),
    )


def slot_minutes(raw: dict[str, Any]) -> int:
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
    max_advance: timedelta,
) -> Restaurant:
    """A configured schedule: zone from the schedule, name/address from configuration;
    ``max_advance`` is the limit the adapter enforces (``advance_limit``)."""
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
            max_advance_days=max_advance.days,
            slot_interval_minutes=slot_minutes(raw),
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
