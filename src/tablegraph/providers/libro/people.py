"""Libro people by id: a page of a restaurant's people where a batch asks many of them.

Libro has no people-by-ids call, and its booking list side-loads no people. But
``GET /restricted/people`` lists a restaurant's people, newest id first, up to 250 a page
(``people/_list.md``). When a batch asks ``LIST_FROM`` or more ids that the directory knows
live at one restaurant (it learns that from their bookings), that list is read page by page
until every id is found, a page reaches ids older than the oldest one asked, the list ends,
or ``MAX_PAGES`` pages were read; what is left is read one id at a time, as is every id of a
smaller group or of an unknown restaurant. A page's people are mapped once while Libro
answers it with the same bytes (``kit.answers``: every dashboard of a restaurant asks the same
page).

The first page does not depend on the booking list whose guests a batch asks, so a query
that will ask them has it read beside the list (``read_ahead``, ``tablegraph.wanted``): the
guests cost no round trip of their own. Only where the same listing named ``LIST_FROM``
people or more the last time it was read, so that the batch reads a page.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from functools import partial
from types import MappingProxyType
from typing import Any, NamedTuple

from cachetools import LRUCache

from tablegraph import wanted
from tablegraph.errors import GatewayError
from tablegraph.model import Booking, Guest
from tablegraph.providers.kit import Batch, batch_by_key
from tablegraph.providers.kit.answers import MappedAnswers
from tablegraph.providers.libro.api import PEOPLE, LibroApi, readable
from tablegraph.providers.libro.directory import Directory
from tablegraph.providers.libro.jsonapi import resources
from tablegraph.providers.libro.mapping import to_guest

#: From this many ids at one restaurant, a people page beats one request per person.
LIST_FROM = 4
#: Pages of a restaurant's people read for one batch at most (``page_size``, ≤ 250, each).
MAX_PAGES = 2
#: Listings whose last count of people is kept (``read_ahead``).
LISTINGS_KEPT = 4096


class PeoplePage(NamedTuple):
    """A page of people, mapped: each person by id, the oldest id, and its row count."""

    people: Mapping[str, Guest]
    oldest: int | None
    rows: int


class People:
    def __init__(
        self,
        api: LibroApi,
        directory: Directory,
        one: Callable[[str], Awaitable[Guest]],
        *,
        concurrency: int,
        answers: Callable[[], MappedAnswers[PeoplePage]],
    ) -> None:
        self._api = api
        self._directory = directory
        self._one = one
        self._concurrency = concurrency
        self._answers = answers
        #: People named by the last answer of each booking listing (``listed``).
        self._last_listed: LRUCache[Hashable, int] = LRUCache(maxsize=LISTINGS_KEPT)

    def listed(self, listing: Hashable, bookings: Sequence[Booking]) -> None:
        """A booking listing (a restaurant's window) as just answered."""
        self._last_listed[listing] = len({b.guest_id for b in bookings if b.guest_id})

    def read_ahead(self, code: str, listing: Hashable) -> None:
        """Start reading restaurant ``code``'s first people page for this request's guest
        batch, when ``listing`` last named enough people for the batch to read one."""
        if self._last_listed.get(listing, 0) >= LIST_FROM:
            wanted.ahead(self._ahead_key(code), lambda: self._page_at(code, 0))

    def _ahead_key(self, code: str) -> tuple[str, str, str]:
        return (self._api.upstream, "people-page", code)

    async def get(self, ids: Sequence[str]) -> Batch[Guest]:
        by_home: dict[str, list[str]] = defaultdict(list)
        for pid in dict.fromkeys(ids):
            home = self._directory.home("person", pid)
            if home is not None and pid.isdigit():
                by_home[home].append(pid)
        found: dict[str, Guest | GatewayError | None] = {}
        for code, asked in by_home.items():
            # A failed list is no answer: each id is then read on its own below.
            if len(asked) >= LIST_FROM:
                with contextlib.suppress(GatewayError):
                    found.update(await self._listed(code, asked))
        rest = [i for i in ids if i not in found]
        if rest:
            read = await batch_by_key(rest, self._one, concurrency=self._concurrency)
            found.update(zip(rest, read, strict=True))
        return [found[i] for i in ids]

    async def _listed(self, code: str, ids: list[str]) -> dict[str, Guest]:
        """The people ``ids`` found in the first pages of ``code``'s people."""
        missing = set(ids)
        oldest = min(int(i) for i in ids)
        out: dict[str, Guest] = {}
        for page in range(MAX_PAGES):
            early = wanted.take(self._ahead_key(code)) if page == 0 else None
            mapped = await (early if early is not None else self._page_at(code, page))
            for pid in missing & mapped.people.keys():
                out[pid] = mapped.people[pid]
            missing -= out.keys()
            short = mapped.rows < self._api.page_size
            if not missing or short or mapped.oldest is None or mapped.oldest <= oldest:
                break
        return out

    async def _page_at(self, code: str, page: int) -> PeoplePage:
        caller = await self._api.route(code)
        size = self._api.page_size
        params = {"restaurant-code": code, "limit": size, "offset": page * size}
        return await caller.mapped(
            PEOPLE, params=params, answers=self._answers(), key=None, build=self._page
        )

    def _page(self, decoded: Any) -> PeoplePage:
        """Every person of a page (one Libro cannot read fails the page: ids are then read
        one by one)."""
        rows = resources(self._api.document(decoded))
        upstream = self._api.upstream
        people = [readable("a person", upstream, partial(to_guest, upstream, r)) for r in rows]
        ids = [int(r["id"]) for r in rows if str(r.get("id", "")).isdigit()]
        by_id = MappingProxyType({g.native_id: g for g in people})  # shared: read-only
        return PeoplePage(by_id, min(ids, default=None), len(rows))
