"""The LibreBooking simulator's state: users, schedules, resources, reservations, sessions.

Rules follow what a real LibreBooking server (2.9) does, as recorded in
``shared/providers/librebooking.md`` and ``docs/librebooking-real-server.md``: 30-minute sliding
sessions; a start on the start of a reservable period and an end on any period boundary;
overlaps refused for everyone. Only plain users are held to the rest — no start in the past, no
reservation across days, minimum notice, maximum notice, buffer time, required and valid
custom attributes, approval — administrators skip all of them. Soft delete.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from tablegraph.simulators.common import Clock
from tablegraph.timeutil import localize, zone

SESSION_MINUTES = 30


@dataclass
class User:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    password: str
    timezone: str = "America/New_York"
    is_admin: bool = False
    phone: str = ""
    language: str = "en_us"
    created: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Schedule:
    id: int
    name: str
    timezone: str
    opens: time
    closes: time  # 00:00 means midnight
    slot_minutes: int = 30
    is_default: bool = False

    def periods(self, day: date) -> list[tuple[datetime, datetime, bool]]:
        """The day's layout as aware ``(start, end, reservable)`` in the schedule's zone."""
        tz = self.timezone
        midnight = localize(day, time(0), tz)
        next_midnight = localize(day + timedelta(days=1), time(0), tz)
        opens = localize(day, self.opens, tz)
        closes = next_midnight if self.closes == time(0) else localize(day, self.closes, tz)
        out: list[tuple[datetime, datetime, bool]] = []
        if opens > midnight:
            out.append((midnight, opens, False))
        wall = datetime.combine(day, self.opens)
        start = opens
        while start < closes:
            wall += timedelta(minutes=self.slot_minutes)
            end = next_midnight if wall.date() > day else localize(day, wall.time(), tz)
            end = min(end, closes)
            out.append((start, end, True))
            start = end
        if closes < next_midnight:
            out.append((closes, next_midnight, False))
        return out


@dataclass
class Resource:
    id: int
    schedule_id: int
    name: str
    seats: int | None
    location: str | None = None
    description: str | None = None
    requires_approval: bool = False
    buffer_minutes: int = 0
    min_notice_minutes: int = 0
    #: How far ahead a plain user may book (0: no limit); ``maxNotice`` on the wire.
    max_notice_minutes: int = 0
    allow_multiday: bool = False
    status_id: int = 1
    requires_check_in: bool = False
    sort_order: int = 0


@dataclass
class Reservation:
    ref: str
    owner_id: int
    resource_ids: list[int]
    start: datetime  # UTC
    end: datetime  # UTC
    title: str = ""
    description: str = ""
    pending: bool = False
    created: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    check_in: datetime | None = None
    check_out: datetime | None = None
    deleted: bool = False
    participants: list[int] = field(default_factory=list)
    invitees: list[int] = field(default_factory=list)
    participating_guests: list[str] = field(default_factory=list)
    invited_guests: list[str] = field(default_factory=list)
    start_reminder: int | None = None
    allow_participation: bool = False
    attributes: dict[int, str] = field(default_factory=dict)
    #: Occurrences of one recurring request share a series (each has its own reference).
    series: RecurrenceRule | None = None


@dataclass(frozen=True)
class RecurrenceRule:
    """``recurrenceRule`` of a request: ``type`` daily/weekly, every ``interval`` days/weeks,
    up to ``until`` (the termination date, inclusive, in the requesting user's zone)."""

    type: str
    interval: int
    until: datetime


@dataclass
class Attribute:
    """A reservation custom attribute (category 1)."""

    id: int
    label: str
    required: bool = False
    #: LibreBooking's ``validation_regex``, as PHP takes it (``/^[0-9]+$/``).
    regex: str | None = None


@dataclass
class Session:
    token: str
    user_id: int
    expires: datetime


class ReservationError(Exception):
    """A 400 from the reservation services: ``errors`` are LibreBooking's own messages."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(errors[0] if errors else "")
        self.errors = errors


class ServerFault(Exception):
    """A PHP error the real server turns into a 500 Slim page (``message``, ``file``)."""

    def __init__(self, message: str, file: str) -> None:
        super().__init__(message)
        self.message, self.file = message, file


def _moment(moment: datetime, tz: str) -> str:
    """LibreBooking's date in messages: ``11/30/2026 11:03:07 PM`` in the user's zone."""
    return moment.astimezone(zone(tz)).strftime("%m/%d/%Y %I:%M:%S %p")


class LibreBookingState:
    """Everything the simulated server knows; tests use the methods directly."""

    def __init__(self, clock: Clock, seed: int = 0) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.users: dict[int, User] = {}
        self.schedules: dict[int, Schedule] = {}
        self.resources: dict[int, Resource] = {}
        self.reservations: dict[str, Reservation] = {}
        self.sessions: dict[str, Session] = {}
        #: Reservation custom attributes, all listed on a single reservation.
        self.attributes: dict[int, Attribute] = {1: Attribute(1, "Occasion")}
        self.logins = 0

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    # ---- setup ------------------------------------------------------------------------

    def add_user(self, **kw: object) -> User:
        uid = max(self.users, default=0) + 1
        user = User(id=uid, **kw)  # type: ignore[arg-type]
        self.users[uid] = user
        return user

    def add_schedule(
        self, name: str, timezone: str, opens: time, closes: time, slot_minutes: int = 30
    ) -> Schedule:
        sid = max(self.schedules, default=0) + 1
        schedule = Schedule(sid, name, timezone, opens, closes, slot_minutes, not self.schedules)
        self.schedules[sid] = schedule
        return schedule

    def add_resource(
        self, schedule_id: int, name: str, seats: int | None, **kw: object
    ) -> Resource:
        rid = max(self.resources, default=0) + 1
        resource = Resource(rid, schedule_id, name, seats, sort_order=rid, **kw)  # type: ignore[arg-type]
        self.resources[rid] = resource
        return resource

    def new_reference(self) -> str:
        return f"{self.rng.getrandbits(48):012x}{self.rng.randrange(10**10):010d}"

    def add_reservation(
        self,
        resource_id: int,
        start: datetime,
        end: datetime,
        *,
        owner_id: int | None = None,
        title: str = "",
        description: str = "",
        pending: bool = False,
        extra_resources: tuple[int, ...] = (),
    ) -> Reservation:
        """Store a reservation as-is, bypassing every rule (what another client did)."""
        owner = owner_id if owner_id is not None else self.admin().id
        res = Reservation(
            ref=self.new_reference(),
            owner_id=owner,
            resource_ids=[resource_id, *extra_resources],
            start=start.astimezone(UTC),
            end=end.astimezone(UTC),
            title=title,
            description=description,
            pending=pending,
            created=self.now(),
        )
        self.reservations[res.ref] = res
        return res

    def admin(self) -> User:
        return next(u for u in self.users.values() if u.is_admin)

    # ---- sessions ---------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> Session | None:
        self.logins += 1
        for user in self.users.values():
            named = username.lower() in (user.username.lower(), user.email.lower())
            if named and secrets.compare_digest(user.password, password):
                token = secrets.token_hex(25)
                session = Session(token, user.id, self.now() + timedelta(minutes=SESSION_MINUTES))
                self.sessions[token] = session
                return session
        return None

    def session_user(self, token: str | None, user_id: str | None) -> User | None:
        """The user of a live session (sliding its expiry), or None: LibreBooking's 401."""
        if not token or not user_id:
            return None
        session = self.sessions.get(token)
        if session is None or str(session.user_id) != user_id.strip():
            return None
        now = self.now()
        if session.expires <= now:
            del self.sessions[token]
            return None
        session.expires = now + timedelta(minutes=SESSION_MINUTES)
        return self.users.get(session.user_id)

    def sign_out(self, token: str | None) -> None:
        if token:
            self.sessions.pop(token, None)

    def expire_sessions(self) -> int:
        """End every session behind the clients' backs (their next call gets a 401)."""
        count = len(self.sessions)
        self.sessions.clear()
        return count

    # ---- queries ----------------------------------------------------------------------

    def live(self) -> Iterator[Reservation]:
        return (r for r in self.reservations.values() if not r.deleted)

    def get_live(self, ref: str) -> Reservation | None:
        res = self.reservations.get(ref)
        return None if res is None or res.deleted else res

    def schedule_resources(self, schedule_id: int) -> list[Resource]:
        return sorted(
            (r for r in self.resources.values() if r.schedule_id == schedule_id),
            key=lambda r: (r.sort_order, r.id),
        )

    def on_resource(self, resource_id: int, exclude: str | None = None) -> list[Reservation]:
        return sorted(
            (r for r in self.live() if resource_id in r.resource_ids and r.ref != exclude),
            key=lambda r: r.start,
        )

    # ---- rules ------------------------------------------------------------------------

    @property
    def reservation_attributes(self) -> dict[int, str]:
        return {a.id: a.label for a in self.attributes.values()}

    def validate(
        self,
        user: User,
        resource_ids: list[int],
        start: datetime,
        end: datetime,
        exclude: str | None = None,
        attributes: dict[int, str] | None = None,
    ) -> None:
        """Raise ``ReservationError`` with LibreBooking's messages when a booking breaks a rule
        (``ServerFault`` where the real server dies instead). Order as observed: across days,
        past, the period grid, notice, attributes, conflicts."""
        if end <= start:
            raise ReservationError(["The end date and time must be after the start date and time"])
        resources = [self.resources[i] for i in resource_ids]
        plain = not user.is_admin
        now = self.now()
        for resource in resources:
            schedule = self.schedules[resource.schedule_id]
            tz = zone(schedule.timezone)
            crosses_days = start.astimezone(tz).date() != end.astimezone(tz).date()
            if plain and not resource.allow_multiday and crosses_days:
                message = f"{resource.name} does not allow reservations across days."
                raise ReservationError([message])
            if plain and start < now:
                raise ReservationError(["The start date and time cannot be in the past."])
            starts, boundaries = self._grid(schedule, start, end)
            text = ""
            if start not in starts:
                text += "The start date and time requested is not valid.\n"
            if end not in boundaries:
                text += "The end date and time requested is not valid.\n"
            if text:  # observed: one error string holding both lines
                raise ReservationError([text])
            if not plain:
                continue
            notice = timedelta(minutes=resource.min_notice_minutes)
            if notice and start < now + notice:
                raise ReservationError(
                    [
                        "This reservation requires advance notice. The earliest date and time "
                        f"that can be reserved is {_moment(now + notice, user.timezone)}."
                    ]
                )
            limit = timedelta(minutes=resource.max_notice_minutes)
            if limit and start > now + limit:
                latest = (now + limit).replace(second=0, microsecond=0)
                raise ReservationError(
                    [
                        "This reservation cannot be made this far in the future. The latest "
                        f"date and time that can be reserved is {_moment(latest, user.timezone)}."
                    ]
                )
        if plain:
            self._check_attributes(attributes or {})
        conflicts: list[str] = []
        for resource in resources:
            # Observed: buffers hold plain users only; an administrator books right up to others.
            buffer = timedelta(minutes=resource.buffer_minutes if plain else 0)
            for other in self.on_resource(resource.id, exclude):
                if start < other.end + buffer and other.start < end + buffer:
                    day = other.start.astimezone(zone(user.timezone))
                    conflicts.append(f"{day:%m/%d/%Y} - {resource.name}\n")
        if conflicts:
            raise ReservationError(
                [
                    "There are conflicting reservations on the following dates:\n"
                    + "".join(conflicts)
                ]
            )

    def _check_attributes(self, values: dict[int, str]) -> None:
        for attribute in self.attributes.values():
            if attribute.required and attribute.id not in values:
                # Observed: PHP dies on the missing array key rather than answering 400.
                raise ServerFault(
                    f"Undefined array key {attribute.id}",
                    "/var/www/librebooking/lib/Application/Attributes/AttributeService.php",
                )
        invalid = [
            self.attributes[aid].label
            for aid, value in values.items()
            if aid in self.attributes
            and self.attributes[aid].regex
            and not _matches(str(self.attributes[aid].regex), value)
        ]
        if invalid:
            raise ReservationError(
                [
                    "There are problems with the additional attributes you provided:\n"
                    + "\n".join(f"The value provided for {label} is invalid." for label in invalid)
                ]
            )

    def _grid(
        self, schedule: Schedule, start: datetime, end: datetime
    ) -> tuple[set[datetime], set[datetime]]:
        """Starts of reservable periods, and every period boundary (an end may close on a
        non-reservable period: observed 21:00–00:00 accepted for an administrator)."""
        first = start.astimezone(zone(schedule.timezone)).date() - timedelta(days=1)
        last = end.astimezone(zone(schedule.timezone)).date() + timedelta(days=1)
        starts: set[datetime] = set()
        boundaries: set[datetime] = set()
        day = first
        while day <= last:
            for p_start, p_end, reservable in schedule.periods(day):
                if reservable:
                    starts.add(p_start.astimezone(UTC))
                boundaries.update({p_start.astimezone(UTC), p_end.astimezone(UTC)})
            day += timedelta(days=1)
        return starts, boundaries

    def occurrences(
        self, start: datetime, end: datetime, rule: RecurrenceRule | None, tz: str
    ) -> list[tuple[datetime, datetime]]:
        """Every occurrence of a (possibly recurring) request, the first one first."""
        if rule is None or rule.type not in {"daily", "weekly"} or rule.interval < 1:
            return [(start, end)]
        step = timedelta(days=rule.interval * (7 if rule.type == "weekly" else 1))
        last_day = rule.until.astimezone(zone(tz)).date()
        out: list[tuple[datetime, datetime]] = []
        s, e = start, end
        while s.astimezone(zone(tz)).date() <= last_day and len(out) < 366:
            out.append((s, e))
            s, e = s + step, e + step
        return out or [(start, end)]

    def pending_for(self, user: User, resource_ids: list[int]) -> bool:
        return not user.is_admin and any(self.resources[i].requires_approval for i in resource_ids)

    # ---- seed -------------------------------------------------------------------------

    def seed_demo(self, with_bookings: bool = True) -> None:
        rng = self.rng
        self.add_user(
            username="user",
            email="user@example.com",
            first_name="User",
            last_name="User",
            password="password",
        )
        self.add_user(
            username="admin",
            email="admin@example.com",
            first_name="Admin",
            last_name="Admin",
            password="password",
            is_admin=True,
        )
        firsts = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia"]
        lasts = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
        guests: list[User] = []
        for i in range(10):
            first, last = rng.choice(firsts), rng.choice(lasts)
            guests.append(
                self.add_user(
                    username=f"{first}.{last}.{i}".lower(),
                    email=f"{first}.{last}.{i}@example.com".lower(),
                    first_name=first,
                    last_name=last,
                    password=secrets.token_hex(8),
                    phone=f"+1 212 555 {1000 + i}",
                )
            )
        nyc = self.add_schedule("Hudson Street Kitchen", "America/New_York", time(11, 30), time(22))
        berlin = self.add_schedule("Spreeufer Bistro", "Europe/Berlin", time(12), time(23))
        for schedule in (nyc, berlin):
            count = rng.randint(8, 15)
            for k in range(count):
                seats = (
                    2 if k == 0 else 8 if k == count - 1 else rng.choice([2, 2, 4, 4, 4, 6, 6, 8])
                )
                self.add_resource(
                    schedule.id,
                    f"Table {k + 1}",
                    seats,
                    location=rng.choice(["Main room", "Main room", "Terrace", "Bar"]),
                    description=f"{seats} seats",
                    requires_approval=k == count - 1,
                    requires_check_in=True,
                )
        if not with_bookings:
            return
        for schedule in (nyc, berlin):
            tables = self.schedule_resources(schedule.id)
            today = self.now().astimezone(zone(schedule.timezone)).date()
            for offset in range(14):
                day = today + timedelta(days=offset)
                starts = [p for p in schedule.periods(day) if p[2]]
                for _ in range(rng.randint(3, 8)):
                    table = rng.choice(tables)
                    index = rng.randrange(len(starts))
                    if index + 4 > len(starts):
                        continue
                    start, end = starts[index][0], starts[index + 3][1]
                    if any(start < o.end and o.start < end for o in self.on_resource(table.id)):
                        continue
                    guest = rng.choice(guests)
                    party = rng.randint(1, table.seats or 2)
                    self.add_reservation(
                        table.id,
                        start,
                        end,
                        owner_id=guest.id,
                        title=f"{guest.full_name} for {party}",
                    )


def _matches(php_regex: str, value: str) -> bool:
    """A PHP ``/pattern/flags`` regex applied as ``preg_match`` would (flags i, s, m)."""
    body, flags = php_regex, ""
    closing = php_regex.rfind(php_regex[:1]) if php_regex else -1
    if closing > 0:
        body, flags = php_regex[1:closing], php_regex[closing + 1 :]
    options = re.IGNORECASE if "i" in flags else 0
    options |= re.DOTALL if "s" in flags else 0
    options |= re.MULTILINE if "m" in flags else 0
    return re.search(body, value, options) is not None
