"""Serving the gateway's app with connection-level limits.

aiohttp closes a connection whose next request's headers have not all arrived within its
``keepalive_timeout`` of the connection opening (or of the previous answer): a client that
trickles headers (slowloris) or sends none is cut off. ``[http] header_timeout_seconds`` sets
it; it is also how long an idle keep-alive connection stays open. Bodies have their own
deadline (``body_timeout_seconds``, enforced while reading them).
"""

from __future__ import annotations

from aiohttp import web

from tablegraph.settings import HttpSettings


async def serve_app(
    app: web.Application,
    http: HttpSettings,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    shutdown_timeout: float = 60.0,
    reuse_port: bool = False,
) -> tuple[web.AppRunner, str]:
    """Start ``app`` on ``host``; returns the runner and its base URL.

    ``shutdown_timeout``: on cleanup the listener closes first, then requests in flight get
    this long to finish. ``reuse_port``: several processes listen on one port (workers)."""
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=http.header_timeout_seconds,
        shutdown_timeout=shutdown_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
    await site.start()
    bound = runner.addresses[0]
    return runner, f"http://{host}:{bound[1]}"
