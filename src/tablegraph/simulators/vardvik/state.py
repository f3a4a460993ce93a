"""The simulator's state: restaurants, guests, reservations, keys, limits, idempotency, hooks.

Tests reach it as ``app[VARDVIK_STATE]`` and use the public methods to inspect and to change
state directly (``add_reservation`` bypasses every availability and policy check).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tablegraph.simulators.common import Clock
from tablegraph.simulators.vardvik import availability
from tablegraph.simulators.vardvik.model import (
    ApiKey,
    Guest,
    Location,
    Reservation,
    Restaurant,
    Table,
    WaitlistEntry,
    Webhook,
    iso,
    not_found,
)
from tablegraph.simulators.vardvik.webhooks import WebhookDispatcher
from tablegraph.timeutil import zone

IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass
class IdempotencyRecord:
    fingerprint: str
    status: int
    body: bytes
    created_at: datetime


@dataclass
class Fault:
    """Answer the next ``remaining`` matching API requests with ``status``/``code``.

    ``after=True`` runs the request first and then fails it: the write happened but the
    caller never learns so (a lost response, for outcome-unknown reconciliation tests).
    """

    status: int
    code: str
    remaining: int
    match: str | None = None  # substring of "METHOD /path"
    after: bool = False


class VardvikState:
    def __init__(self, clock: Clock, seed: int = 0, rate_limit_per_minute: int = 60) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.rate_limit_per_minute = rate_limit_per_minute
        self.restaurants: dict[str, Restaurant] = {}
        self.guests: dict[str, Guest] = {}
        self.reservations: dict[str, Reservation] = {}
        self.waitlist: dict[str, WaitlistEntry] = {}
        self.api_keys: dict[str, ApiKey] = {}
        self.webhooks: list[Webhook] = []
        self.faults: list[Fault] = []
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.dispatcher = WebhookDispatcher(clock)
        #: Requests by ``"METHOD /route"`` (the app's ``REQUEST_COUNTS``, set by create_app).
        self.request_counts: Counter[str] = Counter()
        self._refs: dict[str, str] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._windows: dict[str, tuple[int, int]] = {}

    # ---- basics ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self, prefix: str, digits: int, taken: Any) -> str:
        while True:
            candidate = f"{prefix}{self.rng.getrandbits(4 * digits):0{digits}x}"
            if candidate not in taken:
                return candidate

    def restaurant(self, restaurant_id: str) -> Restaurant:
        try:
            return self.restaurants[restaurant_id]
        except KeyError:
            raise not_found("restaurant") from None

    def location(self, restaurant_id: str, location_id: str) -> Location:
        try:
            return self.restaurant(restaurant_id).locations[location_id]
        except KeyError:
            raise not_found("location") from None

    def local_today(self, tz: str) -> date:
        return self.now().astimezone(zone(tz)).date()

    # ---- keys, limits, idempotency --------------------------------------------------------

    def add_api_key(self, key: ApiKey) -> None:
        self.api_keys[key.key] = key

    def hit_rate_limit(self, key: str) -> int | None:
        """Count one request in the key's fixed one-minute window; seconds to wait if over."""
        now = self.now().timestamp()
        window = int(now // 60)
        current, count = self._windows.get(key, (window, 0))
        if current != window:
            count = 0
        count += 1
        self._windows[key] = (window, count)
        if count > self.rate_limit_per_minute:
            return max(1, math.ceil((window + 1) * 60 - now))
        return None

    def idempotency_lock(self, api_key: str, key: str) -> asyncio.Lock:
        return self._locks.setdefault((api_key, key), asyncio.Lock())

    def idempotency_record(self, api_key: str, key: str) -> IdempotencyRecord | None:
        record = self.idempotency.get((api_key, key))
        if record is not None and self.now() - record.created_at > IDEMPOTENCY_TTL:
            del self.idempotency[(api_key, key)]
            return None
        return record

    def inject_fault(
        self,
        status: int,
        code: str = "internal_error",
        count: int = 1,
        match: str | None = None,
        *,
        after: bool = False,
    ) -> None:
        self.faults.append(Fault(status, code, count, match, after))

    def take_fault(self, request_line: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and (fault.match is None or fault.match in request_line):
                fault.remaining -= 1
                return fault
        return None

    # ---- guests ---------------------------------------------------------------------------

    def guests_of(self, restaurant_id: str, email: str | None = None) -> list[Guest]:
        out = [g for g in self.guests.values() if g.restaurant_id == restaurant_id]
        if email is not None:
            out = [g for g in out if g.email is not None and g.email.lower() == email.lower()]
        return out

    def upsert_guest(
        self,
        restaurant_id: str,
        first_name: str,
        last_name: str,
        email: str,
        phone: str | None = None,
    ) -> tuple[Guest, bool]:
        """The restaurant's guest with this e-mail, updated, or a new one; ``(guest, created)``."""
        found = self.guests_of(restaurant_id, email)
        now = self.now()
        if found:
            guest = found[0]
            guest.first_name, guest.last_name = first_name, last_name
            if phone is not None:
                guest.phone = phone
            return guest, False
        guest = Guest(
            id=self.new_id("gst_", 8, self.guests),
            restaurant_id=restaurant_id,
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            created_at=now,
        )
        self.guests[guest.id] = guest
        return guest, True

    def visit_count(self, guest_id: str) -> int:
        return sum(
            1
            for r in self.reservations.values()
            if r.guest_id == guest_id and r.status == "completed"
        )

    # ---- reservations ---------------------------------------------------------------------

    def location_bookings(self, location_id: str) -> list[Reservation]:
        return [r for r in self.reservations.values() if r.location_id == location_id]

    def find_reservation(self, id_or_reference: str) -> Reservation | None:
        rid = self._refs.get(id_or_reference, id_or_reference)
        return self.reservations.get(rid)

    def reservation_count(self, restaurant_id: str | None = None) -> int:
        return sum(
            1
            for r in self.reservations.values()
            if restaurant_id is None or r.restaurant_id == restaurant_id
        )

    def insert_reservation(
        self,
        loc: Location,
        restaurant_id: str,
        start: datetime,
        duration: int,
        party: int,
        table_ids: list[str],
        guest: Guest,
        *,
        status: str = "confirmed",
        special_requests: str | None = None,
        source: str = "api",
        created_at: datetime | None = None,
    ) -> Reservation:
        window = availability.window_for(loc, start, duration)
        service_date = (
            window.service_date if window else start.astimezone(zone(loc.timezone)).date()
        )
        created = created_at or self.now()
        res = Reservation(
            id=self.new_id("res_", 8, self.reservations),
            public_reference=self.new_id("rr_", 6, self._refs),
            restaurant_id=restaurant_id,
            location_id=loc.id,
            status=status,
            start=start,
            end=start + timedelta(minutes=duration),
            party_size=party,
            table_ids=list(table_ids),
            guest_id=guest.id,
            service_date=service_date,
            special_requests=special_requests,
            source=source,
            created_at=created,
            updated_at=created,
        )
        self.reservations[res.id] = res
        self._refs[res.public_reference] = res.id
        return res

    def add_reservation(
        self,
        restaurant_id: str,
        location_id: str,
        start: datetime,
        party_size: int,
        *,
        email: str = "walk.in@example.com",
        first_name: str = "Walk",
        last_name: str = "In",
        status: str = "confirmed",
        duration_minutes: int | None = None,
        table_ids: list[str] | None = None,
        source: str = "staff",
    ) -> Reservation:
        """Book directly, bypassing availability and policy (free tables if any, else the
        smallest fitting one)."""
        rest = self.restaurant(restaurant_id)
        loc = self.location(restaurant_id, location_id)
        duration = duration_minutes or rest.policy.default_duration_minutes
        if table_ids is None:
            busy = availability.busy_tables(
                self.location_bookings(loc.id),
                start,
                start + timedelta(minutes=duration),
                loc.buffer_minutes,
            )
            table_ids = (
                availability.assign(loc, party_size, busy)
                or availability.assign(loc, party_size, set())
                or []
            )
        guest, _ = self.upsert_guest(restaurant_id, first_name, last_name, email)
        return self.insert_reservation(
            loc,
            restaurant_id,
            start,
            duration,
            party_size,
            table_ids,
            guest,
            status=status,
            source=source,
        )

    def reservation_json(self, res: Reservation) -> dict[str, Any]:
        return res.to_json(self.guests[res.guest_id])

    # ---- test control ---------------------------------------------------------------------

    def set_feature(self, restaurant_id: str, name: str, value: bool) -> None:
        self.restaurant(restaurant_id).features[name] = value

    def set_tables(self, location_id: str, tables: list[tuple[str, int, str]]) -> None:
        """Replace a location's tables with ``(id, seats, area)`` rows, in adjacency order."""
        for rest in self.restaurants.values():
            if location_id in rest.locations:
                rest.locations[location_id].tables = [Table(*row) for row in tables]
                return
        raise KeyError(location_id)

    def add_webhook(
        self, restaurant_id: str, url: str, secret: str, events: list[str] | None = None
    ) -> Webhook:
        hook = Webhook(
            id=f"wh_{len(self.webhooks) + 1}",
            restaurant_id=restaurant_id,
            url=url,
            secret=secret,
            events=frozenset(events or ["*"]),
        )
        self.webhooks.append(hook)
        return hook

    def hooks_for(self, restaurant_id: str) -> list[Webhook]:
        return [h for h in self.webhooks if h.restaurant_id == restaurant_id]

    def notify(self, event_type: str, res: Reservation) -> None:
        """Fire a reservation event at the restaurant's subscribed webhooks (if enabled)."""
        if not self.restaurant(res.restaurant_id).features.get("webhooks", False):
            return
        guest = self.guests[res.guest_id]
        data = {
            "reservationId": res.id,
            "publicReference": res.public_reference,
            "status": res.status,
            "startTime": iso(res.start),
            "endTime": iso(res.end),
            "partySize": res.party_size,
            "tableIds": list(res.table_ids),
            "guest": {"firstName": guest.first_name, "lastName": guest.last_name},
        }
        self.emit(event_type, res.restaurant_id, data)

    def emit(self, event_type: str, restaurant_id: str, data: dict[str, Any]) -> None:
        event = self.dispatcher.event(event_type, restaurant_id, data)
        self.dispatcher.emit(self.hooks_for(restaurant_id), event)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        return self.dispatcher.deliveries

    async def drain_webhooks(self) -> None:
        await self.dispatcher.drain()
