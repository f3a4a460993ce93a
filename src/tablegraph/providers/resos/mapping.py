"""resOS JSON → the unified model: public ``to_<thing>()`` mappers, pure functions.

Ids: a booking is ``<restaurant id>/<resOS _id>``; a guest ``<restaurant id>/<identity>``,
where the identity is the normalized E.164 phone (``phone:+45…``), else the lower-cased
e-mail (``email:…``) — resOS has no guest endpoint, so guests are derived from bookings and
the same person is recognised across them by that identity.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tablegraph.model import (
    Area,
    Booking,
    BookingPolicy,
    BookingStatus,
    Capability,
    Guest,
    OpeningHours,
    OpeningPeriod,
    Restaurant,
    Slot,
    SlotPayment,
    SpecialDay,
    Table,
    WaitlistEntry,
)
from tablegraph.providers.kit import ids
from tablegraph.providers.resos.options import RestaurantConfig
from tablegraph.providers.resos.payloads import (
    RawBooking,
    RawGuest,
    RawOpeningHour,
    RawTable,
    RawTimesPeriod,
)
from tablegraph.timeutil import localize, parse_instant, to_zone

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 15
DEFAULT_DURATION = 120

#: resOS status → unified status (the raw value is kept as ``provider_status``).
STATUS_MAP: dict[str, BookingStatus] = {
    "request": BookingStatus.PENDING,
    "approved": BookingStatus.CONFIRMED,
    "arrived": BookingStatus.ARRIVED,
    "seated": BookingStatus.SEATED,
    "left": BookingStatus.COMPLETED,
    "no_show": BookingStatus.NO_SHOW,
    "canceled": BookingStatus.CANCELLED,
    "declined": BookingStatus.DECLINED,
    "waitlist": BookingStatus.WAITLISTED,
}
#: Unified status → the resOS value a status change sends.
STATUS_OUT: dict[BookingStatus, str] = {v: k for k, v in STATUS_MAP.items()}
NOT_CANCELLABLE = frozenset({"left", "no_show", "declined"})


# ---- identities -----------------------------------------------------------------------------

_PHONE_JUNK = re.compile(r"[\s().\-/]")


def normalize_phone(phone: str | None) -> str | None:
    """E.164 (``+4512345678``) from what guests type; resOS stores E.164 already."""
    if not phone:
        return None
    s = _PHONE_JUNK.sub("", phone.strip())
    if s.startswith("00"):
        s = "+" + s[2:]
    digits = s.removeprefix("+")
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        return None
    return "+" + digits  # without "+", resOS expects the country code first


def guest_identity(phone: str | None, email: str | None) -> str | None:
    """``phone:+45…`` or ``email:…`` — the same person across bookings."""
    e164 = normalize_phone(phone)
    if e164:
        return f"phone:{e164}"
    if email and "@" in email:
        return f"email:{email.strip().lower()}"
    return None


# ---- mappers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodPolicy:
    """Seating rules of one opening-hour period."""

    interval: int
    duration: int
    opens: time


def _hhmm(value: int) -> time:
    value = int(value) % 2400
    return time((value // 100) % 24, value % 100)


def _seating(raw: RawOpeningHour) -> tuple[int, int]:
    seating = raw.get("seating") or {}
    return (
        int(seating.get("interval") or DEFAULT_INTERVAL),
        int(seating.get("duration") or DEFAULT_DURATION),
    )


def _live(rows: Iterable[RawOpeningHour]) -> list[RawOpeningHour]:
    return [r for r in rows if not r.get("deleted") and not r.get("deletedAt")]


def to_opening_hours(rows: list[RawOpeningHour]) -> OpeningHours:
    weekly: list[OpeningPeriod] = []
    special: list[SpecialDay] = []
    for raw in _live(rows):
        if raw.get("special"):
            if not raw.get("date"):
                continue
            day = date.fromisoformat(str(raw["date"])[:10])
            is_open = raw.get("isOpen", True)
            special.append(
                SpecialDay(
                    day=day,
                    closed=not is_open,
                    opens=_hhmm(raw["open"]) if is_open and "open" in raw else None,
                    closes=_hhmm(raw["close"]) if is_open and "close" in raw else None,
                    note=raw.get("name") or None,
                )
            )
        else:
            weekly.append(
                OpeningPeriod(
                    day_of_week=int(raw["day"]),
                    opens=_hhmm(raw["open"]),
                    closes=_hhmm(raw["close"]),
                    service_name=raw.get("name") or None,
                )
            )
    weekly.sort(key=lambda p: (p.day_of_week, p.opens))
    special.sort(key=lambda s: (s.day, s.opens or time(0)))
    return OpeningHours(weekly=tuple(weekly), special_days=tuple(special))


def to_period_policies(rows: list[RawOpeningHour]) -> dict[str, PeriodPolicy]:
    out: dict[str, PeriodPolicy] = {}
    for raw in _live(rows):
        interval, duration = _seating(raw)
        if raw.get("_id"):
            out[raw["_id"]] = PeriodPolicy(interval, duration, _hhmm(raw.get("open", 0)))
    return out


def to_policy(rows: list[RawOpeningHour], base: BookingPolicy) -> BookingPolicy:
    """The restaurant-wide policy: the finest interval and most common duration."""
    seatings = [_seating(r) for r in _live(rows) if not r.get("special")]
    if not seatings:
        return base
    durations = [d for _, d in seatings]
    return BookingPolicy(
        min_party_size=base.min_party_size,
        max_party_size=base.max_party_size,
        min_lead_minutes=base.min_lead_minutes,
        max_advance_days=base.max_advance_days,
        slot_interval_minutes=min(i for i, _ in seatings),
        default_duration_minutes=max(set(durations), key=durations.count),
        cancellation_cutoff_minutes=base.cancellation_cutoff_minutes,
    )


def to_restaurant(
    upstream: str,
    r: RestaurantConfig,
    rows: list[RawOpeningHour],
    capabilities: frozenset[Capability],
) -> Restaurant:
    """resOS has no restaurant profile: the configured details plus the opening hours'
    seating rules."""
    base = BookingPolicy(
        min_party_size=r.min_party_size,
        max_party_size=r.max_party_size,
        default_duration_minutes=DEFAULT_DURATION,
    )
    return Restaurant(
        upstream=upstream,
        native_id=r.id,
        name=r.name,
        timezone=r.timezone,
        reference=r.id,
        city=r.city,
        address=r.address,
        latitude=r.latitude,
        longitude=r.longitude,
        phone=r.phone,
        policy=to_policy(rows, base),
        capabilities=capabilities,
    )


def _wall(text: str) -> time:
    return time(int(text[:2]), int(text[3:5]))


def service_days(local: datetime) -> list[date]:
    """The service days whose periods may offer this local time: its own date, and the
    evening before for a time before 06:00 (a service running past midnight)."""
    if local.hour < 6:
        return [local.date(), local.date() - timedelta(days=1)]
    return [local.date()]


def to_slots(
    periods: list[RawTimesPeriod],
    day: date,
    party_size: int,
    tz: str,
    policies: dict[str, PeriodPolicy],
) -> list[Slot]:
    slots: list[Slot] = []
    for period in periods:
        policy = policies.get(period.get("_id", ""))
        duration = timedelta(minutes=policy.duration if policy else DEFAULT_DURATION)
        payment = (
            SlotPayment(kind="PREPAYMENT") if (period.get("payment") or {}).get("active") else None
        )
        name = period.get("name") or None
        for times, waitlist_only in (
            (period.get("availableTimes") or [], False),
            (period.get("waitlistTimes") or [], True),
        ):
            for hhmm in times:
                wall = _wall(hhmm)
                # A time before the period opens belongs to the night after midnight.
                on = day + timedelta(days=1) if policy and wall < policy.opens else day
                start = localize(on, wall, tz)
                slots.append(
                    Slot(
                        start=start,
                        end=start + duration,
                        party_size=party_size,
                        waitlist_only=waitlist_only,
                        service_name=name,
                        payment=payment,
                    )
                )
    slots.sort(key=lambda s: (s.start, s.waitlist_only))
    return slots


def split_name(name: str | None) -> tuple[str | None, str | None]:
    parts = (name or "").split()
    if not parts:
        return None, None
    return parts[0], " ".join(parts[1:]) or None


def to_guest(
    upstream: str,
    restaurant_id: str,
    raw: RawGuest | None,
    language: str | None = None,
    visits: int | None = None,
) -> Guest | None:
    if not raw:
        return None
    identity = guest_identity(raw.get("phone"), raw.get("email"))
    if identity is None:
        return None
    first, last = split_name(raw.get("name"))
    return Guest(
        upstream=upstream,
        native_id=ids.compose(restaurant_id, identity),
        first_name=first,
        last_name=last,
        email=(raw.get("email") or "").strip().lower() or None,
        phone=normalize_phone(raw.get("phone")),
        locale=language,
        marketing_consent=None,
        visit_count=visits,
    )


def _instant(text: str | None, tz: str) -> datetime | None:
    if not text:
        return None
    try:
        return to_zone(parse_instant(text), tz)
    except ValueError:
        return None


def booking_start(raw: RawBooking, tz: str) -> datetime:
    """The UTC ``dateTime`` where present (checked against local ``date``/``time``)."""
    local = localize(date.fromisoformat(raw["date"]), _wall(raw["time"]), tz)
    utc = _instant(raw.get("dateTime"), tz)
    if utc is None:
        return local
    if utc != local and utc != local + timedelta(days=1):  # past-midnight times: next day
        log.warning(
            "resOS booking %s: dateTime disagrees with date/time in %s; "
            "check the configured time zone",
            raw.get("_id"),
            tz,
        )
    return utc


def notes_of(raw: RawBooking) -> str | None:
    """The latest internal note (an update adds one), else the guest's comment."""
    notes = [n.get("restaurantNote") for n in raw.get("restaurantNotes") or []]
    notes = [n for n in notes if n]
    if notes:
        return notes[-1]
    return raw.get("comment") or raw.get("note") or None


