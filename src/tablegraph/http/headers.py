"""Small helpers on response headers shared by the HTTP modules."""

from __future__ import annotations

from aiohttp import web

#: For every answer that is not reference data read over GET: errors, bookings, guests...
NO_STORE = "private, no-store"


def add_vary(response: web.StreamResponse, name: str) -> None:
    """Add ``name`` to ``Vary`` once: caches must key the answer on that request header."""
    current = response.headers.get("Vary", "")
    names = [v.strip().lower() for v in current.split(",") if v.strip()]
    if name.lower() not in names:
        response.headers["Vary"] = f"{current}, {name}" if current else name
