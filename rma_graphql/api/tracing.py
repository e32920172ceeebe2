"""OpenTelemetry traces, off unless ``RMA_TRACES_EXPORTER`` names an exporter: a span per
HTTP request or websocket (the ASGI instrumentation) with the GraphQL operation's parsing,
validation and resolvers inside it (strawberry's extension).

The packages come with the ``tracing`` extra; they are imported only when tracing is on.
"""

from typing import Any

from starlette.types import ASGIApp


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
            OTLPSpanExporter,
        )
    except ImportError as missing:
        raise RuntimeError(
            "RMA_TRACES_EXPORTER=otlp needs the OTLP exporter: "
            "pip install opentelemetry-exporter-otlp-proto-http"
        ) from missing
    return OTLPSpanExporter()


def start_tracing(exporter_name: str, span_exporter: Any = None) -> Any:
    """Install a tracer provider that sends spans to the exporter; returns the provider."""
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as missing:
        raise RuntimeError(
            f"RMA_TRACES_EXPORTER={exporter_name} needs the tracing extra: pip install 'rma-graphql[tracing]'"
        ) from missing
    provider = TracerProvider(resource=Resource.create({"service.name": "rma-graphql"}))
    if span_exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter(exporter_name)))
    trace.set_tracer_provider(provider)
    return provider


def traced(app: ASGIApp, provider: Any) -> ASGIApp:
    """``app`` inside the ASGI instrumentation's span."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app, tracer_provider=provider)
