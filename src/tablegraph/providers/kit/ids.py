"""Native ids made of several provider ids (``"<restaurantId>/<locationId>"``)."""

from __future__ import annotations

from tablegraph.errors import NotFound

SEPARATOR = "/"


def compose(*parts: str) -> str:
    return SEPARATOR.join(parts)


def split(native_id: str, parts: int, *, upstream: str, what: str = "object") -> tuple[str, ...]:
    """``parts`` non-empty pieces of a composite id, or ``NotFound`` (never a crash)."""
    pieces = tuple(native_id.split(SEPARATOR, parts - 1))
    if len(pieces) != parts or not all(pieces):
        raise NotFound(f"no {what} {native_id!r} in {upstream}", upstream=upstream)
    return pieces
