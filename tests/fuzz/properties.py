"""What every fuzzed response must satisfy, checked in one place.

- the HTTP status is never 5xx;
- the body is JSON with ``data`` and/or ``errors``, and every error has a known
  ``extensions.code`` (``INTERNAL_SERVER_ERROR`` is a masked bug, so it is not known);
- no text shows a stack trace, a credential, a raw upstream body or an upstream's address;
- an object fetched by its id comes back with that id;
- nothing was logged at ERROR (an unhandled exception in the gateway, aiohttp or a simulator).
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import pkgutil
import re
from collections.abc import Iterable, Iterator
from typing import Any

from tablegraph import app as app_module
from tablegraph import errors, ids
from tablegraph.graphql import schema as schema_module
from tablegraph.graphql.mutations import UserErrorCode
from tablegraph.settings import UpstreamConfig

from .harness import Reply


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _http_modules() -> list[Any]:
    package = importlib.import_module("tablegraph.http")
    return [
        importlib.import_module(f"tablegraph.http.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]


def known_codes() -> frozenset[str]:
    """Every ``extensions.code`` a client may legitimately see, collected from the code."""
    codes = {c.code for c in _subclasses(errors.GatewayError)}
    codes |= {c.value for c in UserErrorCode}
    # The HTTP layer's refusals: (status, "CODE") in app.py and the tablegraph.http modules.
    for module in (app_module, *_http_modules()):
        codes |= set(re.findall(r'\(\s*\d{3},\s*"([A-Z_]+)"', inspect.getsource(module)))
    codes |= {code for _, code in schema_module._VALIDATION_CODES}
    codes |= {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}  # format_error's fallbacks
    return frozenset(codes)


KNOWN_CODES = known_codes()
#: Codes that mean a bug reached the client, masked or not.
BUG_CODES = frozenset({"INTERNAL_SERVER_ERROR", "INTERNAL"})

TRACE_MARKERS = ("Traceback (most recent call last)", 'File "', "Traceback")

#: Strings that only appear in the simulators' own error bodies (their JSON envelopes, HTML
#: error pages and fixed messages): seeing one in a response means a raw body leaked.
RAW_BODY_MARKERS = (
    # Vardvik: {"error": {"code": "validation_error", "message": ..., "details": ...}}
    '{"error": {"code"',
    "'error': {'code'",
    '"validation_error"',
    "'validation_error'",
    "no such endpoint",
    "simulated failure",
    # Libro: {"error": key, "code": "404", "message": ...}; OAuth error bodies
    '"error_description"',
    "'error_description'",
    "Client authentication failed",
    # LibreBooking: {"links": [], "message": ..., "errors": [...]}, Slim HTML pages
    '"links"',
    "'links'",
    "There were errors processing your request",
    "Slim Application Error",
    "Slim\\Slim",
    "404 Page Not Found",
    "You must be authenticated in order to access this service",
    "The requested resource was not found",
    # resOS: bare JSON strings
    "Too many requests, please wait until the limit resets",
    "Invalid customQuery or sort expression",
    "Invalid fromDateTime or toDateTime",
    "Missing required parameter",
)


#: Credentials that name an account rather than prove it: the demo LibreBooking user is
#: ``admin``, whose e-mail ``admin@example.com`` is ordinary guest data.
IDENTIFIER_CREDENTIALS = frozenset({"username", "client_id"})


def credential_values(upstreams: Iterable[UpstreamConfig]) -> list[str]:
    """Every secret credential value of every upstream (``Secret.reveal()``)."""
    return sorted(
        {
            secret.reveal()
            for u in upstreams
            for name, secret in u.credentials.items()
            if secret.reveal() and name not in IDENTIFIER_CREDENTIALS
        }
    )


class Checker:
    def __init__(self, upstreams: list[UpstreamConfig], sim_urls: list[str]) -> None:
        self.credentials = credential_values(upstreams)
        self.addresses = [u.removeprefix("http://") for u in sim_urls]

    def check(self, sent: str, reply: Reply, records: list[logging.LogRecord]) -> dict[str, Any]:
        """Assert the properties; returns the parsed body. ``sent`` is the request as text:
        a string the client sent itself may come back (a note, a search term)."""
        bad_logs = [r for r in records if r.levelno >= logging.ERROR]
        assert not bad_logs, "logged at ERROR:\n" + "\n".join(_describe(r) for r in bad_logs)
        assert reply.status < 500, f"HTTP {reply.status}: {reply.text[:2000]}"
        for marker in TRACE_MARKERS:
            assert marker not in reply.text, f"stack trace in response: {reply.text[:2000]}"
        body = json.loads(reply.text)
        assert isinstance(body, dict) and ("data" in body or "errors" in body), reply.text[:500]
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code in KNOWN_CODES and code not in BUG_CODES, f"error code {code!r}: {error}"
            assert isinstance(error.get("message"), str), error
            for address in self.addresses:
                assert address not in error["message"], f"upstream address leaked: {error}"
        texts = list(_strings(body))
        for secret in self.credentials:
            if secret in sent:
                continue
            leaked = [t for t in texts if secret in t]
            assert not leaked, f"credential {secret[:3]}… in response: {leaked[:3]}"
        for marker in RAW_BODY_MARKERS:
            if marker in sent:
                continue
            leaked = [t for t in texts if marker in t]
            assert not leaked, f"raw upstream body in response ({marker!r}): {leaked[:3]}"
        self._check_logs(sent, records)
        return body

    def _check_logs(self, sent: str, records: list[logging.LogRecord]) -> None:
        for record in records:
            if not record.name.startswith("tablegraph") or ".simulators" in record.name:
                continue
            text = record.getMessage()
            for secret in self.credentials:
                assert secret in sent or secret not in text, f"credential logged: {record.name}"


def check_identity(field: str, variables: dict[str, Any], body: dict[str, Any]) -> None:
    """An object fetched by id is that object: ``booking(id: X)`` never answers with another
    booking (a native id like ``.`` or ``x/../..`` must not steer the adapter elsewhere)."""
    asked = variables.get("id")
    found = (body.get("data") or {}).get(field)
    if not isinstance(asked, str) or not isinstance(found, dict) or "id" not in found:
        return
    assert ids.decode(found["id"]) == ids.decode(asked), f"asked for {asked!r}, got {found}"


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _describe(record: logging.LogRecord) -> str:
    out = f"{record.levelname} {record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        import traceback

        out += "\n" + "".join(traceback.format_exception(*record.exc_info))
    return out
