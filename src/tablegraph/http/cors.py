"""Cross-origin access for browser apps: an allowlist of origins, preflights answered.

``[cors] allow_origins`` holds exact origins (``https://app.example.com``,
``http://localhost:3000``) and wildcard-subdomain patterns (``https://*.example.com``: any
subdomain at any depth, same scheme and port, not ``example.com`` itself). An allowed origin's
preflight gets the methods (GET, POST) and the request headers clients send; its responses
carry ``Access-Control-Allow-Origin`` with that origin. Any other origin gets no CORS headers
at all, so the browser keeps the answer from the page.

No credentials mode: clients authenticate with an ``Authorization`` header they set, never
with cookies, so ``Access-Control-Allow-Credentials`` is never sent.

Simple cross-site requests (those a browser sends without a preflight) stay harmless without
this module: a POST must be ``application/json`` (a form or ``text/plain`` POST gets 415),
and a GET cannot run a mutation (405); a GET query's answer is unreadable to the page.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from tablegraph.http.headers import add_vary
from tablegraph.settings import CorsSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Paths browsers may call cross-origin.
CORS_PATHS = frozenset({"/graphql"})
_METHODS = ("GET", "POST")
#: Response headers a page may read besides the CORS-safelisted ones.
_EXPOSE = ("ETag", "Retry-After", "WWW-Authenticate")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ORIGIN = re.compile(r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?")
_PATTERN = re.compile(r"(https?)://(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?")


@dataclass(frozen=True)
class OriginPattern:
    scheme: str
    host: str  # for a wildcard: the domain the subdomains are under
    port: int
    wildcard: bool

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if (scheme, port) != (self.scheme, self.port):
            return False
        return host.endswith("." + self.host) if self.wildcard else host == self.host


def parse_origin_pattern(text: str) -> OriginPattern:
    """An allowlist entry; ``ValueError`` naming what is wrong with it."""
    match = _PATTERN.fullmatch(text.lower())
    if match is None:
        raise ValueError(
            f"{text!r} is not an origin (scheme://host[:port], no path) "
            "or a pattern like https://*.example.com"
        )
    scheme, star, host, port = match.groups()
    if star and "." not in host:
        raise ValueError(f"{text!r} would allow every site under a top-level domain")
    return OriginPattern(scheme, host, int(port) if port else _DEFAULT_PORTS[scheme], bool(star))


class CorsPolicy:
    def __init__(self, settings: CorsSettings) -> None:
        self.patterns = tuple(parse_origin_pattern(o) for o in settings.allow_origins)
        self.allow_headers = ", ".join(settings.allow_headers)
        self.max_age = str(settings.max_age_seconds)

    def allows(self, origin: str) -> bool:
        match = _ORIGIN.fullmatch(origin)  # browsers send origins in lower case
        if match is None:
            return False  # "null" (sandboxed frames, file://) included
        scheme, host, port = match.groups()
        number = int(port) if port else _DEFAULT_PORTS[scheme]
        return any(p.matches(scheme, host, number) for p in self.patterns)

    def preflight(self, request: web.Request, origin: str) -> web.Response:
        method = request.headers.get("Access-Control-Request-Method", "")
        if not self.allows(origin) or method not in _METHODS:
            return web.Response(status=403, headers={"Vary": "Origin"})
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ", ".join(_METHODS),
                "Access-Control-Allow-Headers": self.allow_headers,
                "Access-Control-Max-Age": self.max_age,
                "Vary": "Origin",
            },
        )

    def decorate(self, response: web.StreamResponse, origin: str | None) -> None:
        add_vary(response, "Origin")
        if origin is not None and self.allows(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = ", ".join(_EXPOSE)


def cors_middleware(policy: CorsPolicy) -> Middleware:
    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in CORS_PATHS:
            return await handler(request)
        origin = request.headers.get("Origin")
        if (
            request.method == "OPTIONS"
            and origin is not None
            and "Access-Control-Request-Method" in request.headers
        ):
            return policy.preflight(request, origin)
        response = await handler(request)
        if not response.prepared:  # one already sent (a refused body) has its headers out
            policy.decorate(response, origin)
        return response

    return cors