def to_booking(
    upstream: str,
    restaurant_id: str,
    raw: RawBooking,
    tz: str,
    default_duration: int = DEFAULT_DURATION,
) -> Booking:
    start = booking_start(raw, tz)
    duration = int(raw.get("duration") or default_duration)
    status = raw.get("status") or "request"
    guest = to_guest(upstream, restaurant_id, raw.get("guest"), raw.get("languageCode"))
    # Table ids, as updateBooking(tables:) takes them and Restaurant.tables lists them.
    tables = tuple(
        t["_id"] for t in raw.get("tables") or [] if isinstance(t, dict) and t.get("_id")
    )
    area_raw = next(
        (t.get("area") for t in raw.get("tables") or [] if isinstance(t, dict) and t.get("area")),
        None,
    )
    return Booking(
        upstream=upstream,
        native_id=ids.compose(restaurant_id, raw["_id"]),
        restaurant_id=restaurant_id,
        status=STATUS_MAP.get(status, BookingStatus.UNKNOWN),
        provider_status=status,
        start=start,
        end=start + timedelta(minutes=duration),
        party_size=int(raw.get("people") or 0),
        reference=raw["_id"],
        guest_id=guest.native_id if guest else None,
        guest=guest,
        tables=tables,
        notes=notes_of(raw),
        source=raw.get("source") or None,
        created_at=_instant(raw.get("createdAt"), tz),
        updated_at=_instant(raw.get("activityAt"), tz),
        area=Area(area_raw.get("_id", ""), area_raw.get("name", "")) if area_raw else None,
    )


