"""Which scope each GraphQL field needs, enforced on the executable schema.

``RULES`` is the one table. ``protect(schema)`` wraps the resolver of every listed field with
the check, and refuses to build a schema in which a field of a ``CLASSIFIED`` type (every root
field, and every field of the types that carry personal or operator data) has no entry: a new
field cannot slip through unclassified. A gated query field must be nullable, so a missing
scope nulls that field alone and the rest of the data is returned (a mutation's payload stays
non-null: a refused mutation answers ``data: null`` and the error).

- ``Rule(scope)``: without the scope the field is null with a ``FORBIDDEN`` error naming it
  (a nested field in a list: one error per request, not one per item).
- ``Rule(scope, personal=True)``: guests' personal data; null, and one ``FORBIDDEN`` error
  per request for all of it, however many guests were shown.
- ``Rule(scope, manage_token=True)``: also open to the holder of a booking-management token
  (the resolver checks the token).
- ``PUBLIC``: no scope (the resolver may still check one, as ``node`` does per type).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLResolveInfo, default_field_resolver

from tablegraph.auth.scopes import Scope
from tablegraph.errors import Forbidden


@dataclass(frozen=True)
class Rule:
    scope: Scope | None
    personal: bool = False
    manage_token: bool = False


PUBLIC = Rule(None)
S = Scope
_PERSONAL = Rule(S.GUESTS_READ, personal=True)

RULES: dict[str, dict[str, Rule]] = {
    "Query": {
        "node": PUBLIC,  # checked per type in the resolver
        "upstreams": Rule(S.RESTAURANTS_READ),
        "restaurants": Rule(S.RESTAURANTS_READ),
        "restaurant": Rule(S.RESTAURANTS_READ),
        "availability": Rule(S.AVAILABILITY_READ),
        "booking": Rule(S.BOOKINGS_READ, manage_token=True),
        "bookings": Rule(S.BOOKINGS_READ),
        "guest": Rule(S.GUESTS_READ),
        "guests": Rule(S.GUESTS_READ),
        "reviews": Rule(S.REVIEWS_READ),
    },
    "Mutation": {
        "createBooking": Rule(S.BOOKINGS_CREATE),
        "rescheduleBooking": Rule(S.BOOKINGS_WRITE, manage_token=True),
        "cancelBooking": Rule(S.BOOKINGS_WRITE, manage_token=True),
        "updateBooking": Rule(S.BOOKINGS_WRITE),
        "joinWaitlist": Rule(S.WAITLIST_WRITE),
        "upsertGuest": Rule(S.GUESTS_WRITE),
    },
    "Subscription": {
        "bookingEvents": PUBLIC,  # bookings:read, checked by the transports and the resolver
        "availabilityChanged": PUBLIC,  # availability:read, checked by the resolver
    },
    "Restaurant": {
        "availability": Rule(S.AVAILABILITY_READ),
        "bookings": Rule(S.BOOKINGS_READ),
        "reviews": Rule(S.REVIEWS_READ),
        "ratingSummary": Rule(S.REVIEWS_READ),
    },
    "Guest": {
        "id": PUBLIC,
        "upstream": PUBLIC,
        "firstName": PUBLIC,
        "lastName": PUBLIC,
        "locale": PUBLIC,
        "tags": PUBLIC,
        "email": _PERSONAL,
        "phone": _PERSONAL,
        "notes": _PERSONAL,
        "marketingConsent": _PERSONAL,
        "visitCount": _PERSONAL,
    },
    "Upstream": {
        "name": PUBLIC,
        "kind": PUBLIC,
        "displayName": PUBLIC,
        "status": PUBLIC,
        "circuit": PUBLIC,
        "circuitRetryInSeconds": PUBLIC,
        "lastErrorCode": PUBLIC,
        "capabilities": PUBLIC,
        "requestsSent": PUBLIC,
        "details": Rule(S.ADMIN),
    },
}
#: Types whose every field must be classified in ``RULES``.
CLASSIFIED = frozenset({"Query", "Mutation", "Guest", "Upstream"})


def require(info: Any, scope: Scope) -> None:
    """Raise ``Forbidden`` unless this request's identity holds ``scope``."""
    if not info.context.identity.has(scope):
        raise Forbidden(scope.value)


def _has_manage_token(kwargs: dict[str, Any]) -> bool:
    if kwargs.get("manageToken") or kwargs.get("manage_token"):
        return True
    given = kwargs.get("input")
    if isinstance(given, dict):
        return bool(given.get("manageToken") or given.get("manage_token"))
    return bool(getattr(given, "manage_token", None))


def _guard(resolve: Callable[..., Any], rule: Rule, type_name: str, field_name: str) -> Any:
    scope = rule.scope
    assert scope is not None
    top_level = type_name in ("Query", "Mutation")
    once = "personal data" if rule.personal else f"{type_name}.{field_name}"

    def guarded(root: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:  # type: ignore[type-arg]
        context = info.context
        if context.identity.has(scope) or (rule.manage_token and _has_manage_token(kwargs)):
            return resolve(root, info, **kwargs)
        error = Forbidden(scope.value)
        if top_level:
            raise error
        if once not in context.refused:
            context.refused.add(once)
            context.report(error, info)
        return None

    return guarded  # sync or async alike: the check runs before the resolver is called


def protect(schema: Any) -> None:
    """Wrap every gated field of ``schema`` (a Strawberry schema) with its check."""
    gql = schema._schema  # the executable graphql-core schema Strawberry built
    for type_name in CLASSIFIED:
        gtype = gql.type_map.get(type_name)
        if isinstance(gtype, GraphQLObjectType):
            missing = sorted(set(gtype.fields) - set(RULES.get(type_name, {})))
            if missing:
                raise RuntimeError(f"no permission rule for {type_name}.{', '.join(missing)}")
    for type_name, rules in RULES.items():
        gtype = gql.type_map.get(type_name)
        if not isinstance(gtype, GraphQLObjectType):
            raise RuntimeError(f"permission rules name an unknown type {type_name}")
        for field_name, rule in rules.items():
            field = gtype.fields.get(field_name)
            if field is None:
                raise RuntimeError(f"permission rule for unknown field {type_name}.{field_name}")
            if rule.scope is None:
                continue
            if isinstance(field.type, GraphQLNonNull) and type_name != "Mutation":
                raise RuntimeError(f"{type_name}.{field_name} is gated, so it must be nullable")
            field.resolve = _guard(
                field.resolve or default_field_resolver, rule, type_name, field_name
            )


def gated_fields(schema: Any) -> list[tuple[str, str, Rule]]:
    """(type, field, rule) of every field that needs a scope: what the tests iterate over."""
    return [(t, f, rule) for t, rules in RULES.items() for f, rule in rules.items() if rule.scope]
