"""The simulated resOS account data: restaurants (one API key each), opening hours, tables,
bookings, and availability computed from them."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tablegraph.simulators.common import Clock

#: Statuses that hold a table.
ACTIVE_STATUSES = frozenset({"request", "approved", "arrived", "seated"})
STATUSES = frozenset(
    {
        "request",
        "declined",
        "approved",
        "arrived",
        "seated",
        "left",
        "no_show",
        "canceled",
        "waitlist",
    }
)
SOURCES = frozenset({"walkin", "website", "phone", "email", "message", "eatie", "other"})
LANGUAGES = frozenset({"en", "es", "de", "da", "sv"})


@dataclass
class Table:
    id: str
    name: str
    area_id: str
    area_name: str
    min_seats: int
    max_seats: int

    def to_json(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "name": self.name,
            "seatsMin": self.min_seats,
            "seatsMax": self.max_seats,
            "area": {"_id": self.area_id, "name": self.area_name},
        }


@dataclass
class OpeningPeriod:
    """One ``/openingHours`` document: a weekday period, or a special one for a date."""

    id: str
    name: str
    day: int  # ISO weekday 1..7 (for special entries: the date's weekday)
    open: int  # HHMM
    close: int  # HHMM; <= open means past midnight
    interval: int = 15
    duration: int = 120
    special: bool = False
    date: date | None = None
    is_open: bool = True
    use_waitlist: bool = False
    deleted: bool = False

    def times(self) -> list[str]:
        start = (self.open // 100) * 60 + self.open % 100
        end = (self.close // 100) * 60 + self.close % 100
        if end <= start:
            end += 24 * 60
        return [f"{(m // 60) % 24:02d}:{m % 60:02d}" for m in range(start, end, self.interval)]

    def to_json(self, restaurant_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "_id": self.id,
            "name": self.name,
            "day": self.day,
            "open": self.open,
            "close": self.close,
            "open_sec": (self.open // 100) * 3600 + (self.open % 100) * 60,
            "close_sec": (self.close // 100) * 3600 + (self.close % 100) * 60,
            "special": self.special,
            "mode": "restaurant",
            "seating": {"active": True, "interval": self.interval, "duration": self.duration},
            "useWaitlist": self.use_waitlist,
            "restaurantId": restaurant_id,
            "createdBy": "simulator",
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
        if self.special:
            assert self.date is not None
            doc["date"] = self.date.isoformat()
            doc["isOpen"] = self.is_open
            doc["range"] = {"from": self.date.isoformat(), "to": self.date.isoformat()}
        if self.deleted:
            doc["deleted"] = True
        return doc


@dataclass
class Restaurant:
    id: str
    name: str
    timezone: str
    api_key: str
    periods: list[OpeningPeriod] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    bookings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Rate-limit window (minute index) and requests counted in it.
    window: int = -1
    used: int = 0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def periods_on(self, day: date) -> list[OpeningPeriod]:
        """Special entries for a date replace the weekly periods of that weekday."""
        live = [p for p in self.periods if not p.deleted]
        special = [p for p in live if p.special and p.date == day]
        if special:
            return [p for p in special if p.is_open]
        return [p for p in live if not p.special and p.day == day.isoweekday()]

    def find_period(self, day: date, hhmm: str) -> OpeningPeriod | None:
        for period in self.periods_on(day):
            if hhmm in period.times():
                return period
        return None


def e164(phone: str | None) -> str:
    """resOS keeps guest phones in E.164 (``+4512345678``) whatever was typed."""
    if not phone:
        return ""
    s = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if s.startswith("00"):
        s = "+" + s[2:]
    return s if s.startswith("+") else "+" + s


def new_id(rng: random.Random, length: int = 17) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))


def iso_utc(moment: datetime) -> str:
    u = moment.astimezone(UTC)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """``fromDateTime`` style: a date, a naive date-time (UTC) or one with an offset."""
    s = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if len(s) == 10:
        return datetime.combine(date.fromisoformat(s), time(0), tzinfo=UTC)
    value = datetime.fromisoformat(s)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class ResosState:
    """Everything tests may inspect or change directly."""

    def __init__(
        self, clock: Clock, *, rate_limit: int = 100, strict: bool = False, seed: int = 0
    ) -> None:
        self.clock = clock
        self.rate_limit = rate_limit
        #: Refuse a booking on a full slot with 422 (real resOS' behaviour is unknown).
        self.strict = strict
        self.restaurants: dict[str, Restaurant] = {}
        self.rng = random.Random(seed * 7919 + 1)
        #: Every authenticated request in arrival order: (minute index, method, path, query).
        self.log: list[tuple[int, str, str, str]] = []
        self.status_counts: dict[int, int] = {}

    # ---- restaurants and auth ------------------------------------------------------------

    def add_restaurant(self, restaurant: Restaurant) -> Restaurant:
        self.restaurants[restaurant.api_key] = restaurant
        return restaurant

    def restaurant(self, restaurant_id: str) -> Restaurant:
        for r in self.restaurants.values():
            if r.id == restaurant_id:
                return r
        raise KeyError(restaurant_id)

    def by_key(self, api_key: str) -> Restaurant | None:
        return self.restaurants.get(api_key)

    def minute(self) -> int:
        return int(self.clock.now().timestamp() // 60)

    def ms_until_reset(self) -> int:
        ts = self.clock.now().timestamp()
        return max(0, round(((ts // 60) + 1) * 60 * 1000 - ts * 1000))

    def take_request(self, restaurant: Restaurant) -> bool:
        """Count one request in the key's fixed calendar-minute window; False when over."""
        minute = self.minute()
        if restaurant.window != minute:
            restaurant.window = minute
            restaurant.used = 0
        restaurant.used += 1
        return restaurant.used <= self.rate_limit

    # ---- bookings ------------------------------------------------------------------------

    def add_booking(
        self, restaurant: Restaurant, body: dict[str, Any], *, booking_id: str | None = None
    ) -> dict[str, Any]:
        """Store a booking from a create body (validated by the caller); assigns a table."""
        day = date.fromisoformat(body["date"])
        period = restaurant.find_period(day, body["time"])
        duration = int(body.get("duration") or (period.duration if period else 120))
        guest = dict(body.get("guest") or {})
        now = iso_utc(self.clock.now())
        booking: dict[str, Any] = {
            "_id": booking_id or new_id(self.rng),
            "restaurantId": restaurant.id,
            "date": body["date"],
            "time": body["time"],
            "dateTime": "",
            "people": int(body["people"]),
            "duration": duration,
            "status": body.get("status") or "request",
            "source": body.get("source") or "other",
            "languageCode": body.get("languageCode") or "en",
            "guest": {
                "name": guest.get("name"),
                "email": guest.get("email") or "",
                "phone": e164(guest.get("phone")),
                "notificationSms": bool(guest.get("notificationSms")),
                "notificationEmail": bool(guest.get("notificationEmail")),
            },
            "tables": [],
            "comment": body.get("comment") or "",
            "note": body.get("note") or "",
            "noteAuthor": body.get("noteAuthor") or "API",
            "restaurantNotes": [
                self._note(n.get("restaurantNote") or n.get("text") or "")
                for n in body.get("restaurantNotes") or []
            ],
            "customFields": body.get("customFields") or [],
            "openingHourId": body.get("openingHourId") or (period.id if period else None),
            "openingHourName": period.name if period else None,
            "metadata": body.get("metadata") or {},
            "referrer": body.get("referrer") or "",
            "createdAt": now,
            "activityAt": now,
        }
        self._set_when(restaurant, booking)
        table_ids = body.get("tables")
        if table_ids:
            booking["tables"] = [t.to_json() for t in restaurant.tables if t.id in table_ids]
        elif booking["status"] in ACTIVE_STATUSES:
            table = self.free_table(restaurant, day, booking["time"], booking["people"], duration)
            if table is not None:
                booking["tables"] = [table.to_json()]
        restaurant.bookings[booking["_id"]] = booking
        return booking

    def _note(self, text: str) -> dict[str, Any]:
        return {
            "_id": new_id(self.rng),
            "restaurantNote": text,
            "author": "API",
            "createdAt": iso_utc(self.clock.now()),
        }

    def add_note(self, booking: dict[str, Any], text: str) -> str:
        note = self._note(text)
        booking["restaurantNotes"].append(note)
        return str(note["_id"])

    def _set_when(self, restaurant: Restaurant, booking: dict[str, Any]) -> None:
        start = self.local_start(restaurant, booking["date"], booking["time"])
        booking["dateTime"] = iso_utc(start)

    def local_start(self, restaurant: Restaurant, day: str, hhmm: str) -> datetime:
        d = date.fromisoformat(day)
        wall = time(int(hhmm[:2]), int(hhmm[3:5]))
        period = restaurant.find_period(d, hhmm)
        if period is not None and (wall.hour * 100 + wall.minute) < period.open:
            d += timedelta(days=1)  # a time after midnight in a period that opened the day before
        return datetime.combine(d, wall, tzinfo=restaurant.zone)

    def update_booking(
        self, restaurant: Restaurant, booking: dict[str, Any], body: dict[str, Any]
    ) -> None:
        for key, value in body.items():
            booking[key] = value
        if isinstance(body.get("tables"), list):  # ids in, objects stored (as on create)
            ids = {str(t) for t in body["tables"]}
            booking["tables"] = [t.to_json() for t in restaurant.tables if t.id in ids]
        if isinstance(body.get("guest"), dict):
            booking["guest"] = {**body["guest"], "phone": e164(body["guest"].get("phone"))}
        if "openingHourId" in body and "openingHourName" not in body:
            named = [p for p in restaurant.periods if p.id == body["openingHourId"]]
            booking["openingHourName"] = named[0].name if named else None
        if "date" in body or "time" in body:
            self._set_when(restaurant, booking)
            if "openingHourId" not in body:
                period = restaurant.find_period(
                    date.fromisoformat(booking["date"]), booking["time"]
                )
                booking["openingHourId"] = period.id if period else None
                booking["openingHourName"] = period.name if period else None
        now = iso_utc(self.clock.now())
        if body.get("status") == "canceled" and "canceledAt" not in body:
            booking["canceledAt"] = now
        if body.get("status") == "declined" and "declinedAt" not in body:
            booking["declinedAt"] = now
        if {"date", "time", "people", "duration"} & set(body) and "tables" not in body:
            booking["tables"] = []
            table = self.free_table(
                restaurant,
                date.fromisoformat(booking["date"]),
                booking["time"],
                int(booking["people"]),
                int(booking["duration"]),
                ignore=booking["_id"],
            )
            if table is not None:
                booking["tables"] = [table.to_json()]
        booking["activityAt"] = now

    # ---- availability --------------------------------------------------------------------

    def free_table(
        self,
        restaurant: Restaurant,
        day: date,
        hhmm: str,
        people: int,
        duration: int,
        *,
        ignore: str | None = None,
    ) -> Table | None:
        start = self.local_start(restaurant, day.isoformat(), hhmm)
        end = start + timedelta(minutes=duration)
        busy: set[str] = set()
        for b in restaurant.bookings.values():
            if b["_id"] == ignore or b["status"] not in ACTIVE_STATUSES:
                continue
            b_start = parse_iso(b["dateTime"])
            b_end = b_start + timedelta(minutes=int(b["duration"]))
            if b_start < end and start < b_end:
                busy.update(t["_id"] for t in b["tables"])
        fitting = [
            t
            for t in restaurant.tables
            if t.min_seats <= people <= t.max_seats and t.id not in busy
        ]
        fitting.sort(key=lambda t: (t.max_seats, t.id))
        return fitting[0] if fitting else None

    def times(self, restaurant: Restaurant, day: date, people: int) -> list[dict[str, Any]]:
        """The ``/bookingFlow/times`` answer: one object per opening-hour period."""
        now = self.clock.now()
        out: list[dict[str, Any]] = []
        for period in sorted(restaurant.periods_on(day), key=lambda p: p.open):
            available: list[str] = []
            unavailable: list[str] = []
            for hhmm in period.times():
                start = self.local_start(restaurant, day.isoformat(), hhmm)
                free = (
                    start > now
                    and self.free_table(restaurant, day, hhmm, people, period.duration) is not None
                )
                (available if free else unavailable).append(hhmm)
            waitlist = (
                [t for t in unavailable if self.local_start(restaurant, day.isoformat(), t) > now]
                if period.use_waitlist
                else []
            )
            out.append(
                {
                    "_id": period.id,
                    "name": period.name,
                    "note": "",
                    "payment": {"active": False},
                    "availableTimes": available,
                    "unavailableTimes": unavailable,
                    "waitlistTimes": waitlist,
                    "useWaitlist": period.use_waitlist,
                    "activeCustomFields": [],
                }
            )
        return out

    def list_bookings(self, restaurant: Restaurant) -> list[dict[str, Any]]:
        return list(restaurant.bookings.values())
