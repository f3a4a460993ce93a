"""The gateway's HTTP concerns, one module each, used by ``tablegraph.app``:

- ``problem``: request-level failures as a status, a stable code and a GraphQL-shaped body;
- ``body``: whole-body reads with the size limit enforced while reading, bounded JSON;
- ``params``: GraphQL-over-HTTP parameters and the ``X-Request-Timeout-Ms`` header;
- ``clients``: who a request comes from (``client_key``), per-client limits middleware;
- ``ratelimit``: requests and cost per client and minute;
- ``cors``: the origin allowlist and preflights;
- ``caching``: ``Cache-Control`` and ``ETag`` for GET answers that read only reference data;
- ``compression``: gzip or brotli, as the client accepts;
- ``readiness``: ``/readyz`` answered from a short cache;
- ``server``: serving the app with a header-read timeout;
- ``headers``: ``Vary`` and ``no-store`` shared by the above.
"""
