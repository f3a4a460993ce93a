"""LibreBooking adapter (kind ``librebooking``): restaurants are configured schedules, tables
their resources (seats = ``maxParticipants``), bookings their reservations.

API: ``<server>/Web/Services/index.php/…`` (LibreBooking's API.md, corrected by what a real
2.9 server does — ``shared/providers/librebooking.md``). Auth: a session from
``Authentication/Authenticate`` (see ``auth.py``). Quirks handled here:

- the reservation list is UTC, a single reservation is in the session user's zone: both are
  converted to the schedule's zone;
- availability comes from ``Schedules/{id}/Slots`` (see ``availability.py``);
- writes always send explicit offsets, ``allowParticipation`` and ``termsAccepted`` (without
  them a real server answers 500 with an HTML page);
- update/delete/approve of an unknown reference answer 200 with an empty body, so a cancel
  reads the reservation first; a deleted reservation reads 404 (soft delete). A cancel made
  through this adapter is remembered (process memory, bounded) so that cancelling twice, or
  reading the booking back, gives the same CANCELLED booking; elsewhere it reads as not found;
- the party size lives in the title (``"Ada Lovelace for 4"``; list items carry no custom
  attributes); the idempotency key is a marker line in the description, stripped on read;
- guests are LibreBooking users (the reservation owner), found by e-mail and created when
  missing if the integration account is an administrator;
- only the configured schedules are in scope: a reservation elsewhere reads as not found.

Mappers live in ``mapping.py``, lenient readers of the raw JSON in ``parse.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import httpx

from tablegraph.errors import (
    GatewayError,
    InvalidInput,
    InvalidState,
    NotFound,
    NotSupported,
    PolicyViolation,
    SlotUnavailable,
    UpstreamAuthError,
    UpstreamBadResponse,
)
from tablegraph.model import (
    Area,
    Booking,
    BookingChange,
    BookingQuery,
    BookingStatus,
    BookingUpdate,
    Capability,
    Guest,
    GuestData,
    GuestUpsert,
    NewBooking,
    OpeningHours,
    Restaurant,
    Slot,
)
from tablegraph.providers import register
from tablegraph.providers.base import BatchResult, Provider
from tablegraph.providers.kit import Runtime
from tablegraph.providers.librebooking.auth import SessionAuth
from tablegraph.providers.librebooking.availability import (
    Grid,
    Table,
    free_starts,
    read_grids,
    to_table,
)
from tablegraph.providers.librebooking.mapping import (
    PARTY,
    fmt_input,
    marker,
    reservation_body,
    to_booking,
    to_guest,
    to_list_booking,
    to_opening_hours,
    to_restaurant,
    with_marker,
)
from tablegraph.providers.librebooking.parse import (
    RawListItem,
    RawReservation,
    RawUser,
    to_str_id,
)
from tablegraph.settings import UpstreamConfig
from tablegraph.timeutil import UTC, local_day_bounds, zone
from tablegraph.upstream import UpstreamClient, json_body

T = TypeVar("T")

API_PREFIX = "Web/Services/index.php/"

#: 400 ``errors[]`` messages (by prefix) → the gateway's business outcome. Messages are ours.
_ERROR_TABLE: tuple[tuple[str, type[GatewayError], str], ...] = (
    ("There are conflicting reservations", SlotUnavailable, "the table is already booked then"),
    (
        "The start date and time requested is not valid",
        PolicyViolation,
        "the start time is not a bookable slot",
    ),
    (
        "The end date and time requested is not valid",
        PolicyViolation,
        "the end time is not a bookable slot",
    ),
    ("The reservation crosses", PolicyViolation, "the booking crosses closed hours"),
    ("Missing or invalid resourceId", InvalidInput, "unknown table"),
)


@register
class LibreBookingProvider(Provider):
    kind = "librebooking"
    display_name = "LibreBooking"
    capabilities = frozenset(
        {
            Capability.AVAILABILITY,
            Capability.BOOKINGS_READ,
            Capability.BOOKING_CREATE,
            Capability.BOOKING_RESCHEDULE,
            Capability.BOOKING_CANCEL,
            Capability.BOOKING_UPDATE,
            Capability.STATUS_CHANGE,
            Capability.GUESTS_READ,
            Capability.GUEST_UPSERT,
            Capability.OPENING_HOURS,
        }
    )
    credential_names = ("username", "password")
    option_names = (
        "schedule_ids",  # the schedules that are restaurants (required)
        "duration_minutes",  # booking length (default 120)
        "restaurants",  # {schedule id: {name, city, address, phone}}
        "create_guests",  # create a LibreBooking user for an unknown guest e-mail (default true)
        "max_concurrency",  # parallel single reads in a batch (default 8)
    )
    #: Cancelled bookings remembered for read-back (LibreBooking deletes them).
    CANCELLED_MEMORY = 10_000

    def __init__(self, config: UpstreamConfig, runtime: Runtime | None = None) -> None:
        super().__init__(config, runtime)
        options = config.options
        self._prefix = "" if "index.php" in config.base_url else API_PREFIX
        self._now: Callable[[], datetime] = options.get("_now") or (lambda: datetime.now(UTC))
        self._auth = SessionAuth(
            self.name,
            lambda: (self._credential("username"), self._credential("password")),
            self._prefix,
            self._now,
        )
        self._http = self._client(auth=self._auth, default_headers={"Accept": "application/json"})
        self._schedule_ids = [str(s) for s in options.get("schedule_ids", ())]
        self._duration = timedelta(minutes=int(options.get("duration_minutes", 120)))
        self._profiles: dict[str, dict[str, Any]] = {
            str(k): dict(v) for k, v in dict(options.get("restaurants", {})).items()
        }
        self._create_guests = bool(options.get("create_guests", True))
        self._concurrency = int(options.get("max_concurrency", 8))
        self._zones: dict[str, str] = {}
        self._cancelled: OrderedDict[str, Booking] = OrderedDict()

    @property
    def clients(self) -> Sequence[UpstreamClient]:
        return (self._http,)

    async def close(self) -> None:
        with contextlib.suppress(GatewayError):  # the session ends by itself after 30 minutes
            await self._auth.sign_out(self._http)
        await super().close()

    def health_details(self) -> dict[str, Any]:
        return {"logins": self._auth.logins}

    # ---- HTTP ---------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send; raise the mapped error for 4xx; return the JSON body, or None for the empty
        200 a real server sends for unknown references."""
        response = await self._http.request(method, self._prefix + path, params=params, json=json)
        self._raise_for(response)
        if not response.content.strip():
            return None
        if "json" not in response.headers.get("content-type", ""):
            raise UpstreamBadResponse(
                f"{self.name} sent a non-JSON answer (HTTP {response.status_code})",
                upstream=self.name,
            )
        return json_body(response, self.name)

    def _raise_for(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        if status == 401:
            raise UpstreamAuthError(
                f"{self.name} refused the session (HTTP 401)", upstream=self.name
            )
        if status == 404:
            raise NotFound(f"not found at {self.name}", upstream=self.name)
        if status == 400:
            errors: list[str] = []
            try:
                body = response.json()
                errors = (
                    [str(e) for e in body.get("errors") or []] if isinstance(body, dict) else []
                )
            except ValueError:
                pass
            for prefix, cls, message in _ERROR_TABLE:
                if any(e.startswith(prefix) for e in errors):
                    raise cls(message, upstream=self.name)
        raise UpstreamBadResponse(
            f"{self.name} refused the request (HTTP {status})", upstream=self.name
        )

    async def _gather(self, items: Sequence[T], fn: Callable[[T], Awaitable[Any]]) -> BatchResult:
        sem = asyncio.Semaphore(self._concurrency)

        async def one(item: T) -> Any:
            async with sem:
                try:
                    return await fn(item)
                except NotFound:
                    return None
                except GatewayError as exc:
                    return exc

        return list(await asyncio.gather(*(one(i) for i in items)))

    # ---- restaurants ----------------------------------------------------------------------

    def _check_restaurant(self, restaurant_id: str) -> str:
        if restaurant_id not in self._schedule_ids:
            raise NotFound(f"unknown restaurant {restaurant_id!r}", upstream=self.name)
        return restaurant_id

    async def _schedule(self, schedule_id: str) -> dict[str, Any]:
        body = await self._call("GET", f"Schedules/{schedule_id}")
        if not isinstance(body, dict) or not body.get("timezone"):
            raise UpstreamBadResponse(f"{self.name} sent an unusable schedule", upstream=self.name)
        self._zones[schedule_id] = str(body["timezone"])
        return body

    async def _zone(self, schedule_id: str) -> str:
        self._check_restaurant(schedule_id)
        if schedule_id not in self._zones:
            await self._schedule(schedule_id)
        return self._zones[schedule_id]

    async def _tables_by_schedule(self) -> dict[str, list[Table]]:
        """Every resource that seats guests, by schedule id, smallest first."""
        body = await self._call("GET", "Resources/")
        out: dict[str, list[Table]] = {}
        for raw in body.get("resources") or [] if isinstance(body, dict) else []:
            table = to_table(raw) if isinstance(raw, dict) else None
            sid = to_str_id(raw.get("scheduleId")) if isinstance(raw, dict) else None
            if table is not None and sid is not None:
                out.setdefault(sid, []).append(table)
        for tables in out.values():
            tables.sort(key=lambda t: (t.seats, int(t.id) if t.id.isdigit() else 0, t.id))
        return out

    async def _tables(self, schedule_id: str) -> list[Table]:
        return (await self._tables_by_schedule()).get(schedule_id, [])

    async def list_restaurants(self) -> list[Restaurant]:
        schedules, tables = await asyncio.gather(
            self._gather(self._schedule_ids, self._schedule), self._tables_by_schedule()
        )
        out = []
        for sid, schedule in zip(self._schedule_ids, schedules, strict=True):
            if isinstance(schedule, Exception):
                raise schedule
            if schedule is None:
                continue  # a configured schedule the server does not know
            out.append(
                to_restaurant(
                    self.name,
                    sid,
                    schedule,
                    tables.get(sid, []),
                    profile=self._profiles.get(sid, {}),
                    duration=self._duration,
                    capabilities=self.capabilities,
                )
            )
        return out

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        self._check_restaurant(restaurant_id)
        return to_opening_hours(await self._schedule(restaurant_id))

    # ---- availability ---------------------------------------------------------------------

    async def _grids(self, schedule_id: str, day: date, tz: str) -> dict[str, Grid]:
        start, end = local_day_bounds(day, tz)
        body = await self._call(
            "GET",
            f"Schedules/{schedule_id}/Slots",
            params={
                "startDateTime": fmt_input(start),
                "endDateTime": fmt_input(end + self._duration),
            },
        )
        return read_grids(body)

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        tz = await self._zone(restaurant_id)
        tables = [t for t in await self._tables(restaurant_id) if t.seats >= party_size]
        if party_size < 1 or not tables:
            return []
        grids = await self._grids(restaurant_id, day, tz)
        window = local_day_bounds(day, tz)
        by_start: dict[datetime, tuple[datetime, set[str]]] = {}
        for table in tables:
            for start, end in free_starts(
                table,
                grids.get(table.id, Grid()),
                self._duration,
                not_before=self._now(),
                window=window,
            ):
                _, areas = by_start.setdefault(start, (end, set()))
                if table.location:
                    areas.add(table.location)
        z = zone(tz)
        return [
            Slot(
                start=s.astimezone(z),
                end=e.astimezone(z),
                party_size=party_size,
                areas=tuple(Area(a, a) for a in sorted(areas)),
            )
            for s, (e, areas) in sorted(by_start.items())
        ]

    async def _free_tables(
        self,
        schedule_id: str,
        start: datetime,
        duration: timedelta,
        party_size: int,
        exclude_ref: str | None = None,
    ) -> list[tuple[Table, datetime]]:
        """Tables (smallest first) that can take ``[start, start + duration)`` now."""
        tz = await self._zone(schedule_id)
        tables = [t for t in await self._tables(schedule_id) if t.seats >= party_size]
        if not tables:
            raise PolicyViolation(
                f"no table seats a party of {party_size}",
                upstream=self.name,
                field=("partySize",),
            )
        now = self._now()
        if start < now + min(t.min_notice for t in tables):
            raise PolicyViolation("the start time is too soon or in the past", upstream=self.name)
        day = start.astimezone(zone(tz)).date()
        grids = await self._grids(schedule_id, day, tz)
        out = []
        for table in tables:
            for s, e in free_starts(
                table,
                grids.get(table.id, Grid()),
                duration,
                not_before=now,
                window=(start, start + timedelta(seconds=1)),
                exclude_ref=exclude_ref,
            ):
                if s == start:
                    out.append((table, e))
        return out

    # ---- bookings: reads -------------------------------------------------------------------

    async def _raw_reservation(self, ref: str) -> RawReservation:
        if not ref or "/" in ref:
            raise NotFound(f"unknown booking {ref!r}", upstream=self.name)
        body = await self._call("GET", f"Reservations/{ref}")
        if not isinstance(body, dict) or not body.get("referenceNumber"):
            raise NotFound(f"unknown booking {ref!r}", upstream=self.name)
        return body  # type: ignore[return-value]

    async def _raw_in_scope(self, ref: str) -> tuple[RawReservation, str, str]:
        """The reservation, its schedule id and zone; NotFound outside the configured schedules."""
        raw = await self._raw_reservation(ref)
        sid = to_str_id(raw.get("scheduleId")) or ""
        if sid not in self._schedule_ids:
            raise NotFound(f"unknown booking {ref!r}", upstream=self.name)
        return raw, sid, await self._zone(sid)

    async def _booking(self, ref: str) -> Booking:
        raw, _, tz = await self._raw_in_scope(ref)
        return to_booking(self.name, raw, tz)

    async def _list_rows(
        self, schedule_id: str, start: datetime, end: datetime, user_id: str | None = None
    ) -> dict[str, list[RawListItem]]:
        body = await self._call(
            "GET",
            "Reservations/",
            params={
                "scheduleId": schedule_id,
                "startDateTime": fmt_input(start.astimezone(UTC)),
                "endDateTime": fmt_input(end.astimezone(UTC)),
                "userId": user_id,
            },
        )
        rows: dict[str, list[RawListItem]] = {}
        for item in (body or {}).get("reservations") or [] if isinstance(body or {}, dict) else []:
            if isinstance(item, dict) and item.get("referenceNumber"):
                rows.setdefault(str(item["referenceNumber"]), []).append(item)  # type: ignore[arg-type]
        return rows

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        tz = await self._zone(query.restaurant_id)
        rows = await self._list_rows(query.restaurant_id, query.start, query.end, query.guest_id)
        out = []
        for items in rows.values():
            booking = to_list_booking(self.name, items, tz)
            if not (query.start <= booking.start < query.end):
                continue  # the list's window edges are inclusive and overlap-based
            if query.statuses is not None and booking.status not in query.statuses:
                continue
            out.append(booking)
        if query.statuses is not None and BookingStatus.CANCELLED in query.statuses:
            out += [
                b
                for b in self._cancelled.values()
                if b.restaurant_id == query.restaurant_id and query.start <= b.start < query.end
            ]
        return sorted(out, key=lambda b: (b.start, b.native_id))

    async def get_bookings(self, ids: Sequence[str]) -> BatchResult:
        async def one(ref: str) -> Booking | None:
            try:
                return await self._booking(ref)
            except NotFound:
                return self._cancelled.get(ref)

        return await self._gather(ids, one)

    async def find_booking_by_idempotency_key(
        self, restaurant_id: str, key: str, request: NewBooking
    ) -> Booking | None:
        tz = await self._zone(restaurant_id)
        day = request.start.astimezone(zone(tz)).date()
        start, end = local_day_bounds(day, tz)
        for ref, items in (await self._list_rows(restaurant_id, start, end)).items():
            if marker(items[0].get("description")) == key:
                return await self._booking(ref)
        return None

    # ---- bookings: writes ------------------------------------------------------------------

    async def create_booking(self, request: NewBooking) -> Booking:
        tz = await self._zone(request.restaurant_id)
        if request.party_size < 1:
            raise InvalidInput("the party size must be at least 1", field=("partySize",))
        start = request.start.astimezone(zone(tz))
        duration = (
            timedelta(minutes=request.duration_minutes)
            if request.duration_minutes
            else self._duration
        )
        candidates = await self._free_tables(
            request.restaurant_id, start, duration, request.party_size
        )
        if not candidates:
            raise SlotUnavailable("no table is free at that time", upstream=self.name)
        owner_id = await self._owner_for(request.guest)
        g = request.guest
        title = f"{g.first_name} {g.last_name} for {request.party_size}".strip()
        notes = (request.notes or "").strip()
        description = with_marker(notes, request.idempotency_key)
        for table, end in candidates[:3]:
            body = reservation_body(
                table=table.id,
                start=start,
                end=end,
                title=title,
                description=description,
                owner_id=owner_id,
            )
            try:
                created = await self._call("POST", "Reservations/", json=body)
            except SlotUnavailable:
                continue  # taken meanwhile: try the next smallest table
            ref = created.get("referenceNumber") if isinstance(created, dict) else None
            if not ref:
                raise UpstreamBadResponse(
                    f"{self.name} did not return a reference", upstream=self.name
                )
            return await self._booking(str(ref))
        raise SlotUnavailable("no table is free at that time", upstream=self.name)

    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        raw, sid, tz = await self._raw_in_scope(booking_id)
        current = to_booking(self.name, raw, tz)
        if current.status is BookingStatus.COMPLETED:
            raise InvalidState(
                "a completed booking cannot be moved",
                upstream=self.name,
                code="MODIFICATION_RESTRICTED",
            )
        start = (change.start or current.start).astimezone(zone(tz))
        party = change.party_size or current.party_size
        duration = current.end - current.start
        candidates = await self._free_tables(sid, start, duration, party, exclude_ref=booking_id)
        keep = [c for c in candidates if c[0].id in current.tables[:1]]
        chosen = (keep or candidates)[:1]
        if not chosen:
            raise SlotUnavailable("no table is free at that time", upstream=self.name)
        table, end = chosen[0]
        guest_name = PARTY.sub("", str(raw.get("title") or "")).strip()
        body = reservation_body(
            table=table.id,
            start=start,
            end=end,
            title=f"{guest_name} for {party}".strip(),
            description=str(raw.get("description") or ""),
            owner_id=current.guest_id,
            raw=raw,
        )
        await self._update(booking_id, body)
        return await self._booking(booking_id)

    async def _update(self, ref: str, body: dict[str, Any]) -> None:
        answer = await self._call(
            "POST", f"Reservations/{ref}", params={"updateScope": "this"}, json=body
        )
        if answer is None:  # a real server's answer for an unknown/deleted reference
            raise NotFound(f"unknown booking {ref!r}", upstream=self.name)

    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        # Read first: DELETE of an unknown reference answers 200 with an empty body.
        try:
            booking = await self._booking(booking_id)
        except NotFound:
            remembered = self._cancelled.get(booking_id)
            if remembered is not None:
                return remembered
            raise
        if booking.status is BookingStatus.COMPLETED:
            raise InvalidState(
                "a completed booking cannot be cancelled",
                upstream=self.name,
                code="NOT_CANCELLABLE",
            )
        await self._call("DELETE", f"Reservations/{booking_id}", params={"updateScope": "this"})
        cancelled = replace(
            booking,
            status=BookingStatus.CANCELLED,
            provider_status="deleted",
            updated_at=self._now().astimezone(booking.start.tzinfo),
        )
        self._cancelled[booking_id] = cancelled
        while len(self._cancelled) > self.CANCELLED_MEMORY:
            self._cancelled.popitem(last=False)
        return cancelled

    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        if update.tags is not None:
            raise NotSupported("LibreBooking reservations have no tags", upstream=self.name)
        if update.status is BookingStatus.CANCELLED:
            return await self.cancel_booking(booking_id, None)
        raw, sid, tz = await self._raw_in_scope(booking_id)
        current = to_booking(self.name, raw, tz)
        if update.notes is not None or update.tables is not None:
            key_marker = marker(raw.get("description"))
            notes = update.notes if update.notes is not None else (current.notes or "")
            tables = list(update.tables) if update.tables else list(current.tables)
            known = {t.id for t in await self._tables(sid)}
            if update.tables is not None and not set(tables) <= known:
                raise InvalidInput(
                    "unknown table for this restaurant", upstream=self.name, field=("tables",)
                )
            body = reservation_body(
                table=tables[0],
                extra_tables=tables[1:],
                start=current.start,
                end=current.end,
                title=str(raw.get("title") or ""),
                description=with_marker(notes, key_marker),
                owner_id=current.guest_id,
                raw=raw,
            )
            await self._update(booking_id, body)
        if update.status is not None and update.status is not current.status:
            await self._move_status(booking_id, current.status, update.status)
        return await self._booking(booking_id)

    async def _move_status(self, ref: str, now: BookingStatus, to: BookingStatus) -> None:
        steps: dict[tuple[BookingStatus, BookingStatus], tuple[str, ...]] = {
            (BookingStatus.PENDING, BookingStatus.CONFIRMED): ("Approval",),
            (BookingStatus.CONFIRMED, BookingStatus.ARRIVED): ("CheckIn",),
            (BookingStatus.CONFIRMED, BookingStatus.SEATED): ("CheckIn",),
            (BookingStatus.CONFIRMED, BookingStatus.COMPLETED): ("CheckIn", "CheckOut"),
            (BookingStatus.ARRIVED, BookingStatus.SEATED): (),
            (BookingStatus.ARRIVED, BookingStatus.COMPLETED): ("CheckOut",),
        }
        path = steps.get((now, to))
        if path is None:
            raise InvalidState(
                f"a {now.value} booking cannot become {to.value}",
                upstream=self.name,
                code="INVALID_TRANSITION",
            )
        for step in path:
            if await self._call("POST", f"Reservations/{ref}/{step}") is None:
                raise NotFound(f"unknown booking {ref!r}", upstream=self.name)

    # ---- guests ------------------------------------------------------------------------------

    async def _find_user(self, email: str) -> RawUser | None:
        body = await self._call("GET", "Users/", params={"email": email})
        for user in (body or {}).get("users") or [] if isinstance(body, dict) else []:
            if (
                isinstance(user, dict)
                and str(user.get("emailAddress", "")).lower() == email.lower()
            ):
                return user  # type: ignore[return-value]
        return None

    async def _ensure_user(self, guest: GuestData) -> RawUser | None:
        if not guest.email:
            return None
        found = await self._find_user(guest.email)
        if found is not None or not self._create_guests:
            return found
        body = {
            "password": secrets.token_urlsafe(18),
            "language": (guest.locale or "en_us").replace("-", "_").lower(),
            "firstName": guest.first_name,
            "lastName": guest.last_name,
            "emailAddress": guest.email,
            "userName": guest.email,
            "phone": guest.phone or "",
            "customAttributes": [],
            "groups": [],
        }
        try:
            created = await self._call("POST", "Users/", json=body)
        except UpstreamAuthError:
            return None  # not an administrator: book under the integration account
        uid = to_str_id(created.get("userId")) if isinstance(created, dict) else None
        if uid is None:
            return await self._find_user(guest.email)
        user = await self._call("GET", f"Users/{uid}")
        return user if isinstance(user, dict) else None  # type: ignore[return-value]

    async def _owner_for(self, guest: GuestData) -> str | None:
        user = await self._ensure_user(guest)
        return to_str_id(user.get("id")) if user else self._auth.user_id

    async def get_guests(self, ids: Sequence[str]) -> BatchResult:
        async def one(uid: str) -> Guest | None:
            if not uid.isdigit():
                return None
            body = await self._call("GET", f"Users/{uid}")
            return to_guest(self.name, body) if isinstance(body, dict) else None

        return await self._gather(ids, one)

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        self._check_restaurant(restaurant_id)
        params = {"email": search} if search and "@" in search else None
        body = await self._call("GET", "Users/", params=params)
        needle = (search or "").lower()
        out = []
        for raw in (body or {}).get("users") or [] if isinstance(body, dict) else []:
            guest = to_guest(self.name, raw) if isinstance(raw, dict) else None
            if guest is None:
                continue
            text = " ".join(filter(None, [guest.first_name, guest.last_name, guest.email])).lower()
            if needle and needle not in text:
                continue
            out.append(guest)
        return out[: max(0, limit)]

    async def upsert_guest(self, request: GuestUpsert) -> Guest:
        self._check_restaurant(request.restaurant_id)
        if not request.guest.email:
            raise InvalidInput(
                "LibreBooking guests need an e-mail address", field=("guest", "email")
            )
        user = await self._ensure_user(request.guest)
        guest = to_guest(self.name, user) if user else None
        if guest is None:
            raise NotSupported(
                "the integration account may not create LibreBooking users", upstream=self.name
            )
        return guest
