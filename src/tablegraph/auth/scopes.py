"""The scopes a client may hold, and what each one names.

A scope is granted to a client identity (``[[clients]]``, a JWT's scope claim, or the
anonymous scopes) and checked at the GraphQL field it gates (``tablegraph.graphql.permissions``)
or at the operator's HTTP surfaces (``admin``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Scope(enum.StrEnum):
    RESTAURANTS_READ = "restaurants:read"
    AVAILABILITY_READ = "availability:read"
    BOOKINGS_READ = "bookings:read"
    BOOKINGS_CREATE = "bookings:create"
    #: Reschedule, cancel and update any booking of the client's restaurants.
    BOOKINGS_WRITE = "bookings:write"
    #: Guests' personal data (e-mail, phone, notes, consent, visits) and guest lookups.
    GUESTS_READ = "guests:read"
    GUESTS_WRITE = "guests:write"
    REVIEWS_READ = "reviews:read"
    WAITLIST_WRITE = "waitlist:write"
    #: The operator's surfaces: upstream details, /metrics, /readyz details, /connect.
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)


def parse_scopes(values: Iterable[str], where: str) -> frozenset[Scope]:
    """Scopes named in the configuration; an unknown name is a ``ValueError`` naming it."""
    out: set[Scope] = set()
    for value in values:
        try:
            out.add(Scope(value))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValueError(f"{where}: unknown scope {value!r} (known: {known})") from None
    return frozenset(out)


def scopes_from_claim(claim: object) -> frozenset[Scope]:
    """A JWT claim's scopes: a space-separated string (``scope``) or a list (``scp``).
    Names this gateway does not know are ignored (tokens are often issued for several APIs)."""
    if isinstance(claim, str):
        names: Iterable[object] = claim.split()
    elif isinstance(claim, list):
        names = claim
    else:
        return frozenset()
    known = {s.value: s for s in Scope}
    return frozenset(known[n] for n in names if isinstance(n, str) and n in known)
