"""Channel construction in one place: options, TLS, keepalive, message size, user agent; plus stubs and errors.

Rule: both drivers build channels only here, only when a call first needs one; the API token is never a
channel interceptor but explicit call metadata on every call kind (unary and streams alike).
"""

from __future__ import annotations

from typing import Any

import grpc

from .. import __version__
from ..core.errors import DETAILS_KEY, from_status
from ..core.ops import DAPR, WORKFLOW
from ..errors import DaprError
from .config import Settings


def channel_options(settings: Settings) -> list[tuple[str, Any]]:
    """Return the grpcio channel options dapr_nb uses."""
    return [
        ("grpc.primary_user_agent", f"dapr-nb/{__version__}"),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def sync_channel(settings: Settings) -> grpc.Channel:
    """Create a blocking channel to the configured endpoint."""
    options = channel_options(settings)
    if settings.grpc.tls:
        return grpc.secure_channel(settings.grpc.target, grpc.ssl_channel_credentials(), options=options)
    return grpc.insecure_channel(settings.grpc.target, options=options)


def aio_channel(settings: Settings) -> grpc.aio.Channel:
    """Create a grpc.aio channel; call only inside the running event loop that will use it."""
    options = channel_options(settings)
    if settings.grpc.tls:
        return grpc.aio.secure_channel(settings.grpc.target, grpc.ssl_channel_credentials(), options=options)
    return grpc.aio.insecure_channel(settings.grpc.target, options=options)


def make_stub(service: str, channel: Any) -> Any:
    """Return the generated stub for ``"dapr"`` or ``"workflow"`` on a channel (sync or aio)."""
    if service == DAPR:
        from dapr.proto.runtime.v1 import dapr_pb2_grpc

        return dapr_pb2_grpc.DaprStub(channel)
    if service == WORKFLOW:
        from ..core import _durabletask

        return _durabletask.stub_class()(channel)
    raise ValueError(f"unknown service {service!r}")


def to_dapr_error(error: grpc.RpcError, operation: str, endpoint: str) -> DaprError:
    """Convert a grpcio error (sync or aio) into the DaprError hierarchy, rich details included."""
    code_fn = getattr(error, "code", None)
    code = code_fn() if callable(code_fn) else grpc.StatusCode.UNKNOWN
    details_fn = getattr(error, "details", None)
    message = (details_fn() if callable(details_fn) else "") or ""
    trailers_fn = getattr(error, "trailing_metadata", None)
    blob = None
    for key, value in (trailers_fn() if callable(trailers_fn) else None) or ():
        if key == DETAILS_KEY:
            blob = value if isinstance(value, bytes) else None
    name = code.name if isinstance(code, grpc.StatusCode) else str(code)
    return from_status(name, message, blob, operation=operation, endpoint=endpoint)
