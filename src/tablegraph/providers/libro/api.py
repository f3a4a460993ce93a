"""Calling Libro: the kit's ``Caller`` for the token that covers a restaurant, JSON:API
documents checked at the door, and offset paging (``limit`` ≤ 250 / ``offset``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from tablegraph.errors import UpstreamBadResponse
from tablegraph.providers.kit import Caller, Page, offset_pages
from tablegraph.providers.kit.answers import MappedAnswers
from tablegraph.providers.libro.connections import Connections
from tablegraph.providers.libro.errors import ERRORS
from tablegraph.providers.libro.jsonapi import Included, page_total, resources
from tablegraph.providers.libro.payloads import Document, Resource
from tablegraph.upstream import UpstreamClient

T = TypeVar("T")

RESTAURANTS = "/restricted/restaurants"
BOOKINGS = "/restricted/restaurant/bookings"
PEOPLE = "/restricted/people"
REVIEWS = "/restricted/restaurant/reviews"
SEATINGS = "/restricted/restaurant/seatings"


def readable(what: str, upstream: str, convert: Callable[[], T]) -> T:
    """``convert()``, or ``UpstreamBadResponse`` when Libro's JSON is not what it documents."""
    try:
        return convert()
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UpstreamBadResponse(
            f"Libro sent {what} the gateway cannot read", upstream=upstream
        ) from None


@dataclass
class LibroApi:
    connections: Connections
    upstream: str
    page_size: int

    @staticmethod
    def caller(client: UpstreamClient) -> Caller:
        return Caller(client, ERRORS)

    async def route(self, code: str | None) -> Caller:
        """The caller whose token covers restaurant ``code`` (None: the partner account)."""
        return self.caller(await self.connections.route(code))

    async def send(self, caller: Caller, method: str, path: str, **kwargs: Any) -> Document:
        return self.document(await caller.json(method, path, **kwargs))

    def document(self, decoded: Any) -> Document:
        """A decoded answer that is a JSON:API document (an object), else refused."""
        if not isinstance(decoded, dict):
            raise UpstreamBadResponse("Libro answered without a document", upstream=self.upstream)
        return cast(Document, decoded)

    def one(self, doc: Document) -> Resource:
        found = resources(doc)
        if not found or "id" not in found[0]:
            raise UpstreamBadResponse("Libro answered without the resource", upstream=self.upstream)
        return found[0]

    async def rows(
        self, caller: Caller, path: str, params: dict[str, Any], max_rows: int | None = None
    ) -> tuple[list[Resource], Included]:
        """Every row of a list endpoint and its side-loads (``max_rows``: stop early)."""
        included = Included()

        async def page(offset: int, limit: int) -> Page[Resource]:
            query = {**params, "limit": limit, "offset": offset}
            doc = await self.send(caller, "GET", path, params=query)
            included.add(doc.get("included") or [])
            return Page(resources(doc), page_total(doc))

        rows = await offset_pages(page, page_size=self.page_size, max_rows=max_rows)
        return rows, included

    async def mapped_rows(
        self,
        caller: Caller,
        path: str,
        params: dict[str, Any],
        *,
        answers: MappedAnswers[tuple[tuple[T, ...], int | None]],
        key: Hashable,
        build: Callable[[Resource, Included], T],
    ) -> list[T]:
        """Every row of a list endpoint, each ``build(row, its page's side-loads)``; a page's
        mapping is reused while its bytes are unchanged (``kit.answers``). A page is mapped
        with its own ``included`` alone: JSON:API's compound documents carry full linkage.
        ``key`` names whatever else ``build`` reads."""

        def mapped(decoded: Any) -> tuple[tuple[T, ...], int | None]:
            doc = self.document(decoded)
            included = Included([doc])
            return tuple(build(res, included) for res in resources(doc)), page_total(doc)

        async def page(offset: int, limit: int) -> Page[T]:
            query = {**params, "limit": limit, "offset": offset}
            rows, total = await caller.mapped(
                path, params=query, answers=answers, key=key, build=mapped
            )
            return Page(list(rows), total)

        return await offset_pages(page, page_size=self.page_size)

    async def find_person(
        self, caller: Caller, code: str, email: str | None, phone: str | None
    ) -> str | None:
        """A person's id by e-mail, then by phone (Libro dedupes people; we look first)."""
        for param, value in (("guest-email", email), ("guest-phone", phone)):
            if not value:
                continue
            params = {"restaurant-code": code, param: value, "limit": 1}
            found = resources(await self.send(caller, "GET", PEOPLE, params=params))
            if found:
                return str(found[0]["id"])
        return None
