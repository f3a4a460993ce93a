"""Vardvik's refusals → the gateway's error tree, declared once.

Every refusal comes in one envelope, ``{"error": {"code", "message", "details"?}}``
(shared/providers/rest-v1.md, "Error envelope"): 400 ``validation_error`` (``details.field``
names the request field), 401 ``unauthorized``, 403 ``insufficient_scope``
(``details.requiredScope``), 404 ``not_found``, 409 ``slot_unavailable`` / ``invalid_state`` /
``invalid_transition`` / ``idempotency_key_reused`` / ``waitlist_disabled``, 422
``outside_policy`` / ``feature_disabled``. 429 and 5xx never reach this table (the upstream
client raises for them).

A 4xx is a definite "not applied": anything this table does not name is the kit's
``BookingRejected`` ("REJECTED") with Vardvik's own message, never an unknown outcome.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from tablegraph.errors import (
    IdempotencyConflict,
    InvalidInput,
    InvalidState,
    NotFound,
    NotSupported,
    PolicyViolation,
    SlotUnavailable,
    UpstreamAuthError,
)
from tablegraph.providers.kit import ErrorBody, ErrorTable, Rule
from tablegraph.providers.vardvik.payloads import RawError

#: Vardvik's ``details.field`` (a request-body path) → the model field it came from.
FIELDS: Mapping[str, tuple[str, ...]] = {
    "locationId": ("restaurant_id",),
    "startTime": ("start",),
    "partySize": ("party_size",),
    "durationMinutes": ("duration_minutes",),
    "specialRequests": ("notes",),
    "notes": ("notes",),
    "date": ("day",),
    "preferredTime": ("preferred_time",),
    "status": ("status",),
    "tableIds": ("tables",),
    "Idempotency-Key": ("idempotency_key",),
    "marketingConsent": ("marketing_consent",),
    # the guest object of a create or waitlist body, and the body of a guest upsert
    **{
        f"{prefix}{name}": ("guest", field)
        for prefix in ("guest.", "")
        for name, field in {
            "firstName": "first_name",
            "lastName": "last_name",
            "email": "email",
            "phone": "phone",
        }.items()
    },
}


def parse(response: httpx.Response) -> ErrorBody:
    """Read the envelope; a missing scope becomes a message that names it (and nothing else
    of the key)."""
    envelope: RawError = response.json()
    error = envelope["error"]
    code = str(error["code"]) if error.get("code") is not None else None
    details = error.get("details") or {}
    message = str(error.get("message") or "")
    facts: dict[str, object] = {}
    if code == "insufficient_scope":
        scope = details.get("requiredScope") or details.get("scope")
        message = f"the gateway's API key lacks the scope {scope}"
        facts["requiredScope"] = scope
    field = FIELDS.get(str(details.get("field"))) if code == "validation_error" else None
    return ErrorBody(code=code, messages=(message,) if message else (), field=field, details=facts)


ERRORS = ErrorTable(
    provider="Vardvik",
    show_provider_messages=True,
    parse=parse,
    rules=(
        Rule(UpstreamAuthError, status=403, code="insufficient_scope"),  # names the scope
        Rule(UpstreamAuthError, status=401, message="Vardvik refused the gateway's API key"),
        Rule(UpstreamAuthError, status=403, message="Vardvik refused the gateway's API key"),
        # Vardvik's own sentence: it names the field and the rule ("partySize must be …")
        Rule(InvalidInput, status=400),
        Rule(NotFound, status=404),
        Rule(
            SlotUnavailable,
            status=409,
            code="slot_unavailable",
            message="that time is no longer available",
        ),
        Rule(
            InvalidState,
            status=409,
            code="invalid_state",
            stable_code="NOT_CANCELLABLE",
            message="the booking can no longer be changed",
        ),
        Rule(
            InvalidState,
            status=409,
            code="invalid_transition",
            stable_code="INVALID_TRANSITION",
            message="that status change is not allowed",
        ),
        Rule(
            IdempotencyConflict,
            status=409,
            code="idempotency_key_reused",
            message="the idempotency key was already used for a different request",
        ),
        Rule(
            NotSupported,
            status=409,
            code="waitlist_disabled",
            message="the restaurant has no waitlist",
        ),
        Rule(
            PolicyViolation,
            status=422,
            code="outside_policy",
            message="the request is outside the restaurant's booking policy",
        ),
        Rule(
            NotSupported,
            status=422,
            code="feature_disabled",
            message="the restaurant does not allow this change through the API",
        ),
    ),
)
