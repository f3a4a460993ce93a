"""State of the Libro simulator: restaurants, tables, services, bookings, people, reviews,
OAuth clients, users and tokens — plus the deterministic demo seed.

Availability is computed, never stored: a seating exists at a service-scope grid time when a
free table (not held by an active booking overlapping ``[start, start + duration)``) seats the
party, in a zone the experience allows. Keys are local wall times without an offset, exactly as
Libro sends them; the simulator itself resolves them with ``timeutil.localize`` (a time skipped
by DST moves forward by the gap, an ambiguous one takes its first occurrence).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from tablegraph.simulators.common import Clock
from tablegraph.timeutil import localize, zone

STEP = timedelta(minutes=15)
ACTIVE_STATUSES = frozenset({"pending", "approved", "confirmed", "arrived", "partial", "seated"})
ALL_STATUSES = (
    "approved",
    "canceled",
    "confirmed",
    "noshow",
    "pending",
    "seated",
    "partial",
    "arrived",
    "completed",
)


class LibroError(Exception):
    """An error answered with Libro's ``{error, code, message}`` body."""

    def __init__(self, status: int, code: str, key: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.key, self.message = status, code, key, message


#: The documented error codes (DOC ``_errors.md``): code -> (HTTP status, legacy key, message).
ERRORS: dict[str, tuple[int, str, str]] = {
    "1001": (422, "validation.restaurant.login-required", "Login required"),
    "1002": (422, "validation.restaurant.recaptcha-required", "Recaptcha required"),
    "1003": (422, "validation.restaurant.recaptcha-invalid", "Recaptcha invalid"),
    "1004": (422, "validation.restaurant.recaptcha-failed", "Recaptcha failed"),
    "1005": (422, "You must select a restaurant", "You must select a restaurant"),
    "1006": (422, "You must select a date & time", "You must select a date & time"),
    "2001": (422, "validation.service.slots-unavailable-not-specific", "Slot unavailable"),
    "2002": (422, "validation.service.slots-unavailable-not-specific", "Booking window closed"),
    "2003": (422, "validation.service.slots-unavailable-not-specific", "Not enough room"),
    "2004": (
        422,
        "validation.service.slots-unavailable-not-specific",
        "Not enough room at this time",
    ),
    "2005": (
        422,
        "validation.service.slots-unavailable-not-specific",
        "Party size outside the online range",
    ),
    "2006": (422, "exception.no-table", "No table available"),
    "2007": (422, "validation.service.date-out-of-range", "Date out of range"),
    "2008": (422, "service-not-found", "Service not found"),
    "3001": (422, "validation.experience.unavailable", "Experience unavailable"),
    "3002": (422, "validation.classifications.invalid-restaurant", "Invalid classifications"),
    "3003": (422, "validation.booking.invalid", "Invalid booking"),
    "3004": (422, "validation.offer.empty", "An offer must be selected"),
    "4001": (409, "validation.booking.not-cancelable", "This booking cannot be canceled"),
}


def fail(code: str) -> LibroError:
    status, key, message = ERRORS[code]
    return LibroError(status, code, key, message)


@dataclass
class Experience:
    id: int
    en: str
    fr: str
    zones: tuple[str, ...]
    #: ``payment-required`` value: False, or a NO_SHOW / TICKETING object.
    payment: dict[str, Any] | bool = False

    def names(self) -> dict[str, str]:
        return {"en": self.en, "fr": self.fr}


@dataclass
class ServiceScope:
    name: str
    start: time
    end: time  # <= start: runs past midnight
    experiences: list[Experience] = field(default_factory=list)
    #: Without experiences: NO_SHOW fee from this party size on (None: never).
    no_show_from_size: int | None = None
    no_show_cents: int = 0
    weekdays: frozenset[int] = frozenset(range(1, 8))  # ISO weekday of the service day

    def grid(self, day: date) -> list[datetime]:
        """Naive local wall times of the seatings of the service starting on ``day``."""
        first = datetime.combine(day, self.start)
        last = datetime.combine(day, self.end)
        if last <= first:
            last += timedelta(days=1)
        out, t = [], first
        while t < last:
            out.append(t)
            t += STEP
        return out


@dataclass
class Table:
    number: str
    seats: int
    zone: str = "main"


@dataclass
class RestaurantRec:
    id: str
    code: str
    name: str
    latitude: float
    longitude: float
    tz: str
    created_at: datetime
    scopes: list[ServiceScope]
    tables: list[Table]
    lead_months: int = 6
    cancelation_delay: int = 86400
    accepts_cancelation: bool = True
    min_size: int = 1
    max_size: int = 12
    duration: timedelta = timedelta(minutes=90)
    login_required: bool = False
    active: bool = True


@dataclass
class Person:
    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    locale: str | None = None
    channel: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    restaurant_ids: set[str] = field(default_factory=set)


@dataclass
class BookingRec:
    id: int
    restaurant_id: str
    person_id: int
    size: int
    status: str
    start: datetime  # aware, restaurant zone
    duration: timedelta
    table: str | None
    created_at: datetime
    updated_at: datetime
    note: str | None = None
    private_note: str | None = None
    source: str = "online"
    booking_type: str = "reservation"
    locale: str | None = None
    tags: list[str] = field(default_factory=list)
    experience_id: int | None = None
    deposit: bool = False
    read_token: str = ""
    edit_token: str = ""
    stamps: dict[str, datetime | None] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        return self.start + self.duration


@dataclass
class ReviewRec:
    id: int
    restaurant_id: str
    person_id: int | None
    ratings: dict[str, float | None]  # rating, ambiance-rating, food-rating, ...
    description: str | None
    reply: str | None
    source: str
    created_at: datetime
    updated_at: datetime


@dataclass
class OAuthClient:
    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]
    restaurant_ids: frozenset[str]  # what a client-credentials token may see


