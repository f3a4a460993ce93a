"""Opaque global ids: ``base64url("Type:upstream:native id")``, Relay style.

A global id routes any lookup or mutation to its upstream without a second call. Decoding
refuses malformed ids and ids of another type with ``InvalidInput``, and native ids that no
provider issues and that would break or redirect an upstream URL (control characters, ``?``,
``#``, ``.`` and ``..`` path segments, surrounding blanks).
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import NamedTuple

from tablegraph.errors import InvalidInput

TYPES = frozenset({"Restaurant", "Booking", "Guest", "Review", "WaitlistEntry"})
MAX_ID_LENGTH = 512


class GlobalId(NamedTuple):
    type: str
    upstream: str
    native_id: str


@lru_cache(maxsize=16384)
def encode(type_: str, upstream: str, native_id: str) -> str:
    """The global id; kept for the ids of recent answers (a refreshed list names the same
    objects again: 59 bookings encode 180 ids, issue #16)."""
    raw = f"{type_}:{upstream}:{native_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(value: str, expected: str | None = None) -> GlobalId:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise InvalidInput("malformed id", details={"id": _shorten(value)})
    try:
        padded = value + "=" * (-len(value) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput("malformed id", details={"id": _shorten(value)}) from None
    type_, sep, rest = raw.partition(":")
    upstream, sep2, native = rest.partition(":")
    if not sep or not sep2 or type_ not in TYPES or not upstream or not native:
        raise InvalidInput("malformed id", details={"id": _shorten(value)})
    if not _plausible_native(native):
        raise InvalidInput("malformed id", details={"id": _shorten(value)})
    if expected is not None and type_ != expected:
        raise InvalidInput(
            f"expected a {expected} id, got a {type_} id", details={"id": _shorten(value)}
        )
    return GlobalId(type_, upstream, native)


def _plausible_native(native: str) -> bool:
    # Adapters put native ids into upstream URL paths: a control character there is an
    # httpx.InvalidURL (a crash); "?", "#" and dot segments make the URL name another resource
    # (Libro answered booking "." with its booking list, "123?x=1" with booking 123).
    if any(ord(c) < 32 or ord(c) == 127 or c in "?#" for c in native):
        return False
    if native != native.strip():
        return False
    return not any(segment in (".", "..") for segment in native.split("/"))


def _shorten(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 64 else text[:61] + "..."
