"""Libro's error answers → the gateway's error tree: one declared ``ErrorTable``.

The body is ``{"error": "<legacy key>", "code": "<4 digits>", "message": "..."}`` (DOC
``_errors.md``). Rules key on ``code`` first (1001–4001, each with our own sentence: Libro's
text is never echoed for a documented code), then on the HTTP status. A 4xx that matches
neither is the kit's definite refusal (``BookingRejected`` "REJECTED"); where no rule gives a
sentence (400, 409, 422 and unmatched 4xx), Libro's own ``message`` is the reason shown — its
messages are fixed sentences written for people. 429 and 5xx never reach this table
(``UpstreamClient`` raises for them).
"""

from __future__ import annotations

from typing import Any, cast

import httpx

from tablegraph.errors import (
    InvalidInput,
    InvalidState,
    NotFound,
    PolicyViolation,
    SlotUnavailable,
    UpstreamAuthError,
    UpstreamBadResponse,
)
from tablegraph.providers.kit import ErrorBody, ErrorTable, Rule
from tablegraph.providers.libro.payloads import ErrorPayload

_SLOT_GONE = {
    "2001": "the slot is no longer available",
    "2002": "the booking window is closed",
    "2003": "not enough room for this party size",
    "2004": "not enough room at this time",
    "2005": "the party size is outside the online range",
    "2006": "no suitable table",
    "2007": "the date is outside the booking window",
    "2008": "no service at this date and time",
}

#: Libro's documented codes. 2001–2008 are slot problems, 3xxx validation, 4001 cancellation;
#: 1001–1004 are restaurant guards an API client cannot satisfy (ours: OUTSIDE_POLICY).
CODE_RULES: tuple[Rule, ...] = (
    Rule(PolicyViolation, code="1001", message="the restaurant requires a logged-in guest"),
    Rule(PolicyViolation, code="1002", message="the restaurant requires a reCAPTCHA"),
    Rule(PolicyViolation, code="1003", message="the restaurant refused the reCAPTCHA as invalid"),
    Rule(PolicyViolation, code="1004", message="the restaurant's reCAPTCHA check failed"),
    Rule(InvalidInput, code="1005", message="a restaurant must be selected"),
    Rule(InvalidInput, code="1006", message="a date and time must be selected"),
    *(Rule(SlotUnavailable, code=c, message=m) for c, m in _SLOT_GONE.items()),
    Rule(InvalidInput, code="3001", message="the experience is not available"),
    Rule(InvalidInput, code="3002", message="invalid classifications"),
    Rule(InvalidInput, code="3003", message="the booking is invalid"),
    Rule(InvalidInput, code="3004", message="a prepaid offer must be selected"),
    Rule(
        InvalidState,
        code="4001",
        stable_code="NOT_CANCELLABLE",
        message="the booking cannot be cancelled",
    ),
)

#: By HTTP status when the body carries no documented code.
STATUS_RULES: tuple[Rule, ...] = (
    Rule(InvalidInput, status=400),
    Rule(UpstreamAuthError, status=401, message="Libro refused the access token"),
    Rule(UpstreamAuthError, status=402, message="the Libro plan does not include API access"),
    Rule(UpstreamAuthError, status=403, message="Libro refused the access token"),
    Rule(NotFound, status=404, message="not found at Libro"),
    Rule(UpstreamAuthError, status=405, message="the token does not allow this Libro endpoint"),
    Rule(UpstreamBadResponse, status=406, message="Libro refused the requested format"),
    Rule(InvalidState, status=409, stable_code="NOT_CANCELLABLE"),
    Rule(InvalidInput, status=422),
)


def parse(response: httpx.Response) -> ErrorBody:
    """Libro's error body; an unreadable one still has its status (the table handles it)."""
    details: dict[str, Any] = {}
    if response.status_code == 402:  # the one status with a reason worth a machine key
        details["reason"] = "PLAN_WITHOUT_API"
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return ErrorBody(details=details)
    payload = cast(ErrorPayload, body)
    code, message = payload.get("code"), payload.get("message")
    return ErrorBody(
        code=str(code) if code is not None else None,
        messages=(message,) if isinstance(message, str) and message.strip() else (),
        details=details,
    )


ERRORS = ErrorTable(
    provider="Libro",
    rules=(*CODE_RULES, *STATUS_RULES),
    parse=parse,
    show_provider_messages=True,
)
