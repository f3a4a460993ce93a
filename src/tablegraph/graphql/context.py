"""The per-request context: the gateway, fresh DataLoaders, and errors to report beside data.

DataLoaders are built per request: aiodataloader binds the event loop at construction, and a
shared loader cache would leak data between users.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader
from graphql import GraphQLError
from strawberry.types import Info as _Info

from tablegraph.auth.identity import NOBODY, Identity
from tablegraph.errors import GatewayError
from tablegraph.gateway import Gateway
from tablegraph.model import Booking, Guest, Restaurant

K = tuple[str, str]  # (upstream, native id)
T = TypeVar("T")
_NONE: Any = object()


class UpstreamLoader(DataLoader[K, T | None], Generic[T]):
    """Groups keys by upstream and makes one batch call per upstream."""

    def __init__(
        self, fetch: Callable[[str, list[str]], Awaitable[Sequence[Any]]], *, naive: bool = False
    ) -> None:
        # naive (the benchmark's baseline): one fetch per key, nothing kept for the request.
        super().__init__(max_batch_size=100, batch=not naive, cache=not naive)
        self._fetch = fetch
        self._primed: dict[K, T | None] = {}

    # aiodataloader fails a key whose entry is an Exception; its annotations do not say so.
    async def batch_load_fn(self, keys: list[K]) -> list[T | Exception | None]:  # type: ignore[override]
        by_upstream: dict[str, list[str]] = defaultdict(list)
        for upstream, native in keys:
            if native not in by_upstream[upstream]:
                by_upstream[upstream].append(native)
        # Upstreams are independent: fetch them at once, so a batch costs its slowest upstream,
        # not the sum of them all.
        batches = await asyncio.gather(*(self._fetch_one(u, n) for u, n in by_upstream.items()))
        found: dict[K, Any] = {}
        for (upstream, natives), results in zip(by_upstream.items(), batches, strict=True):
            for native, result in zip(natives, results, strict=True):
                found[(upstream, native)] = result
        return [found.get(k) for k in keys]

    def loaded(self, key: K) -> tuple[bool, T | None]:
        """``(True, value)`` when ``key`` is already loaded for this request (primed or
        fetched), so a resolver can answer at once instead of awaiting (no task per list item)."""
        primed = self._primed.get(key, _NONE)
        if primed is not _NONE:
            return (False, None) if isinstance(primed, Exception) else (True, primed)
        future = self._cache.get(key) if self.cache else None
        if future is None or not future.done() or future.cancelled() or future.exception():
            return False, None
        return True, future.result()

    # Priming keeps the value as it is: aiodataloader makes a resolved future of every primed
    # value, and a list of 59 bookings primes 118 keys of which few are ever loaded (#16).
    # A key's future is made when ``load`` asks for it.

    def prime(self, key: K, value: T | None) -> UpstreamLoader[T]:
        """As ``DataLoader.prime``: no change when ``key`` is already cached."""
        if self.cache and key not in self._cache:
            self._primed.setdefault(key, value)
        return self

    def load(self, key: K) -> asyncio.Future[T | None]:
        primed = self._primed.pop(key, _NONE)
        if primed is not _NONE:
            super().prime(key, primed)
        return super().load(key)

    def clear(self, key: K) -> UpstreamLoader[T]:
        self._primed.pop(key, None)
        return super().clear(key)

    def clear_all(self) -> UpstreamLoader[T]:
        self._primed.clear()
        return super().clear_all()

    async def _fetch_one(self, upstream: str, natives: list[str]) -> Sequence[Any]:
        try:
            return await self._fetch(upstream, natives)
        except GatewayError as exc:
            return [exc] * len(natives)


def _prime_guest(guests: UpstreamLoader[Guest], booking: Booking) -> None:
    """The guest a booking embeds, primed into the request's guest loader."""
    if booking.guest is not None:
        guests.prime((booking.upstream, booking.guest.native_id), booking.guest)


