"""``tablegraph check``: validate a configuration, then probe every upstream once.

For each upstream the report says, in this order, and stops at the first "no":

- **reachable** — one plain GET of ``base_url`` without credentials. Any HTTP answer (even a
  401 or 404) means reachable; otherwise *why* not, told apart: the host name does not
  resolve (DNS), nothing listens on the port (refused), the TLS handshake or certificate
  failed (TLS), or no answer in time (timeout);
- **credentials** — the adapter's own health check (``Provider.check_health``): accepted, or
  refused with the variables to look at; a 404 there means the API is not under
  ``base_url`` (the path prefix);
- **restaurants** — how many the upstream exposes (``list_restaurants``), with names.

Configuration mistakes (a missing scheme, a missing path prefix, wrong types…) are found
before any probe by ``configmodel``, each with its exact fix. Exit code: 0 every upstream
answered with its restaurants; 1 some did not; 2 the file itself is wrong.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from tablegraph.errors import GatewayError, NotFound, UpstreamAuthError
from tablegraph.settings import ConfigError, GatewaySettings, UpstreamConfig

#: Seconds each probe may take at most (an upstream's own timeout may be shorter).
PROBE_TIMEOUT = 5.0


@dataclass
class UpstreamReport:
    name: str
    kind: str
    base_url: str
    reachable: bool = False
    credentials: bool = False
    restaurants: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reachable and self.credentials and bool(self.restaurants)

    def render(self) -> str:
        head = f"{self.name} ({self.kind}) {self.base_url}"
        return "\n".join([head, *(f"  {line}" for line in self.lines)])


def unreachable_reason(exc: BaseException) -> str:
    """Why a plain GET got no HTTP answer: DNS, refused, TLS, timeout, or the error itself."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout: no answer in time (a firewall, or the wrong host or port?)"
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        marker in text
        for marker in ("name or service not known", "nodename nor servname", "name resolution")
    ):
        return "DNS: the host name does not resolve (a typo in base_url?)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or (
        "connection refused" in text or f"errno {errno.ECONNREFUSED}" in text
    ):
        return "refused: nothing listens on that host and port (is the server running?)"
    if any(isinstance(e, ssl.SSLError) for e in chain) or any(
        marker in text for marker in ("ssl", "certificate", "tls")
    ):
        return (
            "TLS: the handshake or the certificate failed "
            "(http:// vs https://, or a self-signed certificate?)"
        )
    return f"not reachable: {type(exc).__name__}: {exc}"


async def probe_reachable(
    url: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[int | None, str]:
    """(HTTP status or ``None``, what to say)."""
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            response = await client.get(url)
    except (httpx.HTTPError, OSError) as exc:
        return None, unreachable_reason(exc)
    ms = (time.perf_counter() - started) * 1000
    return response.status_code, f"reachable: yes (HTTP {response.status_code} in {ms:.0f} ms)"


async def check_upstream(
    config: UpstreamConfig, settings: GatewaySettings, environ: Mapping[str, str]
) -> UpstreamReport:
    from tablegraph.gateway import Gateway

    report = UpstreamReport(config.name, config.kind, config.base_url)
    timeout = min(config.timeout_seconds, PROBE_TIMEOUT)
    status, said = await probe_reachable(config.base_url, timeout)
    report.lines.append(said if status is not None else f"reachable: NO — {said}")
    if status is None:
        return report
    report.reachable = True
    gateway = Gateway(GatewaySettings(upstreams=(config,), limits=settings.limits))
    try:
        await gateway.start()
        provider = gateway.provider(config.name)
        try:
            await asyncio.wait_for(provider.check_health(), timeout * 2)
        except UpstreamAuthError as exc:
            names = ", ".join(config.credentials) or "none configured"
            report.lines.append(
                f"credentials: REFUSED ({exc.message}) — check the values of the environment "
                f"variables named under credentials ({names})"
            )
            return report
        except NotFound:
            report.lines.append(
                "credentials: not checked — the API was not found under base_url (HTTP 404): "
                "check the path prefix of base_url"
            )
            return report
        except (GatewayError, TimeoutError) as exc:
            code = exc.code if isinstance(exc, GatewayError) else "UPSTREAM_TIMEOUT"
            report.lines.append(f"credentials: not checked — the upstream failed ({code})")
            return report
        report.credentials = True
        report.lines.append("credentials: accepted")
        try:
            restaurants = await asyncio.wait_for(provider.list_restaurants(), timeout * 2)
        except (GatewayError, TimeoutError) as exc:
            code = exc.code if isinstance(exc, GatewayError) else "UPSTREAM_TIMEOUT"
            report.lines.append(f"restaurants: could not be listed ({code})")
            return report
        report.restaurants = [r.name for r in restaurants]
        shown = ", ".join(report.restaurants[:5]) + (", …" if len(restaurants) > 5 else "")
        if restaurants:
            report.lines.append(f"restaurants: {len(restaurants)} found ({shown})")
        else:
            report.lines.append("restaurants: none found — check the options that name them")
    finally:
        await gateway.close()
    return report


async def check_all(settings: GatewaySettings, environ: Mapping[str, str]) -> list[UpstreamReport]:
    return list(
        await asyncio.gather(*(check_upstream(u, settings, environ) for u in settings.upstreams))
    )


def run_check(path: str, environ: Mapping[str, str], out: list[str]) -> int:
    """The whole command: lines appended to ``out``; the exit code returned."""
    from tablegraph.configmodel import load_config

    settings = load_config(path, environ)  # ConfigError: the caller prints it, exit 2
    out.append(f"{path}: valid ({len(settings.upstreams)} upstreams)")
    try:
        reports = asyncio.run(check_all(settings, environ))
    except ConfigError as exc:  # an adapter refused its configuration when built
        raise ConfigError(f"{path}: {exc}") from None
    for report in reports:
        out.append("")
        out.append(report.render())
    failed = [r.name for r in reports if not r.ok]
    out.append("")
    out.append(f"not ready: {', '.join(failed)}" if failed else "every upstream is ready")
    return 1 if failed else 0
