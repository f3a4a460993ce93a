"""The gateway's error tree. Every error carries a stable ``code`` and, where one is
involved, the name of the ``upstream``. Messages are written for API clients: never a raw
upstream body, a credential or a stack trace.

    GatewayError
    ├── InvalidInput               INVALID_INPUT          (client sent something unusable)
    ├── NotFound                   NOT_FOUND              (also: outside the client's restaurants)
    ├── Forbidden                  FORBIDDEN              (the client lacks the scope it names)
    ├── NotSupported               NOT_SUPPORTED          (outside a provider's capabilities)
    ├── RequestRefused             the request is refused before it runs
    │   ├── QueryTooCostly         QUERY_TOO_COSTLY       (over ``[limits] max_cost``)
    │   ├── PersistedQueryNotFound PERSISTED_QUERY_NOT_FOUND (unknown document hash)
    │   ├── PersistedQueryNotSupported PERSISTED_QUERY_NOT_SUPPORTED (APQ turned off)
    │   └── DocumentNotTrusted     PERSISTED_QUERY_NOT_IN_LIST (trusted-documents mode)
    ├── BookingRejected            business outcomes, shown as mutation userErrors
    │   ├── SlotUnavailable        SLOT_UNAVAILABLE
    │   ├── PolicyViolation        OUTSIDE_POLICY
    │   ├── InvalidState           NOT_CANCELLABLE / INVALID_TRANSITION / MODIFICATION_RESTRICTED
    │   └── IdempotencyConflict    IDEMPOTENCY_KEY_REUSED
    └── UpstreamError              the provider failed; GraphQL error naming the upstream
        ├── UpstreamUnavailable    UPSTREAM_UNAVAILABLE   (connect error, 5xx)
        │   └── CircuitOpen        UPSTREAM_CIRCUIT_OPEN  (failing fast; nothing was sent)
        ├── UpstreamTimeout        UPSTREAM_TIMEOUT
        ├── UpstreamAuthError      UPSTREAM_AUTH_FAILED   (bad credentials, missing scope)
        ├── UpstreamRateLimited    UPSTREAM_RATE_LIMITED
        ├── UpstreamBadResponse    UPSTREAM_BAD_RESPONSE  (unparseable or unexpected body)
        └── OutcomeUnknown         OUTCOME_UNKNOWN        (a write whose result is unknown)

Low-level transport errors are translated into this tree in exactly one place
(``tablegraph.upstream``); provider status and error codes in one table per adapter.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    code = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        upstream: str | None = None,
        code: str | None = None,
        field: tuple[str, ...] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.upstream = upstream
        if code is not None:
            self.code = code
        self.field = field
        self.details = details or {}

    @property
    def extensions(self) -> dict[str, Any]:
        """What a GraphQL error shows (graphql-core copies it from the original error)."""
        ext: dict[str, Any] = {"code": self.code}
        if self.upstream:
            ext["upstream"] = self.upstream
        ext.update(self.details)
        return ext


class InvalidInput(GatewayError):
    code = "INVALID_INPUT"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class Forbidden(GatewayError):
    """The caller's identity lacks a scope; ``extensions.scope`` names it."""

    code = "FORBIDDEN"

    def __init__(self, scope: str, message: str | None = None) -> None:
        super().__init__(message or f"this needs the {scope} scope", details={"scope": scope})


class NotSupported(GatewayError):
    code = "NOT_SUPPORTED"


class RequestRefused(GatewayError):
    """The request is refused before anything runs (its document, its cost)."""

    code = "BAD_REQUEST"


class QueryTooCostly(RequestRefused):
    code = "QUERY_TOO_COSTLY"


class PersistedQueryNotFound(RequestRefused):
    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotSupported(RequestRefused):
    code = "PERSISTED_QUERY_NOT_SUPPORTED"


class DocumentNotTrusted(RequestRefused):
    code = "PERSISTED_QUERY_NOT_IN_LIST"


class BookingRejected(GatewayError):
    """An expected business outcome of a booking mutation (shown as a ``userErrors`` entry)."""

    code = "REJECTED"


class SlotUnavailable(BookingRejected):
    code = "SLOT_UNAVAILABLE"


class PolicyViolation(BookingRejected):
    code = "OUTSIDE_POLICY"


class InvalidState(BookingRejected):
    code = "INVALID_TRANSITION"


class IdempotencyConflict(BookingRejected):
    code = "IDEMPOTENCY_KEY_REUSED"


class UpstreamError(GatewayError):
    code = "UPSTREAM_ERROR"


class UpstreamUnavailable(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"


class CircuitOpen(UpstreamUnavailable):
    code = "UPSTREAM_CIRCUIT_OPEN"


class UpstreamTimeout(UpstreamError):
    code = "UPSTREAM_TIMEOUT"


class UpstreamAuthError(UpstreamError):
    code = "UPSTREAM_AUTH_FAILED"


class UpstreamRateLimited(UpstreamError):
    code = "UPSTREAM_RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class UpstreamBadResponse(UpstreamError):
    code = "UPSTREAM_BAD_RESPONSE"


class OutcomeUnknown(UpstreamError):
    code = "OUTCOME_UNKNOWN"


#: Codes that a mutation reports as ``userErrors`` rather than as a GraphQL error.
USER_ERROR_TYPES: tuple[type[GatewayError], ...] = (
    InvalidInput,
    NotFound,
    NotSupported,
    BookingRejected,
    OutcomeUnknown,
)
