"""Libro error codes and HTTP statuses -> the gateway's error tree, in one declarative table.

The body is ``{"error": "<legacy key>", "code": "<4 digits>", "message": "..."}`` (DOC
``_errors.md``); the adapter keys on ``code`` and never echoes the body.
"""

from __future__ import annotations

from typing import Any, NoReturn

import httpx

from tablegraph.errors import (
    GatewayError,
    InvalidInput,
    InvalidState,
    NotFound,
    PolicyViolation,
    SlotUnavailable,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamUnavailable,
)

Rule = tuple[type[GatewayError], str | None, str]  # class, code override, our message

#: Libro's documented codes. 2001-2008 are slot problems, 3xxx validation, 4001 cancellation;
#: 1001-1004 are restaurant guards an API client cannot satisfy (ours: OUTSIDE_POLICY).
CODES: dict[str, Rule] = {
    "1001": (PolicyViolation, None, "the restaurant requires a logged-in guest"),
    "1002": (PolicyViolation, None, "the restaurant requires a reCAPTCHA"),
    "1003": (PolicyViolation, None, "the restaurant refused the reCAPTCHA as invalid"),
    "1004": (PolicyViolation, None, "the restaurant's reCAPTCHA check failed"),
    "1005": (InvalidInput, None, "a restaurant must be selected"),
    "1006": (InvalidInput, None, "a date and time must be selected"),
    "2001": (SlotUnavailable, None, "the slot is no longer available"),
    "2002": (SlotUnavailable, None, "the booking window is closed"),
    "2003": (SlotUnavailable, None, "not enough room for this party size"),
    "2004": (SlotUnavailable, None, "not enough room at this time"),
    "2005": (SlotUnavailable, None, "the party size is outside the online range"),
    "2006": (SlotUnavailable, None, "no suitable table"),
    "2007": (SlotUnavailable, None, "the date is outside the booking window"),
    "2008": (SlotUnavailable, None, "no service at this date and time"),
    "3001": (InvalidInput, None, "the experience is not available"),
    "3002": (InvalidInput, None, "invalid classifications"),
    "3003": (InvalidInput, None, "the booking is invalid"),
    "3004": (InvalidInput, None, "a prepaid offer must be selected"),
    "4001": (InvalidState, "NOT_CANCELLABLE", "the booking cannot be cancelled"),
}

#: Fallback by HTTP status when the body carries no known code.
STATUSES: dict[int, Rule] = {
    400: (InvalidInput, None, "Libro refused the request as malformed"),
    401: (UpstreamAuthError, None, "Libro refused the access token"),
    402: (UpstreamAuthError, None, "the Libro plan does not include API access"),
    403: (UpstreamAuthError, None, "Libro refused the access token"),
    404: (NotFound, None, "not found at Libro"),
    405: (UpstreamAuthError, None, "the token does not allow this Libro endpoint"),
    406: (UpstreamBadResponse, None, "Libro refused the requested format"),
    409: (InvalidState, "NOT_CANCELLABLE", "Libro refused the change in the booking's state"),
    422: (InvalidInput, None, "Libro refused the request as invalid"),
    429: (UpstreamRateLimited, None, "Libro is rate limiting the gateway"),
}


def raise_for(response: httpx.Response, upstream: str) -> NoReturn:
    """Raise the gateway error for a Libro error response."""
    code: str | None = None
    try:
        body: Any = response.json()
        if isinstance(body, dict) and body.get("code") is not None:
            code = str(body["code"])
    except ValueError:
        pass
    details: dict[str, Any] = {"providerStatus": response.status_code}
    rule = CODES.get(code or "")
    if rule is not None:
        details["providerCode"] = code
    else:
        rule = STATUSES.get(response.status_code)
    if rule is None:
        rule = (UpstreamUnavailable, None, f"Libro answered {response.status_code}")
    cls, override, message = rule
    if response.status_code == 402:
        details["reason"] = "PLAN_WITHOUT_API"
    raise cls(message, upstream=upstream, code=override, details=details)
