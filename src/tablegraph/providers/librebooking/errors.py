"""LibreBooking's error answers → the gateway's errors (the kit's ``ErrorTable``).

A refusal is a 400 ``{"message": "There were errors processing your request", "errors":
["…"]}`` whose sentences are written for people: they reach the client as they are (a 4xx is
a definite "not applied" — never "outcome unknown"). The sentences carry no codes, so
``read_error`` names the ones the gateway acts on (table below); a refusal it does not know is
still a definite ``REJECTED`` with the server's reason. Auth failures are a ``text/html``
401 for every cause (the session flow in ``auth.py`` renews once first); an unknown id is a
404 JSON. 5xx never get here: the upstream client reports them (for a write: outcome unknown).

Sentences observed on a real 2.9 server (``docs/librebooking-real-server.md``):

====================  ==========================================================================
code                  sentence
====================  ==========================================================================
``conflict``          There are conflicting reservations on the following dates: …
``start-invalid``     The start date and time requested is not valid.
``end-invalid``       The end date and time requested is not valid.
``past``              The start date and time cannot be in the past.
``notice``            This reservation requires advance notice. The earliest date and time …
``too-far``           This reservation cannot be made this far in the future. The latest …
``across-days``       Table 1 does not allow reservations across days.
``attributes``        There are problems with the additional attributes you provided: …
====================  ==========================================================================
"""

from __future__ import annotations

import httpx

from tablegraph.errors import NotFound, PolicyViolation, SlotUnavailable, UpstreamAuthError
from tablegraph.providers.kit import ErrorBody, ErrorTable, Rule

#: Phrase found in a refusal sentence → the code the table matches on.
PHRASES: tuple[tuple[str, str], ...] = (
    ("There are conflicting reservations", "conflict"),
    ("The start date and time requested is not valid", "start-invalid"),
    ("The end date and time requested is not valid", "end-invalid"),
    ("cannot be in the past", "past"),
    ("requires advance notice", "notice"),
    ("cannot be made this far in the future", "too-far"),
    ("does not allow reservations across days", "across-days"),
    ("problems with the additional attributes", "attributes"),
)


def _readable(sentence: str) -> bool:
    # A real server puts PHP stack traces in errors[] for some bad updates: never shown.
    return bool(sentence.strip()) and "#0 " not in sentence and ".php" not in sentence


def read_error(response: httpx.Response) -> ErrorBody:
    """The sentences of a LibreBooking error answer, and the code of the first known one."""
    body = response.json()
    if not isinstance(body, dict):
        return ErrorBody()
    raw = body.get("errors") or ([body["message"]] if body.get("message") else [])
    sentences = tuple(" ".join(str(s).split()) for s in raw if isinstance(s, str) and _readable(s))
    code = next((c for phrase, c in PHRASES for s in sentences if phrase in s), None)
    return ErrorBody(code=code, messages=sentences)


_POLICY = ("start-invalid", "end-invalid", "past", "notice", "too-far", "across-days")

ERRORS = ErrorTable(
    provider="LibreBooking",
    parse=read_error,
    show_provider_messages=True,
    rules=(
        Rule(
            UpstreamAuthError,
            status=401,
            message="LibreBooking refused the session or this account may not do that (401)",
        ),
        Rule(NotFound, status=404, message="not found at LibreBooking"),
        Rule(SlotUnavailable, status=400, code="conflict"),
        *(Rule(PolicyViolation, status=400, code=code) for code in _POLICY),
    ),
)
