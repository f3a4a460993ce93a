"""Provider error answers → the gateway's error tree, through one declared table per provider.

An adapter declares how to read its provider's error body (``parse``: status + body →
``ErrorBody``) and an ordered list of ``Rule``s; the first rule that matches the status, the
provider's error code and/or a message prefix decides the error class, its stable code and
the message the client sees. Adapters never write status-code ``if`` chains.

The one rule every table shares: **an answer is definite**. A 4xx means the provider did not
apply the request, so an unmatched 4xx is a ``BookingRejected`` ("REJECTED") carrying the
provider's own reason when the table says its messages are safe to show — never an
"outcome unknown". Only a lost answer or an unreadable 2xx is ambiguous, and that is decided
in ``tablegraph.upstream`` and ``tablegraph.reconcile``, not here. 5xx never reach a table
(the upstream client raises ``UpstreamUnavailable`` or ``OutcomeUnknown`` for them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from tablegraph.errors import BookingRejected, GatewayError


@dataclass(frozen=True)
class ErrorBody:
    """What an adapter could read from an error answer. Never echoed whole to a client."""

    #: The provider's machine-readable error code, if it sends one.
    code: str | None = None
    #: The provider's human-readable reasons, in order.
    messages: tuple[str, ...] = ()
    #: The model field the provider blamed (``("guest", "email")``), if it said.
    field: tuple[str, ...] | None = None
    #: Safe extra facts for ``extensions`` (``requiredScope``…).
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One row of an error table; ``None`` in a match column means "any"."""

    error: type[GatewayError]
    status: int | None = None
    code: str | None = None
    #: Matches when any of the provider's messages starts with this text.
    prefix: str | None = None
    #: Overrides the error class's stable code (``NOT_CANCELLABLE`` for an ``InvalidState``).
    stable_code: str | None = None
    #: The client's message; ``None`` uses the provider's first message when the table trusts
    #: them, else a generic sentence naming the provider and the status.
    message: str | None = None

    def matches(self, status: int, body: ErrorBody) -> bool:
        if self.status is not None and self.status != status:
            return False
        if self.code is not None and self.code != body.code:
            return False
        return self.prefix is None or any(m.startswith(self.prefix) for m in body.messages)


Parse = Callable[[httpx.Response], ErrorBody]


def no_body(response: httpx.Response) -> ErrorBody:
    return ErrorBody()


@dataclass(frozen=True)
class ErrorTable:
    """A provider's error answers, declared. ``error_for`` never raises and never echoes."""

    provider: str  # display name for generic messages
    rules: Sequence[Rule]
    parse: Parse = no_body
    #: The provider's messages are written for people and carry no secrets: show them.
    show_provider_messages: bool = False

    def read(self, response: httpx.Response) -> ErrorBody:
        try:
            return self.parse(response)
        except (ValueError, TypeError, AttributeError, KeyError):
            return ErrorBody()  # an unreadable error body still has a definite status

    def error_for(self, response: httpx.Response, upstream: str) -> GatewayError:
        status = response.status_code
        body = self.read(response)
        rule = next((r for r in self.rules if r.matches(status, body)), None)
        cls = rule.error if rule is not None else BookingRejected
        message = rule.message if rule is not None else None
        if message is None:
            message = self._reason(body) or f"{self.provider} refused the request ({status})"
        details: dict[str, Any] = {"providerStatus": status, **body.details}
        if body.code is not None:
            details.setdefault("providerCode", body.code)
        return cls(
            message,
            upstream=upstream,
            code=rule.stable_code if rule is not None else None,
            field=body.field,
            details=details,
        )

    def _reason(self, body: ErrorBody) -> str | None:
        if not self.show_provider_messages or not body.messages:
            return None
        return " ".join(m.strip() for m in body.messages if m.strip())[:500] or None