@dataclass
class Context:
    gateway: Gateway
    #: Who is calling: scopes, restaurants, and the id that scopes idempotency keys.
    identity: Identity = NOBODY
    client_id: str = ""
    #: Whose idempotency keys a write runs under: the client id, except for anonymous callers,
    #: who share one identity, so each remote address keeps its own keys (one widget user
    #: cannot replay another's key and receive their booking and its management token).
    idempotency_scope: str = ""
    #: Gated nested fields this request already reported FORBIDDEN for (one error each, not
    #: one per list item).
    refused: set[str] = field(default_factory=set)
    #: Errors to add to the response beside the data (an upstream that failed in a fan-out).
    extra_errors: list[GraphQLError] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    #: graphql-transport-ws ``connection_init`` payload (Strawberry sets it).
    connection_params: dict[str, Any] | None = None
    #: The id of the last event a subscription yielded (SSE ``id:``), or the client's
    #: ``Last-Event-ID`` to resume after.
    last_event_id: str | None = None
    #: The WebSocket a subscription runs on (closed with 4401 for missing credentials), and
    #: the headers of its upgrade request (credentials a non-browser client sent there).
    websocket: Any = None
    upgrade_headers: dict[str, str] = field(default_factory=dict)
    #: The operation's cost (``tablegraph.graphql.cost``), once computed.
    cost: int | None = None
    #: Takes the cost from the caller's budget before the operation runs; raises to refuse
    #: (the HTTP layer's per-client rate limiter). The refusal is kept in ``cost_refusal``.
    charge: Callable[[int], None] | None = None
    cost_refusal: Exception | None = None
    #: Field names asked under each field (``selections.asked``), per request.
    asked: dict[tuple[Any, ...], frozenset[str]] = field(default_factory=dict)
    #: GraphQL objects built once per request and shared by every field that returns them
    #: (a day's bookings all name one restaurant).
    views: dict[Hashable, Any] = field(default_factory=dict)
    _once: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict, init=False)
    _late: list[tuple[list[str | int], Callable[[], Any]]] = field(default_factory=list, init=False)
    restaurants: UpstreamLoader[Restaurant] = field(init=False)
    bookings: UpstreamLoader[Booking] = field(init=False)
    guests: UpstreamLoader[Guest] = field(init=False)

    def __post_init__(self) -> None:
        self.client_id = self.client_id or self.identity.client_id
        self.idempotency_scope = self.idempotency_scope or self.client_id
        gw = self.gateway
        # The loaders' functions must not refer to this context: a context → loader →
        # function → context cycle kept every request's bookings, guests and views alive
        # until the cyclic garbage collector ran, which then spent ~10% of the CPU (#16).
        naive = gw.settings.naive

        async def restaurants(upstream: str, ids: list[str]) -> list[Any]:
            known = {r.native_id: r for r in await gw.restaurants_of(upstream)}
            return [known.get(i) for i in ids]

        async def guests(upstream: str, ids: list[str]) -> list[Any]:
            return await gw.guest_batch(upstream, ids)

        guest_loader: UpstreamLoader[Guest] = UpstreamLoader(guests, naive=naive)

        async def bookings(upstream: str, ids: list[str]) -> list[Any]:
            results = await gw.booking_batch(upstream, ids)
            for b in results:
                if isinstance(b, Booking):
                    _prime_guest(guest_loader, b)
            return list(results)

        self.restaurants = UpstreamLoader(restaurants, naive=naive)
        self.bookings = UpstreamLoader(bookings, naive=naive)
        self.guests = guest_loader

    async def once(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """``load()``'s result, fetched once per request for ``key`` however many fields ask
        (a document may ask for the same upstream list under every item of another list)."""
        if key not in self._once:
            task = self._once[key] = asyncio.ensure_future(load())
            # Every asker may have given up (its deadline): the failure is theirs, not a
            # "never retrieved" error in the log.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        # A field cancelled by its deadline must not cancel the load the others wait for.
        result: T = await asyncio.shield(self._once[key])
        return result

    def read_late(self, info: Info, read: Callable[[], T]) -> T:
        """``read()`` now, and again into the response once the whole operation has run
        (``settle_late``). Sibling fields resolve concurrently, so a counter read while they
        run would miss what this very request does — the login or the calls of the
        ``restaurants`` beside ``upstreams { details }`` — and lag one response."""
        self._late.append((info.path.as_list(), read))
        return read()

    def settle_late(self, data: dict[str, Any] | None) -> None:
        """Write every ``read_late`` value again into ``data``, the executed operation's."""
        for path, read in self._late:
            node: Any = data
            for key in path[:-1]:
                if isinstance(node, dict):
                    node = node.get(key)
                elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                    node = node[key]
                else:
                    node = None
            if isinstance(node, dict) and path[-1] in node:  # not nulled by an error
                node[path[-1]] = read()

    def prime_booking(self, booking: Booking) -> None:
        """Cache ``booking`` for this request, replacing what a write has made stale."""
        key = (booking.upstream, booking.native_id)
        self.bookings.clear(key).prime(key, booking)
        self.prime_guest(booking)

    def prime_guest(self, booking: Booking) -> None:
        _prime_guest(self.guests, booking)

    def prime_restaurants(self, restaurants: Sequence[Restaurant]) -> None:
        for r in restaurants:
            self.restaurants.prime((r.upstream, r.native_id), r)

    def report(
        self, error: GatewayError, info: Info | None, *, upstream: str | None = None
    ) -> None:
        """Record an error at the current path while the field still returns partial data."""
        ext = dict(error.extensions)
        if upstream and "upstream" not in ext:
            ext["upstream"] = upstream
        path = info.path.as_list() if info is not None else None
        self.extra_errors.append(GraphQLError(error.message, path=path, extensions=ext))


Info = _Info[Context, None]
