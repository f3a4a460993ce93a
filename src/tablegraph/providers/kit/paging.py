"""Offset paging, written once: ask for pages until a short page or the announced total."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    #: The provider's total row count when it sends one.
    total: int | None = None


async def offset_pages(
    fetch: Callable[[int, int], Awaitable[Page[T]]],
    *,
    page_size: int,
    max_rows: int | None = None,
) -> list[T]:
    """Every row of a list endpoint; ``fetch(offset, limit)`` returns one page.

    Stops at the first page shorter than ``page_size``, at the provider's total, or once
    ``max_rows`` rows are in hand (a guard against a provider that never ends a list).
    """
    rows: list[T] = []
    while True:
        page = await fetch(len(rows), page_size)
        rows.extend(page.rows)
        if len(page.rows) < page_size:
            return rows
        if page.total is not None and len(rows) >= page.total:
            return rows
        if max_rows is not None and len(rows) >= max_rows:
            return rows[:max_rows]
