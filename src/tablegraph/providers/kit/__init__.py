"""The provider kit: the plumbing every adapter shares, written once.

- ``calls.Caller`` — call the provider through its ``UpstreamClient`` and map refusals
  through the provider's declared ``errors.ErrorTable``;
- ``answers.MappedAnswers`` (through ``Caller.mapped``) — an answer's mapping reused while
  the upstream sends the same bytes (a polled day's list);
- ``batch.batch_by_key`` — batch-shaped reads from single-item endpoints, bounded and
  de-duplicated, results in key order (``Batch[T]``);
- ``paging.offset_pages`` — every row of an offset-paged list;
- ``ids`` — composite native ids;
- ``auth.StaticAuth`` — Bearer and Basic keys;
- ``options.ProviderOptions`` — typed, validated per-provider options;
- ``webhooks`` — timestamped HMAC signatures and safe JSON bodies;
- ``runtime.Runtime`` — test seams (transport, clocks, sleep) and the gateway's caches,
  passed to every adapter at construction.
"""

from tablegraph.providers.kit.auth import StaticAuth
from tablegraph.providers.kit.batch import Batch, batch_by_key, in_key_order
from tablegraph.providers.kit.calls import Caller
from tablegraph.providers.kit.errors import ErrorBody, ErrorTable, Rule
from tablegraph.providers.kit.options import ProviderOptions
from tablegraph.providers.kit.paging import Page, offset_pages
from tablegraph.providers.kit.runtime import Caches, Runtime

__all__ = [
    "Batch",
    "Caches",
    "Caller",
    "ErrorBody",
    "ErrorTable",
    "Page",
    "ProviderOptions",
    "Rule",
    "Runtime",
    "StaticAuth",
    "batch_by_key",
    "in_key_order",
    "offset_pages",
]