def to_guests(upstream: str, restaurant_id: str, raws: list[RawBooking]) -> dict[str, Guest]:
    """One guest per identity, by guest id: details from the latest booking; ``visit_count``
    counts the bookings found that were not cancelled or declined."""
    latest: dict[str, RawBooking] = {}
    visits: dict[str, int] = {}
    for raw in sorted(raws, key=lambda b: (b.get("dateTime") or "", b.get("_id") or "")):
        g = raw.get("guest") or {}
        identity = guest_identity(g.get("phone"), g.get("email"))
        if identity is None:
            continue
        gid = ids.compose(restaurant_id, identity)
        latest[gid] = raw
        if raw.get("status") not in ("canceled", "declined"):
            visits[gid] = visits.get(gid, 0) + 1
    out: dict[str, Guest] = {}
    for gid, raw in latest.items():
        guest = to_guest(
            upstream, restaurant_id, raw.get("guest"), raw.get("languageCode"), visits.get(gid, 0)
        )
        if guest is not None:
            out[gid] = guest
    return out


def nearest_waitlist_time(
    periods: list[RawTimesPeriod], wanted: time | None
) -> tuple[str, RawTimesPeriod] | None:
    """The day's ``waitlistTimes`` entry nearest ``wanted`` (midnight if none), and its period."""
    offered = [(hhmm, p) for p in periods for hhmm in p.get("waitlistTimes") or []]
    if not offered:
        return None
    target = (wanted or time(0)).hour * 60 + (wanted or time(0)).minute
    return min(offered, key=lambda o: abs(int(o[0][:2]) * 60 + int(o[0][3:5]) - target))


def to_waitlist_entry(booking: Booking, day: date) -> WaitlistEntry:
    """A ``waitlist`` booking, as the waitlist entry it stands for."""
    return WaitlistEntry(
        upstream=booking.upstream,
        native_id=booking.native_id,
        restaurant_id=booking.restaurant_id,
        day=day,
        party_size=booking.party_size,
        status=booking.provider_status,
        preferred_time=booking.start.time().replace(tzinfo=None),
        guest=booking.guest,
        created_at=booking.created_at,
    )


def to_tables(upstream: str, rows: Iterable[RawTable]) -> list[Table]:
    """``GET /tables`` rows as tables, smallest first; rows without an id are skipped."""

    def seats(value: object) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    out = [
        Table(
            upstream,
            row["_id"],
            row.get("name") or row["_id"],
            seats=seats(row.get("seatsMax")),
            min_seats=seats(row.get("seatsMin")),
            area=(row.get("area") or {}).get("name") or None,
        )
        for row in rows
        if isinstance(row.get("_id"), str) and row["_id"]
    ]
    return sorted(out, key=lambda t: (t.seats or 0, t.name))
