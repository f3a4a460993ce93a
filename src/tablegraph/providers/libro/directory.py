"""Which restaurants a Libro upstream exposes, and at which restaurant an id lives.

Libro addresses restaurants by ``code`` but names them by numeric id in bookings and
webhooks, and wants a ``restaurant-code`` on every booking or person GET. The directory keeps
both answers in gateway caches (``Provider._cache``): the restaurant list for
``reference_ttl_seconds``, and "id → code" for a day (Libro ids never move). An id whose
restaurant is not known is looked for at each exposed restaurant in turn.
"""

from __future__ import annotations

from typing import Literal

from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import NotFound, UpstreamAuthError
from tablegraph.model import Capability, Restaurant
from tablegraph.providers.libro.api import RESTAURANTS, LibroApi, readable
from tablegraph.providers.libro.jsonapi import resources
from tablegraph.providers.libro.mapping import to_restaurant
from tablegraph.providers.libro.payloads import Document, Resource

#: A restaurant as the model has it and as Libro sent it (service scopes, for slots).
Entry = tuple[Restaurant, Resource]
#: What an id names: a restaurant's numeric id, a booking or a person.
Kind = Literal["restaurant", "booking", "person"]


class Directory:
    def __init__(
        self,
        api: LibroApi,
        *,
        capabilities: frozenset[Capability],
        codes: tuple[str, ...],
        restaurants: AsyncTTLCache[dict[str, Entry]],
        lookups: AsyncTTLCache[Entry],
        homes: AsyncTTLCache[str],
    ) -> None:
        self._api = api
        self._conn = api.connections
        self._upstream = api.upstream
        self._capabilities = capabilities
        #: The ``restaurant_codes`` option: what the partner account exposes (empty: all).
        self._codes = codes
        self._restaurants, self._lookups, self._homes = restaurants, lookups, homes

    # ---- restaurants ----------------------------------------------------------------------

    async def all(self) -> dict[str, Entry]:
        """Every exposed restaurant by code."""
        return await self._restaurants.get_or_load("all", self._load)

    async def _load(self) -> dict[str, Entry]:
        await self._conn.ensure_loaded()
        found: dict[str, Entry] = {}
        if self._conn.use_client_credentials:
            rows, _ = await self._api.rows(self._api.caller(self._conn.default), RESTAURANTS, {})
            for entry in map(self._entry, rows):
                if not self._codes or entry[0].native_id in self._codes:
                    found[entry[0].native_id] = entry
        for account in self._conn.connected():
            assert account.client is not None
            try:
                rows, _ = await self._api.rows(self._api.caller(account.client), RESTAURANTS, {})
            except UpstreamAuthError:
                continue  # that account alone is affected; health_details says so
            for entry in map(self._entry, rows):
                if entry[0].native_id in account.restaurant_codes:
                    found[entry[0].native_id] = entry
        return found

    def _entry(self, res: Resource) -> Entry:
        restaurant = readable(
            "a restaurant",
            self._upstream,
            lambda: to_restaurant(self._upstream, res, self._capabilities),
        )
        if restaurant.reference:
            self._homes.set(("restaurant", restaurant.reference), restaurant.native_id)
        return restaurant, res

    async def entry(self, code: str) -> Entry:
        """One restaurant by code, or ``NotFound`` for a code this upstream does not expose."""
        known = (await self.all()).get(code)
        if known is not None:
            return known
        covered = any(code in a.restaurant_codes for a in self._conn.connected())
        if self._codes and code not in self._codes and not covered:
            raise NotFound("no such Libro restaurant", upstream=self._upstream)
        return await self._lookups.get_or_load(code, lambda: self._look_up(code))

    async def _look_up(self, code: str) -> Entry:
        caller = await self._api.route(code)
        doc = await self._api.send(caller, "GET", RESTAURANTS, params={"restaurant-code": code})
        items = resources(doc)
        if not items:
            raise NotFound("no such Libro restaurant", upstream=self._upstream)
        return self._entry(items[0])

    def invalidate(self) -> None:
        """A connected account changed what is exposed."""
        self._restaurants.invalidate()
        self._lookups.invalidate()

    # ---- where ids live -------------------------------------------------------------------

    def home(self, kind: Kind, ident: str) -> str | None:
        """The code of the restaurant ``ident`` lives at, if known (no call)."""
        return self._homes.get((kind, ident))

    def remember(self, kind: Kind, ident: str, code: str) -> None:
        if self._homes.get((kind, ident)) is None:
            self._homes.set((kind, ident), code)

    async def code_of(self, reference: str) -> str | None:
        """The code of the restaurant with Libro's numeric id ``reference``."""
        if self.home("restaurant", reference) is None:
            await self.all()
        return self.home("restaurant", reference)

    async def get_by_id(self, kind: Kind, path: str, ident: str) -> tuple[Document, str]:
        """GET a booking or person with its ``restaurant-code``; when its restaurant is not
        known yet, ask each exposed restaurant in turn (a 404 means "not this one")."""
        known = self.home(kind, ident)
        codes = [known] if known else list(await self.all())
        auth_error: UpstreamAuthError | None = None
        for code in codes:
            try:
                caller = await self._api.route(code)
                doc = await self._api.send(caller, "GET", path, params={"restaurant-code": code})
            except NotFound:
                continue
            except UpstreamAuthError as exc:  # one disconnected account hides only its own
                auth_error = exc
                continue
            self._homes.set((kind, ident), code)
            return doc, code
        if auth_error is not None:
            raise auth_error
        raise NotFound("not found at Libro", upstream=self._upstream)
