"""OpenTelemetry spans per GraphQL operation and per upstream call, with the ``otel`` extra.

``pip install 'tablegraph[otel]'`` brings the OpenTelemetry API, SDK and OTLP exporters;
``serve`` then calls ``configure()``, which turns spans on when the standard environment asks
for an exporter — ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``; ``none`` is off) or an OTLP
endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) — and
``OTEL_SDK_DISABLED`` is not ``true``. The OTLP exporter reads the rest of its settings from the
same variables (protocol ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL``: ``http/protobuf`` by
default, or ``grpc``; headers, timeouts, certificates); the service name is
``OTEL_SERVICE_NAME`` or ``tablegraph``; the sampler ``OTEL_TRACES_SAMPLER``. Without the
extra, or without those variables, nothing here does anything beyond ``tracing``: the
``traceparent`` is carried as before and no span is made.

Spans, when on:

- ``operation(...)`` — one ``SERVER`` span per GraphQL request, named by the operation (or its
  type when anonymous), with ``graphql.operation.name``, ``graphql.operation.type``,
  ``tablegraph.client_id`` and ``tablegraph.outcome``. It continues the client's
  ``traceparent`` (same trace id, the client's span as parent) or starts a trace, and becomes
  the request's trace context (``tracing``), so upstream calls are its children.
- ``upstream_call(...)`` — one ``CLIENT`` span per HTTP exchange with an upstream (each retry
  is an exchange), named ``METHOD route-template``, with ``tablegraph.upstream``,
  ``http.request.method``, ``url.template`` and ``http.response.status_code``. The
  ``traceparent`` sent upstream names this span, so the upstream's own spans hang under it.

Off, ``upstream_call`` still gives the headers ``tracing.outgoing()`` makes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tablegraph import tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

try:
    from opentelemetry import trace as _trace
    from opentelemetry.trace import SpanKind, StatusCode
except ImportError:  # the extra is not installed: tracing alone
    _trace = None  # type: ignore[assignment]

INSTRUMENTATION = "tablegraph"
_tracer: Tracer | None = None


def available() -> bool:
    """True when the ``otel`` extra is installed."""
    return _trace is not None


def enabled() -> bool:
    return _tracer is not None


def install(provider: TracerProvider) -> None:
    """Make spans with ``provider`` (``configure`` does; tests pass one with an in-memory
    exporter)."""
    global _tracer
    _tracer = provider.get_tracer(INSTRUMENTATION)


def uninstall() -> None:
    global _tracer
    _tracer = None


def configure(environ: Mapping[str, str] = os.environ) -> bool:
    """Turn spans on when the extra is installed and the environment asks for an exporter;
    True when on. Also makes the provider the global one, for other instrumentation."""
    if _trace is None or environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter_name = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if exporter_name == "none" or not (exporter_name or endpoint):
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: INSTRUMENTATION}))
    console = exporter_name == "console"
    exporter: SpanExporter = ConsoleSpanExporter() if console else _otlp_exporter(environ)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _trace.set_tracer_provider(provider)
    install(provider)
    return True


def _otlp_exporter(environ: Mapping[str, str]) -> SpanExporter:
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol.strip().lower() == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class Operation:
    """The GraphQL request's span, told its outcome once known (a no-op when off)."""

    def __init__(self, span: Span | None = None) -> None:
        self._span = span

    def outcome(self, outcome: str) -> None:
        if self._span is None:
            return
        self._span.set_attribute("tablegraph.outcome", outcome)
        if outcome != "ok":
            self._span.set_status(StatusCode.ERROR, outcome)


class Call:
    """One upstream exchange: the headers to send, and its status once known."""

    def __init__(self, headers: dict[str, str], span: Span | None = None) -> None:
        self.headers = headers
        self._span = span

    def status(self, status: str) -> None:
        if self._span is None:
            return
        if status.isdigit():
            self._span.set_attribute("http.response.status_code", int(status))
            if int(status) >= 500:
                self._span.set_status(StatusCode.ERROR, status)
        else:  # timeout, transport-error, cancelled
            self._span.set_attribute("error.type", status)
            self._span.set_status(StatusCode.ERROR, status)


@contextmanager
def operation(
    header: str | None, *, name: str | None, kind: str, client: str
) -> Iterator[Operation]:
    """This request's trace context (``tracing.scope``) and, when on, its operation span."""
    tracer = _tracer
    if tracer is None or _trace is None:
        with tracing.scope(header):
            yield Operation()
        return
    parent = tracing.parse(header)
    context = None
    if parent is not None:
        remote = _trace.SpanContext(
            int(parent.trace_id, 16),
            int(parent.parent_id, 16),
            is_remote=True,
            trace_flags=_trace.TraceFlags(int(parent.flags, 16)),
        )
        context = _trace.set_span_in_context(_trace.NonRecordingSpan(remote))
    attributes = {"graphql.operation.type": kind, "tablegraph.client_id": client}
    if name:
        attributes["graphql.operation.name"] = name
    with tracer.start_as_current_span(
        name or kind, context=context, kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        own = span.get_span_context()
        if not own.is_valid:  # a sampler that records nothing: keep the plain trace context
            with tracing.scope(header):
                yield Operation(span)
            return
        ids = tracing.TraceContext(
            _trace.format_trace_id(own.trace_id),
            _trace.format_span_id(own.span_id),
            f"{int(own.trace_flags):02x}",
        )
        with tracing.continued(ids):
            yield Operation(span)


@contextmanager
def upstream_call(upstream: str, method: str, route: str) -> Iterator[Call]:
    """One HTTP exchange with ``upstream``: its ``traceparent`` and, when on, its span."""
    tracer = _tracer
    if tracer is None or _trace is None:
        yield Call(tracing.outgoing())
        return
    attributes = {
        "tablegraph.upstream": upstream,
        "http.request.method": method,
        "url.template": route,
    }
    with tracer.start_as_current_span(
        f"{method} {route}", kind=SpanKind.CLIENT, attributes=attributes
    ) as span:
        own = span.get_span_context()
        if not own.is_valid:
            yield Call(tracing.outgoing(), span)
            return
        ids = tracing.TraceContext(
            _trace.format_trace_id(own.trace_id),
            _trace.format_span_id(own.span_id),
            f"{int(own.trace_flags):02x}",
        )
        yield Call({tracing.HEADER: ids.header()}, span)
