"""An upstream answer's mapping reused while the upstream sends the very same bytes.

A dashboard polls one restaurant's day again and again, and the provider answers the same
body each time until a booking changes. Decoding and mapping those rows (59 of them: ~1.2 ms
of a query's ~9 ms of CPU, issue #16) gave the same frozen models every time.
``MappedAnswers`` keeps, per key (the request: path, parameters, and whatever else the
mapping reads, such as the restaurant's time zone), the last body and what it mapped to; the
next answer with byte-identical content is given the same models without decoding it. It is
not a cache of the upstream — every read still goes upstream, and a single changed byte maps
again — only of a pure function of the body.

What is kept must be immutable (tuples of the model's frozen dataclasses): it is shared by
every request that gets the same body. What is kept is bounded by size (least recently
used go first).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

T = TypeVar("T")

#: Bytes kept per ``MappedAnswers``, an entry counted as five times its body: the body, and
#: its models at about four times the body (measured: 59 Vardvik bookings, a 30 KB body,
#: 119 KB of models). ~110 restaurant-days of 59 bookings.
KEPT_BYTES = 16 * 1024 * 1024
#: An entry's size over its body's.
SIZE_PER_BODY_BYTE = 5


def _size(entry: tuple[bytes, object]) -> int:
    return SIZE_PER_BODY_BYTE * len(entry[0]) + 1


class MappedAnswers(Generic[T]):
    """``mapped(key, body, build)``: ``build()``'s value, reused while ``body`` is unchanged."""

    def __init__(self, max_bytes: int = KEPT_BYTES, *, enabled: bool = True) -> None:
        self._kept: LRUCache[Hashable, tuple[bytes, T]] = LRUCache(
            maxsize=max_bytes, getsizeof=_size
        )
        #: Off (the benchmark's naive baseline): every answer is decoded and mapped.
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def mapped(self, key: Hashable, body: bytes, build: Callable[[], T]) -> T:
        if self.enabled:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == body:
                self.hits += 1
                return kept[1]
        self.misses += 1
        value = build()  # raises: nothing kept, the next answer maps again
        if self.enabled and _size((body, value)) <= self._kept.maxsize:
            self._kept[key] = (body, value)  # (a larger one is not kept: cachetools refuses it)
        return value
