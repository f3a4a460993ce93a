"""Soak run: mixed reads and writes on every provider while faults come and go.

    python -m tests.soak --seconds 60 [--workers 16] [--seed 1] [--fault-period 2]

Everything runs in this process on 127.0.0.1 (the four simulators and the gateway, see
tests/stack.py); the run is bounded by ``--seconds``. Workers create bookings (each with its
own idempotency key and guest e-mail), replay some creates, cancel some bookings and read
restaurants, availability and bookings; a chaos task switches one random fault on one random
simulator every ``--fault-period`` seconds. At the end the faults go off, every create whose
outcome the client did not learn is retried with its key (what a client should do), and the
gateway's answers are reconciled against every simulator's own state:

- created:    distinct creates the upstreams hold a booking for
- reported:   creates the gateway answered with a booking
- lost:       reported bookings the upstream does not hold (or holds under another id)
- duplicated: creates the upstream holds more than one booking for
- orphaned:   bookings upstream whose create the client was told failed, or nothing about
- unknown:    creates still answered OUTCOME_UNKNOWN after the retries (the client knows it
  does not know, and holds the key to retry with)
- refused / failed: creates answered with a user error / still failing after the retries
  (mostly resOS' 100-requests-a-minute budget, which the gateway keeps to)

Exit status 1 when lost, duplicated or orphaned is not 0, or any answer was an HTTP 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tablegraph import ids
from tablegraph.settings import UpstreamConfig
from tablegraph.simulators.faults import Fault
from tablegraph.simulators.harness import harness_of
from tablegraph.timeutil import zone
from tests.stack import Stack, breaker_reset_after, start_stack, stop_stack

CREATE = """
mutation($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id status start }
    userErrors { code }
    idempotencyKey
  }
}"""
CANCEL = """
mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } userErrors { code } }
}"""
RESTAURANTS = "{ restaurants(first: 100) { nodes { id upstream timezone } } }"
AVAILABILITY = """
query($ids: [ID!]!, $date: Date!) {
  availability(restaurantIds: $ids, date: $date, partySize: 2) { restaurantId slots { start } }
}"""
BOOKINGS = """
query($id: ID!, $date: Date!) {
  bookings(restaurantId: $id, date: $date, first: 20) { nodes { id status } }
}"""

#: Faults the chaos task picks from (each applies to every API path of one simulator).
CHAOS = [
    Fault("error", status=503, rate=0.3),
    Fault("latency", latency_ms=150, jitter_ms=300),
    Fault("hang", rate=0.1),
    Fault("rate_limit", retry_after_seconds=0.2, count=5),
    Fault("malformed", rate=0.2),
    Fault("truncated", rate=0.3),
    Fault("drop_response", rate=0.3),
    Fault("reset", rate=0.3),
    Fault("expire_credentials", count=1),
]
TIMEOUT_MS = "2500"


@dataclass
class Create:
    key: str
    upstream: str
    variables: dict[str, Any]
    #: The booking id the gateway answered with, once it did.
    booking_id: str | None = None
    #: The final code when the gateway said no (SLOT_UNAVAILABLE...), or None.
    refused: str | None = None
    cancelled: bool = False
    #: The last answer was OUTCOME_UNKNOWN: the client knows it does not know.
    unknown: bool = False


@dataclass
class Ledger:
    creates: dict[str, Create] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)
    http_5xx: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


class Soak:
    def __init__(self, stack: Stack, seed: int) -> None:
        self.stack = stack
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        self.slots: list[tuple[str, str, str]] = []  # (restaurant id, upstream, start)
        self.restaurants: list[dict[str, Any]] = []
        self.serial = 0

    async def call(self, query: str, variables: dict[str, Any], op: str) -> dict[str, Any]:
        started = time.monotonic()
        response = await self.stack.post(
            query, variables, headers={"X-Request-Timeout-Ms": TIMEOUT_MS}
        )
        self.ledger.latencies.append(time.monotonic() - started)
        self.ledger.operations[op] += 1
        if response.status_code >= 500:
            self.ledger.http_5xx += 1
        body: dict[str, Any] = response.json()
        for error in body.get("errors", []):
            self.ledger.answers[f"error {error.get('extensions', {}).get('code')}"] += 1
        return body

    # ---- setup ------------------------------------------------------------------------------

    async def discover(self) -> None:
        body = await self.call(RESTAURANTS, {}, "restaurants")
        self.restaurants = body["data"]["restaurants"]["nodes"]
        for node in self.restaurants:
            today = datetime.now(zone(node["timezone"])).date()
            for offset in range(2, 16):
                day = (today + timedelta(days=offset)).isoformat()
                found = await self.call(AVAILABILITY, {"ids": [node["id"]], "date": day}, "slots")
                for slot in (found["data"]["availability"][0]["slots"] or [])[:6]:
                    self.slots.append((node["id"], node["upstream"], slot["start"]))

    # ---- workers ----------------------------------------------------------------------------

    async def worker(self, until: float) -> None:
        while time.monotonic() < until:
            roll = self.rng.random()
            if roll < 0.35:
                await self.create()
            elif roll < 0.45:
                await self.replay()
            elif roll < 0.55:
                await self.cancel()
            else:
                await self.read()

    async def create(self) -> None:
        restaurant_id, upstream, start = self.rng.choice(self.slots)
        self.serial += 1
        key = f"soak-{self.serial}"
        entry = Create(
            key,
            upstream,
            {
                "input": {
                    "restaurantId": restaurant_id,
                    "start": start,
                    "partySize": 2,
                    "guest": {
                        "firstName": "Soak",
                        "lastName": f"Guest{self.serial}",
                        "email": f"{key}@soak.example.com",
                        "phone": f"+4791{self.serial:06d}",
                    },
                    "idempotencyKey": key,
                }
            },
        )
        self.ledger.creates[key] = entry
        await self.send_create(entry, "create")

    async def send_create(self, entry: Create, op: str) -> None:
        body = await self.call(CREATE, entry.variables, op)
        payload = (body.get("data") or {}).get("createBooking")
        if payload is None:
            return  # an upstream error: outcome not learned
        booking = payload["booking"]
        codes = [e["code"] for e in payload["userErrors"]]
        entry.unknown = False
        if booking is not None:
            if entry.booking_id is not None and entry.booking_id != booking["id"]:
                self.ledger.answers["replay answered another booking"] += 1
            entry.booking_id = booking["id"]
            self.ledger.answers["booked"] += 1
        elif codes and codes != ["OUTCOME_UNKNOWN"]:
            entry.refused = codes[0]
            self.ledger.answers[f"refused {codes[0]}"] += 1
        else:
            entry.unknown = True
            self.ledger.answers["outcome unknown"] += 1

    async def replay(self) -> None:
        done = [c for c in self.ledger.creates.values() if c.booking_id]
        if done:
            await self.send_create(self.rng.choice(done), "replay")

    async def cancel(self) -> None:
        live = [c for c in self.ledger.creates.values() if c.booking_id and not c.cancelled]
        if not live:
            return
        entry = self.rng.choice(live)
        body = await self.call(
            CANCEL,
            {
                "input": {
                    "bookingId": entry.booking_id,
                    "idempotencyKey": f"cancel-{entry.key}",
                }
            },
            "cancel",
        )
        payload = (body.get("data") or {}).get("cancelBooking")
        if payload and payload["booking"] and payload["booking"]["status"] == "CANCELLED":
            entry.cancelled = True

    async def read(self) -> None:
        node = self.rng.choice(self.restaurants)
        day = (
            datetime.now(zone(node["timezone"])).date() + timedelta(days=self.rng.randint(2, 15))
        ).isoformat()
        which = self.rng.random()
        if which < 0.2:
            await self.call(RESTAURANTS, {}, "restaurants")
        elif which < 0.7:
            picks = self.rng.sample(self.restaurants, k=min(4, len(self.restaurants)))
            await self.call(AVAILABILITY, {"ids": [p["id"] for p in picks], "date": day}, "slots")
        else:
            await self.call(BOOKINGS, {"id": node["id"], "date": day}, "bookings")

    # ---- chaos ------------------------------------------------------------------------------

    async def chaos(self, until: float, period: float) -> None:
        sims = list(self.stack.kinds.values())
        while time.monotonic() < until:
            for sim in sims:
                sim.faults.clear()
            if self.rng.random() < 0.8:
                sim = self.rng.choice(sims)
                fault = self.rng.choice(CHAOS)
                try:
                    sim.faults.add(Fault(**vars(fault)))
                    self.ledger.operations[f"fault {sim.kind} {fault.kind}"] += 1
                except ValueError:
                    pass  # credentials that never expire
            await asyncio.sleep(min(period, max(0.0, until - time.monotonic())))
        for sim in sims:
            sim.faults.clear()

    # ---- the end ----------------------------------------------------------------------------

    async def settle(self, rounds: int = 5) -> None:
        """Faults are off: retry every create whose outcome the client never learned, as a
        client would (a few rounds, a breaker period apart, until each has a final answer)."""
        for _ in range(rounds):
            open_ = [
                c
                for c in self.ledger.creates.values()
                if c.booking_id is None and c.refused is None
            ]
            if not open_:
                return
            await asyncio.gather(*(self.send_create(entry, "retry") for entry in open_))
            await asyncio.sleep(1.0)

    def reconcile(self) -> dict[str, int]:
        by_key: dict[str, list[str]] = {}
        for sim in self.stack.kinds.values():
            for stored in sim.stored():
                email = (stored.guest_email or "").lower()
                if email.endswith("@soak.example.com"):
                    by_key.setdefault(email.split("@")[0], []).append(stored.id)
        reported = [c for c in self.ledger.creates.values() if c.booking_id]
        lost = 0
        for c in reported:
            native = ids.decode(c.booking_id or "", "Booking").native_id
            held = by_key.get(c.key, [])
            matches = [s for s in held if native == s or native.endswith("/" + s)]
            # LibreBooking deletes a cancelled booking; only a live one can be lost.
            if not matches and not c.cancelled:
                lost += 1
        told = {c.key for c in reported}
        for key, held in sorted(by_key.items()):
            if len(held) > 1:
                print(f"duplicated: {key} on {self.ledger.creates[key].upstream}: {held}")
        for key in sorted(set(by_key) - told):
            entry = self.ledger.creates[key]
            if not entry.unknown:
                print(f"orphaned: {key} on {entry.upstream} (refused: {entry.refused})")
        return {
            "creates attempted": len(self.ledger.creates),
            "created": len(by_key),
            "reported": len(reported),
            "refused": sum(1 for c in self.ledger.creates.values() if c.refused),
            "failed": sum(
                1
                for c in self.ledger.creates.values()
                if c.booking_id is None and c.refused is None
            ),
            "lost": lost,
            "duplicated": sum(1 for held in by_key.values() if len(held) > 1),
            "unknown": sum(1 for c in self.ledger.creates.values() if c.unknown),
            "orphaned": sum(
                1 for key in by_key if key not in told and not self.ledger.creates[key].unknown
            ),
        }


def _soak_config(config: UpstreamConfig) -> UpstreamConfig:
    """A short breaker period; resOS' request budget as high as its simulator's (the soak is
    about faults, not about queueing for resOS' 100 requests a minute)."""
    config = breaker_reset_after(1.0)(config)
    lifted = harness_of(config.kind).unlimited_upstream
    return replace(config, options={**config.options, **lifted})


async def run(seconds: float, workers: int, seed: int, period: float) -> dict[str, int]:
    """The figures of one run (printed too); bad ones are in ``problems(figures)``."""
    stack, runners = await start_stack(seed, upstream=_soak_config)
    try:
        soak = Soak(stack, seed)
        await soak.discover()
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            soak.chaos(until, period), *(soak.worker(until) for _ in range(workers))
        )
        await soak.settle()
        figures = soak.reconcile()
        elapsed = time.monotonic() - started
    finally:
        await stop_stack(stack, runners)
    ledger = soak.ledger
    calls = sum(n for op, n in ledger.operations.items() if not op.startswith("fault"))
    latencies = sorted(ledger.latencies) or [0.0]
    print(
        f"soak: {elapsed:.0f} s, {workers} workers, seed {seed}, "
        f"{calls} GraphQL calls ({calls / elapsed:.0f}/s), "
        f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, HTTP 5xx {ledger.http_5xx}"
    )
    faults = sum(n for op, n in ledger.operations.items() if op.startswith("fault"))
    print(f"faults switched on: {faults}")
    print("answers: " + ", ".join(f"{k} {v}" for k, v in sorted(ledger.answers.items())))
    print(" | ".join(f"{name} {value}" for name, value in figures.items()))
    figures["http 5xx"] = ledger.http_5xx
    return figures


def problems(figures: dict[str, int]) -> dict[str, int]:
    return {k: figures[k] for k in ("lost", "duplicated", "orphaned", "http 5xx") if figures[k]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-period", type=float, default=2.0)
    args = parser.parse_args()
    figures = asyncio.run(run(args.seconds, args.workers, args.seed, args.fault_period))
    return 1 if problems(figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
