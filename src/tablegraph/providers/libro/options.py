"""The ``options`` table of a Libro upstream, typed and validated when the config is read."""

from __future__ import annotations

from pydantic import Field

from tablegraph.providers.kit import ProviderOptions
from tablegraph.tokenstore import DEFAULT_KEY_ENV

#: Libro's documented ``limit`` maximum (``_pagination.md``).
MAX_PAGE = 250


class LibroOptions(ProviderOptions):
    #: Restaurant codes the partner account exposes (empty: every restaurant it can see).
    restaurant_codes: tuple[str, ...] = ()
    #: Use the partner account's client-credentials token (off: connected accounts only).
    client_credentials: bool = True
    #: Defaults: ``<base_url>/oauth/token`` and ``<base_url>/oauth/authorize``; the
    #: authorization-code token URL defaults to ``token_url``.
    token_url: str | None = None
    oauth_token_url: str | None = None
    authorize_url: str | None = None
    #: The OAuth callback as Libro knows it (default: derived from the request).
    redirect_uri: str | None = None
    scopes: str = "bookings people reviews"
    #: An encrypted SQLite file of its own for the tokens (default: the gateway's store,
    #: encrypted with the token key; without a key, this process's memory).
    token_store_path: str | None = None
    token_store_key_env: str = DEFAULT_KEY_ENV
    page_size: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE)
    #: Concurrent requests per token (providers/libro.md: "≤5 concurrent requests per token").
    max_concurrency: int = Field(5, ge=1)
    refresh_margin_seconds: float = Field(60.0, ge=0)
    #: ``amount-cents`` carries no currency.
    currency: str = "CAD"
    #: How long the restaurant list is kept (a gateway cache).
    reference_ttl_seconds: float = Field(300.0, gt=0)
