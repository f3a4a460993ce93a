"""resOS error answers → the gateway's errors (providers/resos.md, "Status codes seen").

resOS answers an error with a conventional status and a description as a bare JSON string
(``"Missing required parameter: date"``, ``"Unauthorized"``, ``"Not found"``). The
descriptions are written for people and name no secrets, so a refusal carries resOS' own
reason (one line, at most 200 characters). A 4xx means resOS did not apply the request: an
unmatched one (400 for a DELETE, 405 for a PATCH — neither is ever sent) is the kit's
definite ``REJECTED``, never an unknown outcome. 429 and 5xx never reach this table (the
upstream client raises for them).
"""

from __future__ import annotations

import httpx

from tablegraph.errors import InvalidInput, NotFound, SlotUnavailable, UpstreamAuthError
from tablegraph.providers.kit import ErrorBody, ErrorTable, Rule

#: Longest description kept from an error body.
MAX_REASON = 200

#: What resOS says when a create or a move finds no free table (the simulator's strict mode;
#: providers/resos.md, "What POST does on a full slot").
_FULL = ("No available table", "No free table", "Fully booked", "Not available")


def parse(response: httpx.Response) -> ErrorBody:
    """The description of a resOS error body (a JSON string); anything else reads as none."""
    body = response.json()
    if not isinstance(body, str):
        return ErrorBody()
    reason = " ".join(body.split())[:MAX_REASON]
    return ErrorBody(messages=(reason,) if reason else ())


ERRORS = ErrorTable(
    provider="resOS",
    parse=parse,
    show_provider_messages=True,
    rules=[
        Rule(UpstreamAuthError, status=401, message="resOS refused the API key"),
        Rule(UpstreamAuthError, status=403, message="resOS refused the API key"),
        Rule(NotFound, status=404, message="not found at resOS"),
        *(
            Rule(
                SlotUnavailable,
                status=422,
                prefix=prefix,
                message="the requested time is no longer available",
            )
            for prefix in _FULL
        ),
        # Missing or unknown keys, a bad value: resOS' description says which.
        Rule(InvalidInput, status=422),
    ],
)
