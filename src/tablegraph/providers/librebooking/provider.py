"""LibreBooking adapter (kind ``librebooking``): restaurants are configured schedules, tables
their resources (seats = ``maxParticipants``), bookings their reservations.

API: ``<server>/Web/Services/index.php/…`` (LibreBooking's API.md, corrected by what a real
2.9 server does — ``shared/providers/librebooking.md`` and ``docs/librebooking-real-server.md``).
Auth: a session from ``Authentication/Authenticate`` (``auth.py``). Errors: ``errors.py``.
Quirks handled here:

- the reservation list is UTC, a single reservation is in the session user's zone: both are
  converted to the schedule's zone;
- availability comes from ``Schedules/{id}/Slots`` (``availability.py``), minus each table's
  minimum notice, buffer and advance limit — which the server enforces for plain users only,
  so the adapter enforces them for an administrator account too;
- a start outside the opening hours or off the slot grid, or a booking running past closing,
  is refused as outside policy before anything is sent (the server's "start … not valid");
- writes always send explicit offsets, ``allowParticipation`` and ``termsAccepted`` (without
  them a real server answers 500 with an HTML page);
- update/delete/approve of an unknown reference answer 200 with an empty body, so a cancel
  reads the reservation first; a deleted reservation reads 404 (soft delete): cancels made
  here, with their reason, are remembered in the gateway's store
  (``stores.remembered``; an in-memory store outside a gateway), so they read back
  ``CANCELLED`` after a restart and on every worker;
- check-in and check-out answer 500 on PHP 8.2 and change nothing: read back, ``NOT_SUPPORTED``;
- the party size lives in the title; the idempotency key and a non-user guest's contact are
  marker lines in the description (``mapping.py``); guests are users (``guests.py``);
- only the configured schedules are in scope: a reservation elsewhere reads as not found.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tablegraph import prefetch
from tablegraph.errors import (
    GatewayError,
    InvalidInput,
    InvalidState,
    NotFound,
    NotSupported,
    SlotUnavailable,
    UpstreamBadResponse,
)
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingQuery,
    BookingStatus,
    BookingUpdate,
    Capability,
    Guest,
    GuestUpsert,
    NewBooking,
    OpeningHours,
    Restaurant,
    Slot,
    Table,
)
from tablegraph.providers import register
from tablegraph.providers.base import Provider
from tablegraph.providers.kit import Batch, Caller, Runtime, batch_by_key
from tablegraph.providers.librebooking import availability as slots
from tablegraph.providers.librebooking import mapping, status
from tablegraph.providers.librebooking.auth import SessionAuth
from tablegraph.providers.librebooking.catalog import Catalog
from tablegraph.providers.librebooking.errors import ERRORS
from tablegraph.providers.librebooking.guests import Users
from tablegraph.providers.librebooking.options import LibreBookingOptions
from tablegraph.providers.librebooking.parse import to_str_id
from tablegraph.providers.librebooking.payloads import (
    RawListItem,
    RawReservation,
    fmt_input,
    reservation_body,
    update_body,
)
from tablegraph.settings import UpstreamConfig
from tablegraph.stores import MemoryStore, Store
from tablegraph.stores.remembered import RememberedBookings
from tablegraph.timeutil import local_day_bounds, zone

API_PREFIX = "Web/Services/index.php/"


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
            Capability.TABLES,
        }
    )
    credential_names = ("username", "password")
    required_credentials = ("username", "password")
    example_base_url = "https://booking.example.com"
    Options = LibreBookingOptions

    def __init__(self, config: UpstreamConfig, runtime: Runtime | None = None) -> None:
        super().__init__(config, runtime)
        self.options = LibreBookingOptions.parse(config.options, self.name)
        prefix = "" if "index.php" in config.base_url else API_PREFIX
        self._now = self.runtime.now
        self._auth = SessionAuth(
            self.name,
            lambda: (self._credential("username"), self._credential("password")),
            prefix,
            self._now,
        )
        client = self._client(auth=self._auth, default_headers={"Accept": "application/json"})
        self._call = Caller(client, ERRORS, prefix)
        self._users = Users(self._call, self._auth, create=self.options.create_guests)
        self._schedule_ids = [str(s) for s in self.options.schedule_ids]
        self._duration = timedelta(minutes=self.options.duration_minutes)
        self._catalog = Catalog(
            self._call,
            self._cache,
            schedule_ids=self._schedule_ids,
            duration=self._duration,
            max_advance=timedelta(days=self.options.max_advance_days),
        )
        #: Where cancels are remembered without a gateway (``Runtime.store`` is None).
        self._own_store: Store | None = None

    @property
    def _cancelled(self) -> RememberedBookings:
        """Cancels made here (LibreBooking deletes them), in the gateway's store."""
        store = self.runtime.store
        if store is None:
            store = self._own_store = self._own_store or MemoryStore()
        return RememberedBookings(store, self.name)

    @property
    def clients(self) -> Sequence[Any]:
        return (self._call.client,)

    async def close(self) -> None:
        with contextlib.suppress(GatewayError):  # the session ends by itself after 30 minutes
            await self._auth.sign_out(self._call.client)
        await super().close()

    def health_details(self) -> dict[str, Any]:
        return {"logins": self._auth.logins, "createsUsers": self._users.may_create}

    # ---- restaurants ----------------------------------------------------------------------

    async def list_restaurants(self) -> list[Restaurant]:
        schedules, tables = await asyncio.gather(
            batch_by_key(self._schedule_ids, self._catalog.schedule),
            self._catalog.offered_tables_by_schedule(),
        )
        out = []
        for sid, schedule in zip(self._schedule_ids, schedules, strict=True):
            if isinstance(schedule, GatewayError):
                raise schedule
            if schedule is None:
                continue  # a configured schedule the server does not know
            mine = tables.get(sid, [])
            out.append(
                mapping.to_restaurant(
                    self.name,
                    sid,
                    schedule,
                    mine,
                    profile=self.options.restaurants.get(sid, {}),
                    duration=self._duration,
                    capabilities=self.capabilities,
                    max_advance=slots.advance_limit(mine, self._catalog.max_advance),
                )
            )
        return out

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        self._catalog.check(restaurant_id)
        return mapping.to_opening_hours(await self._catalog.schedule(restaurant_id))

    async def list_tables(self, restaurant_id: str) -> list[Table]:
        """The schedule's resources that seat guests (its ``location`` is the area)."""
        self._catalog.check(restaurant_id)
        return [
            Table(self.name, t.id, t.name, seats=t.seats, area=t.location)
            for t in await self._catalog.tables(restaurant_id)
        ]

    # ---- availability ---------------------------------------------------------------------

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        tz = await self._catalog.zone(restaurant_id)
        offered = await self._catalog.offered_tables(restaurant_id)
        tables = [t for t in offered if t.seats >= party_size]
        if party_size < 1 or not tables:
            return []
        grids = await self._catalog.grids(restaurant_id, day, tz)
        return slots.offered(
            tables, grids, self._duration, self._now(), local_day_bounds(day, tz), party_size, tz
        )

    async def _free_tables(
        self,
        schedule_id: str,
        start: datetime,
        duration: timedelta,
        party_size: int,
        exclude_ref: str | None = None,
    ) -> list[tuple[slots.Table, datetime]]:
        """Tables (smallest first) that can take ``[start, start + duration)`` now; a request
        the restaurant's rules refuse raises (``availability.refuse``)."""
        tz = await self._catalog.zone(schedule_id)
        tables = [t for t in await self._catalog.tables(schedule_id) if t.seats >= party_size]
        schedule = await self._catalog.schedule(schedule_id)
        now = self._now()
        slots.refuse(
            tables,
            mapping.to_opening_hours(schedule),
            timedelta(minutes=mapping.slot_minutes(schedule)),
            start,
            duration,
            now,
            tz,
            upstream=self.name,
            party_size=party_size,
        )
        grids = await self._catalog.grids(schedule_id, start.astimezone(zone(tz)).date(), tz)
        return slots.free_tables(tables, grids, start, duration, now, exclude_ref)

    # ---- bookings: reads -------------------------------------------------------------------

    async def _raw_reservation(self, ref: str) -> RawReservation:
        """The reservation as the server has it now (a read-back: always a request)."""
        if not ref or "/" in ref:
            raise NotFound(f"unknown booking {ref!r}", upstream=self.name)
        body = await self._call.json("GET", f"Reservations/{ref}")
        if not isinstance(body, dict) or not body.get("referenceNumber"):
            raise NotFound(f"unknown booking {ref!r}", upstream=self.name)
        return body  # type: ignore[return-value]

    async def _raw_in_scope(
        self, ref: str, *, fresh: bool = False
    ) -> tuple[RawReservation, str, str]:
        """The reservation, its schedule id and zone; NotFound outside the configured schedules.

        Unless ``fresh``, the booking service's read before a write is handed to this one
        (``tablegraph.prefetch``), so a write reads its booking once before it writes."""
        if fresh:
            raw = await self._raw_reservation(ref)
        else:
            raw = await prefetch.reuse(
                (self.name, "reservation", ref), lambda: self._raw_reservation(ref)
            )
        sid = to_str_id(raw.get("scheduleId")) or ""
        if sid not in self._schedule_ids:
            raise NotFound(f"unknown booking {ref!r}", upstream=self.name)
        return raw, sid, await self._catalog.zone(sid)

    def _to_booking(self, raw: RawReservation, tz: str, areas: dict[str, str]) -> Booking:
        return mapping.to_booking(self.name, raw, tz, account_id=self._auth.user_id, areas=areas)

    async def _booking(self, ref: str, *, fresh: bool = False) -> Booking:
        raw, _, tz = await self._raw_in_scope(ref, fresh=fresh)
        return self._to_booking(raw, tz, await self._catalog.areas())

    async def _list_rows(
        self, schedule_id: str, start: datetime, end: datetime, user_id: str | None = None
    ) -> dict[str, list[RawListItem]]:
        body = await self._call.json(
            "GET", "Reservations/", params=_list_params(schedule_id, start, end, user_id)
        )
        return _grouped(body)

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        tz = await self._catalog.zone(query.restaurant_id)
        areas = await self._catalog.areas()

        def bookings(body: Any) -> tuple[Booking, ...]:
            account = self._auth.user_id  # as of the answer: the call may have logged in
            return tuple(
                mapping.to_list_booking(self.name, items, tz, account_id=account, areas=areas)
                for items in _grouped(body).values()
            )

        # The rows' mapping reads the zone, the account and the areas besides the body: an
        # unchanged answer under the same three is not mapped again (``kit.answers``). The
        # account is the configured user's: before the first login the key says None, and the
        # answer is mapped with the id the login gives, as any later mapping would be.
        listed = await self._call.mapped(
            "Reservations/",
            params=_list_params(query.restaurant_id, query.start, query.end, query.guest_id),
            answers=self.runtime.answers(f"{self.name}.reservation-lists"),
            key=(tz, self._auth.user_id, tuple(sorted(areas.items()))),
            build=bookings,
        )
        out = []
        for booking in listed:
            if not (query.start <= booking.start < query.end):
                continue  # the list's window edges are inclusive and overlap-based
            if query.statuses is not None and booking.status not in query.statuses:
                continue
            out.append(booking)
        if query.statuses is not None and BookingStatus.CANCELLED in query.statuses:
            out += await self._cancelled.between(query.restaurant_id, query.start, query.end)
        return sorted(out, key=lambda b: (b.start, b.native_id))

    async def get_bookings(self, ids: Sequence[str]) -> Batch[Booking]:
        async def one(ref: str) -> Booking | None:
            try:
                return await self._booking(ref)
            except NotFound:
                return await self._cancelled.get(ref)

        return await batch_by_key(ids, one, concurrency=self.options.max_concurrency)

    async def find_booking_by_idempotency_key(
        self, restaurant_id: str, key: str, request: NewBooking
    ) -> Booking | None:
        tz = await self._catalog.zone(restaurant_id)
        start, end = local_day_bounds(request.start.astimezone(zone(tz)).date(), tz)
        for ref, items in (await self._list_rows(restaurant_id, start, end)).items():
            if mapping.marker(items[0].get("description")) == key:
                return await self._booking(ref, fresh=True)
        return None

    # ---- bookings: writes ------------------------------------------------------------------

    async def create_booking(self, request: NewBooking) -> Booking:
        tz = await self._catalog.zone(request.restaurant_id)
        if request.party_size < 1:
            raise InvalidInput("the party size must be at least 1", field=("party_size",))
        start = request.start.astimezone(zone(tz))
        minutes = request.duration_minutes
        duration = timedelta(minutes=minutes) if minutes else self._duration
        candidates = await self._free_tables(
            request.restaurant_id, start, duration, request.party_size
        )
        if not candidates:
            raise SlotUnavailable("no table is free at that time", upstream=self.name)
        g = request.guest
        user = await self._users.ensure(g, tz)
        owner_id = to_str_id(user.get("id")) if user else self._auth.user_id
        # The API account's own user is no guest (its reservations are the title's guest's).
        contact = (
            None if user and owner_id != self._auth.user_id else (g.email or "", g.phone or "")
        )
        title = mapping.title_for(g.first_name, g.last_name, request.party_size)
        notes = (request.notes or "").strip()
        description = mapping.with_marker(notes, request.idempotency_key, contact)
        refused: SlotUnavailable | None = None
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
                created = await self._call.json("POST", "Reservations/", json=body)
            except SlotUnavailable as exc:
                refused = exc  # taken meanwhile: try the next smallest table
                continue
            ref = created.get("referenceNumber") if isinstance(created, dict) else None
            if not ref:
                raise UpstreamBadResponse(
                    f"{self.name} did not return a reference", upstream=self.name
                )
            return await self._booking(str(ref), fresh=True)
        raise refused or SlotUnavailable("no table is free at that time", upstream=self.name)

    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        raw, sid, tz = await self._raw_in_scope(booking_id)
        current = self._to_booking(raw, tz, {})
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
        guest_name = mapping.PARTY.sub("", str(raw.get("title") or "")).strip()
        body = update_body(
            raw,
            tables=[table.id],
            start=start,
            end=end,
            title=f"{guest_name} for {party}".strip(),
            description=str(raw.get("description") or ""),
        )
        await self._update(booking_id, body)
        return await self._booking(booking_id, fresh=True)

    async def _update(self, ref: str, body: dict[str, Any]) -> None:
        answer = await self._call.optional_json(
            "POST", f"Reservations/{ref}", params={"updateScope": "this"}, json=body
        )
        if answer is None:  # a real server's answer for an unknown/deleted reference
            raise NotFound(f"unknown booking {ref!r}", upstream=self.name)

    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        # Read first: DELETE of an unknown reference answers 200 with an empty body.
        try:
            booking = await self._booking(booking_id)
        except NotFound:
            remembered = await self._cancelled.get(booking_id)
            if remembered is not None:
                return remembered
            raise
        if booking.status is BookingStatus.COMPLETED:
            raise InvalidState(
                "a completed booking cannot be cancelled",
                upstream=self.name,
                code="NOT_CANCELLABLE",
            )
        await self._call.optional_json(
            "DELETE", f"Reservations/{booking_id}", params={"updateScope": "this"}
        )
        # The server keeps no reason (and reads nothing back once deleted): the reason lives
        # in the remembered booking's notes, as resOS keeps it ("Cancelled: …").
        cancelled = replace(
            booking,
            status=BookingStatus.CANCELLED,
            provider_status="deleted",
            notes=mapping.with_cancel_reason(booking.notes, reason),
            updated_at=self._now().astimezone(booking.start.tzinfo),
        )
        await self._cancelled.remember(cancelled)
        return cancelled

    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        if update.tags is not None:
            raise NotSupported("LibreBooking reservations have no tags", upstream=self.name)
        if update.status is BookingStatus.CANCELLED:
            return await self.cancel_booking(booking_id, None)
        raw, sid, tz = await self._raw_in_scope(booking_id)
        current = self._to_booking(raw, tz, {})
        if update.notes is not None or update.tables is not None:
            notes = update.notes if update.notes is not None else (current.notes or "")
            tables = list(update.tables) if update.tables else list(current.tables)
            known = {t.id for t in await self._catalog.tables(sid)}
            if update.tables is not None and not set(tables) <= known:
                raise InvalidInput(
                    "unknown table for this restaurant", upstream=self.name, field=("tables",)
                )
            description = raw.get("description")
            marked = mapping.with_marker(
                notes, mapping.marker(description), mapping.contact_of(description)
            )
            body = update_body(
                raw,
                tables=tables,
                start=current.start,
                end=current.end,
                title=str(raw.get("title") or ""),
                description=marked,
            )
            await self._update(booking_id, body)
        if update.status is not None and update.status is not current.status:
            await self._move_status(booking_id, current.status, update.status)
        return await self._booking(booking_id, fresh=True)

    async def _move_status(self, ref: str, now: BookingStatus, to: BookingStatus) -> None:
        path = mapping.STATUS_STEPS.get((now, to))
        if path is None:
            raise InvalidState(
                f"a {now.value} booking cannot become {to.value}",
                upstream=self.name,
                code="INVALID_TRANSITION",
            )
        for step in path:
            await status.step(self._call, ref, step, read=self._raw_reservation)

    # ---- guests ------------------------------------------------------------------------------

    async def get_guests(self, ids: Sequence[str]) -> Batch[Guest]:
        return await self._users.get(ids, read=self._raw_reservation)

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        self._catalog.check(restaurant_id)
        return await self._users.search(search, limit)

    async def upsert_guest(self, request: GuestUpsert) -> Guest:
        tz = await self._catalog.zone(request.restaurant_id)
        if not request.guest.email:
            raise InvalidInput(
                "LibreBooking guests need an e-mail address", field=("guest", "email")
            )
        user = await self._users.ensure(request.guest, tz)
        guest = mapping.to_guest(self.name, user) if user else None
        if guest is None:
            raise NotSupported(
                "the integration account may not create LibreBooking users", upstream=self.name
            )
        return guest


def _list_params(
    schedule_id: str, start: datetime, end: datetime, user_id: str | None
) -> dict[str, Any]:
    return {
        "scheduleId": schedule_id,
        "startDateTime": fmt_input(start.astimezone(UTC)),
        "endDateTime": fmt_input(end.astimezone(UTC)),
        "userId": user_id,
    }


def _grouped(body: Any) -> dict[str, list[RawListItem]]:
    """A list answer's items by reservation (one item per table of a reservation)."""
    rows: dict[str, list[RawListItem]] = {}
    for item in (body or {}).get("reservations") or [] if isinstance(body or {}, dict) else []:
        if isinstance(item, dict) and item.get("referenceNumber"):
            rows.setdefault(str(item["referenceNumber"]), []).append(item)  # type: ignore[arg-type]
    return rows