@dataclass
class Token:
    value: str
    client_id: str
    user: str | None  # None: client credentials
    scopes: frozenset[str]
    restaurant_ids: frozenset[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class Grant:
    """An authorization code or a refresh token (both single use)."""

    value: str
    client_id: str
    user: str
    scopes: frozenset[str]
    redirect_uri: str | None = None
    used: bool = False


class LibroState:
    """All mutable simulator state. Tests reach it as ``app[LIBRO_STATE]``."""

    def __init__(self, clock: Clock, *, token_ttl: int = 7200, seed: int = 0) -> None:
        self.clock = clock
        self._rng = random.Random(seed)  # booking read/edit tokens: deterministic per seed
        self.token_ttl = token_ttl
        self.restaurants: dict[str, RestaurantRec] = {}
        self.people: dict[int, Person] = {}
        self.bookings: dict[int, BookingRec] = {}
        self.reviews: dict[int, ReviewRec] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.users: dict[str, frozenset[str]] = {}  # login -> restaurant ids
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.token_calls: list[str] = []  # grant types, in order
        self._next_id = 63873400
        self._next_person = 18476000
        #: Next forced failures: (method, path prefix) -> error code or HTTP status.
        self.forced: list[tuple[str, str, str]] = []

    # ---- ids and lookups -------------------------------------------------------------------

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def by_code(self, code: str) -> RestaurantRec | None:
        return next((r for r in self.restaurants.values() if r.code == code), None)

    # ---- tokens ----------------------------------------------------------------------------

    def issue_token(
        self,
        client_id: str,
        user: str | None,
        scopes: frozenset[str],
        restaurant_ids: frozenset[str],
    ) -> Token:
        token = Token(
            secrets.token_urlsafe(24),
            client_id,
            user,
            scopes,
            restaurant_ids,
            self.clock.now() + timedelta(seconds=self.token_ttl),
        )
        self.tokens[token.value] = token
        return token

    def issue_refresh(self, client_id: str, user: str, scopes: frozenset[str]) -> str:
        value = secrets.token_urlsafe(32)
        self.refresh_tokens[value] = Grant(value, client_id, user, scopes)
        return value

    def valid_token(self, value: str) -> Token | None:
        token = self.tokens.get(value)
        if token is None or token.revoked or token.expires_at <= self.clock.now():
            return None
        return token

    def expire_tokens(self) -> None:
        for token in self.tokens.values():
            token.expires_at = self.clock.now()

    def revoke_user(self, user: str) -> None:
        """The user disconnected the app: its refresh tokens and access tokens stop working."""
        for grant in self.refresh_tokens.values():
            if grant.user == user:
                grant.used = True
        for token in self.tokens.values():
            if token.user == user:
                token.revoked = True

    # ---- availability ----------------------------------------------------------------------

    def seatings(
        self, rest: RestaurantRec, day: date, size: int, ignore_booking: int | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """``{"YYYY-MM-DDTHH:MM:SS": [entry, ...]}`` for the services starting on ``day``."""
        out: dict[str, list[dict[str, Any]]] = {}
        if not rest.min_size <= size <= rest.max_size or not self._in_window(rest, day):
            return out
        now = self.clock.now()
        for scope in rest.scopes:
            if day.isoweekday() not in scope.weekdays:
                continue
            for wall in scope.grid(day):
                start = localize(wall.date(), wall.time(), rest.tz)
                if start <= now:
                    continue
                entries = self._entries(rest, scope, start, size, ignore_booking)
                if entries:
                    out[wall.isoformat()] = entries
        return out

    def _entries(
        self,
        rest: RestaurantRec,
        scope: ServiceScope,
        start: datetime,
        size: int,
        ignore_booking: int | None,
    ) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        if scope.experiences:
            for exp in scope.experiences:
                if self.free_table(rest, start, size, exp.zones, ignore_booking):
                    entries.append(
                        {"id": exp.id, "name": exp.names(), "payment-required": exp.payment}
                    )
        elif self.free_table(rest, start, size, None, ignore_booking):
            payment: dict[str, Any] | bool = False
            if scope.no_show_from_size is not None and size >= scope.no_show_from_size:
                payment = {
                    "payment-type": "NO_SHOW",
                    "amount-cents": scope.no_show_cents,
                    "payment-delay": 86400,
                }
            entries.append({"payment-required": payment})
        return entries

    def _in_window(self, rest: RestaurantRec, day: date) -> bool:
        today = self.clock.now().astimezone(zone(rest.tz)).date()
        last = _add_months(today, rest.lead_months)
        return today - timedelta(days=1) <= day <= last

    def free_table(
        self,
        rest: RestaurantRec,
        start: datetime,
        size: int,
        zones: tuple[str, ...] | None,
        ignore_booking: int | None = None,
    ) -> Table | None:
        end = start + rest.duration
        busy = {
            b.table
            for b in self.bookings.values()
            if b.restaurant_id == rest.id
            and b.status in ACTIVE_STATUSES
            and b.table
            and b.id != ignore_booking
            and b.start < end
            and start < b.end
        }
        fitting = [
            t
            for t in rest.tables
            if t.seats >= size and t.number not in busy and (zones is None or t.zone in zones)
        ]
        return min(fitting, key=lambda t: (t.seats, t.number)) if fitting else None

    def find_scope(self, rest: RestaurantRec, wall: datetime) -> tuple[ServiceScope, date] | None:
        """The service whose grid holds ``wall`` (service day may be the previous date)."""
        for day in (wall.date(), wall.date() - timedelta(days=1)):
            for scope in rest.scopes:
                if day.isoweekday() in scope.weekdays and wall in scope.grid(day):
                    return scope, day
        return None

    # ---- derived booking attributes --------------------------------------------------------

    def cancelation_allowed_until(self, b: BookingRec) -> datetime | None:
        rest = self.restaurants[b.restaurant_id]
        if not rest.accepts_cancelation or b.deposit:
            return None
        return b.start - timedelta(seconds=rest.cancelation_delay)

    def modification_restricted(self, b: BookingRec) -> dict[str, Any]:
        rest = self.restaurants[b.restaurant_id]
        reason = None
        if b.size > rest.max_size:
            reason = "validation.service.party-size-exceeds-maximum"
        elif b.size < rest.min_size:
            reason = "validation.service.party-size-below-minimum"
        elif not self._in_window(rest, b.start.date()):
            reason = "validation.service.date-out-of-range"
        return {"restricted": reason is not None, "reason": reason}

    def new_booking(
        self,
        rest: RestaurantRec,
        person: Person,
        size: int,
        start: datetime,
        table: str | None,
        **kw: Any,
    ) -> BookingRec:
        now = kw.pop("created_at", None) or self.clock.now().astimezone(zone(rest.tz))
        b = BookingRec(
            id=self.next_id(),
            restaurant_id=rest.id,
            person_id=person.id,
            size=size,
            status=kw.pop("status", "approved"),
            start=start.astimezone(zone(rest.tz)),
            duration=rest.duration,
            table=table,
            created_at=now,
            updated_at=now,
            read_token=f"{self._rng.getrandbits(36):09x}",
            edit_token=f"{self._rng.getrandbits(36):09x}",
            **kw,
        )
        self.bookings[b.id] = b
        person.restaurant_ids.add(rest.id)
        return b

    def find_or_create_person(self, attrs: dict[str, Any], rest: RestaurantRec) -> Person:
        email = attrs.get("email")
        phone = _digits(attrs.get("phone"))
        for p in self.people.values():
            if (email and p.email == email) or (phone and _digits(p.phone) == phone):
                p.restaurant_ids.add(rest.id)
                return p
        self._next_person += 1
        now = self.clock.now()
        person = Person(
            id=self._next_person,
            first_name=attrs.get("first-name") or attrs.get("first_name") or "",
            last_name=attrs.get("last-name") or attrs.get("last_name") or "",
            email=email,
            phone=attrs.get("phone"),
            locale=attrs.get("locale"),
            channel=attrs.get("preferred-communication-channel"),
            tags=list(attrs.get("tags") or []),
            created_at=now,
            updated_at=now,
            restaurant_ids={rest.id},
        )
        self.people[person.id] = person
        return person


def _digits(phone: object) -> str:
    return "".join(c for c in str(phone or "") if c.isdigit()).lstrip("1")


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# ---- deterministic demo seed -----------------------------------------------------------------

DEMO_CLIENT_ID = "tablegraph-demo"
DEMO_CLIENT_SECRET = "libro-demo-secret"
DEMO_WEBHOOK_SECRET = "libro-demo-webhook-secret"
DEMO_CODES = ("QC016214487921", "QC016214487922")
MONTREAL = "America/Montreal"

_FIRST = [
    "Camille",
    "Olivier",
    "Léa",
    "Mathis",
    "Chloé",
    "Gabriel",
    "Alice",
    "Thomas",
    "Jade",
    "Félix",
    "Emma",
    "Louis",
]
_LAST = [
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
]
_REVIEWS = [
    "Parfait!",
    "Perfect!",
    "Great food, slow service.",
    "Belle terrasse.",
    "Excellent tasting menu.",
    "A bit noisy but lovely.",
    None,
]


def seed(state: LibroState, seed_number: int, *, bookings_per_day: int = 6, days: int = 7) -> None:
    rng = random.Random(seed_number)
    created = datetime(2024, 1, 1, 12, 0, tzinfo=zone(MONTREAL))
    dining = Experience(5211, "Dining Room", "Salle à manger", ("main",))
    chefs = Experience(
        5212,
        "Chef's Table",
        "Table du chef",
        ("chef",),
        {
            "payment-type": "TICKETING",
            "amount-cents": 9500,
            "offer": {
                "id": 77,
                "name": "Menu dégustation",
                "number": 1,
                "description": "Seven courses",
            },
        },
    )
    bistro = RestaurantRec(
        id="4521",
        code=DEMO_CODES[0],
        name="Bistro Saint-Denis",
        latitude=45.5206,
        longitude=-73.5694,
        tz=MONTREAL,
        created_at=created,
        scopes=[
            ServiceScope("Diner", time(11, 0), time(14, 30)),
            ServiceScope("Souper", time(17, 0), time(22, 0), experiences=[dining, chefs]),
        ],
        tables=[
            Table(str(n), s, "main")
            for n, s in [(1, 2), (2, 2), (3, 2), (4, 4), (5, 4), (6, 4), (7, 6), (8, 8)]
        ]
        + [Table("C1", 6, "chef")],
    )
    plateau = RestaurantRec(
        id="4522",
        code=DEMO_CODES[1],
        name="Le Plateau de Nuit",
        latitude=45.5225,
        longitude=-73.5810,
        tz=MONTREAL,
        created_at=created,
        lead_months=3,
        cancelation_delay=7200,
        scopes=[
            ServiceScope(
                "Souper", time(17, 0), time(2, 30), no_show_from_size=6, no_show_cents=2500
            )
        ],
        tables=[Table(str(n), s, "main") for n, s in [(10, 2), (11, 2), (12, 4), (13, 4), (14, 8)]],
    )
    for rest in (bistro, plateau):
        state.restaurants[rest.id] = rest
    state.clients[DEMO_CLIENT_ID] = OAuthClient(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, (), frozenset(state.restaurants)
    )
    state.users["owner-bistro"] = frozenset({bistro.id})
    state.users["owner-plateau"] = frozenset({plateau.id})

    people = []
    for i in range(12):
        first, last = _FIRST[i], rng.choice(_LAST)
        p = state.find_or_create_person(
            {
                "first-name": first,
                "last-name": last,
                "email": f"{first.lower().replace('é', 'e')}.{i}@example.ca",
                "phone": f"+1514555{1000 + i:04d}",
                "locale": rng.choice(["fr", "en"]),
            },
            bistro,
        )
        p.restaurant_ids = {bistro.id, plateau.id}
        people.append(p)

    now = state.clock.now()
    for rest in (bistro, plateau):
        today = now.astimezone(zone(rest.tz)).date()
        for offset in range(days):
            day = today + timedelta(days=offset)
            grid = [w for s in rest.scopes for w in s.grid(day)]
            for _ in range(bookings_per_day):
                wall = rng.choice(grid)
                start = localize(wall.date(), wall.time(), rest.tz)
                size = rng.choice([2, 2, 2, 3, 4, 4, 5, 6])
                table = state.free_table(rest, start, size, ("main",))
                if table is None or start <= now:
                    continue
                status = rng.choice(["approved", "approved", "confirmed", "pending"])
                state.new_booking(
                    rest,
                    rng.choice(people),
                    size,
                    start,
                    table.number,
                    status=status,
                    source=rng.choice(["online", "dashboard", "google"]),
                    created_at=now.astimezone(zone(rest.tz)) - timedelta(days=2),
                )
        for n in range(8):
            r = rng.choice([3.0, 4.0, 4.0, 4.5, 5.0, 5.0])
            when = now - timedelta(days=3 * n + 1)
            subs = {
                k: rng.choice([None, 3.0, 4.0, 5.0])
                for k in (
                    "ambiance-rating",
                    "food-rating",
                    "service-rating",
                    "menu-rating",
                    "presentation-rating",
                )
            }
            rid = 1234567890 + len(state.reviews)
            state.reviews[rid] = ReviewRec(
                rid,
                rest.id,
                rng.choice(people).id,
                {"rating": r, **subs},
                rng.choice(_REVIEWS),
                rng.choice([None, "Merci!"]),
                rng.choice(["libro", "google"]),
                when,
                when,
            )
