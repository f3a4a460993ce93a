"""Libro people by id: a page of a restaurant's people where a batch asks many of them.

Libro has no people-by-ids call, and its booking list side-loads no people. But
``GET /restricted/people`` lists a restaurant's people, newest id first, up to 250 a page
(``people/_list.md``). When a batch asks ``LIST_FROM`` or more ids that the directory knows
live at one restaurant (it learns that from their bookings), that list is read page by page
until every id is found, a page reaches ids older than the oldest one asked, the list ends,
or ``MAX_PAGES`` pages were read; what is left is read one id at a time, as is every id of a
smaller group or of an unknown restaurant.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from tablegraph.errors import GatewayError
from tablegraph.model import Guest
from tablegraph.providers.kit import Batch, batch_by_key
from tablegraph.providers.libro.api import PEOPLE, LibroApi, readable
from tablegraph.providers.libro.directory import Directory
from tablegraph.providers.libro.jsonapi import resources
from tablegraph.providers.libro.mapping import to_guest

#: From this many ids at one restaurant, a people page beats one request per person.
LIST_FROM = 4
#: Pages of a restaurant's people read for one batch at most (``page_size``, ≤ 250, each).
MAX_PAGES = 2


class People:
    def __init__(
        self,
        api: LibroApi,
        directory: Directory,
        one: Callable[[str], Awaitable[Guest]],
        *,
        concurrency: int,
    ) -> None:
        self._api = api
        self._directory = directory
        self._one = one
        self._concurrency = concurrency

    async def get(self, ids: Sequence[str]) -> Batch[Guest]:
        by_home: dict[str, list[str]] = defaultdict(list)
        for pid in dict.fromkeys(ids):
            home = self._directory.home("person", pid)
            if home is not None and pid.isdigit():
                by_home[home].append(pid)
        found: dict[str, Guest | GatewayError | None] = {}
        for code, wanted in by_home.items():
            # A failed list is no answer: each id is then read on its own below.
            if len(wanted) >= LIST_FROM:
                with contextlib.suppress(GatewayError):
                    found.update(await self._listed(code, wanted))
        rest = [i for i in ids if i not in found]
        if rest:
            read = await batch_by_key(rest, self._one, concurrency=self._concurrency)
            found.update(zip(rest, read, strict=True))
        return [found[i] for i in ids]

    async def _listed(self, code: str, wanted: list[str]) -> dict[str, Guest]:
        """The ``wanted`` people found in the first pages of ``code``'s people."""
        caller = await self._api.route(code)
        missing = set(wanted)
        oldest = min(int(i) for i in wanted)
        out: dict[str, Guest] = {}
        size = self._api.page_size
        for page in range(MAX_PAGES):
            params = {"restaurant-code": code, "limit": size, "offset": page * size}
            rows = resources(await self._api.send(caller, "GET", PEOPLE, params=params))
            for res in rows:
                upstream = self._api.upstream
                guest = readable("a person", upstream, partial(to_guest, upstream, res))
                pid = guest.native_id
                if pid in missing:
                    missing.discard(pid)
                    out[pid] = guest
            ids = [int(r["id"]) for r in rows if str(r.get("id", "")).isdigit()]
            if not missing or len(rows) < size or not ids or min(ids) <= oldest:
                break
        return out
