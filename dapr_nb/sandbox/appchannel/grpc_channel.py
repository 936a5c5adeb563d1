"""The gRPC app channel: ``AppCallback.OnInvoke`` as daprd calls it.

Rules (dapr/dapr ``pkg/channel/grpc/grpc_channel.go``): the request's message goes as it is
(method, data, content type, ``http_extension``), metadata through :func:`.headers.to_grpc` plus
``traceparent`` and the app token; the app's answer, a failing status included, comes back as a
gRPC result (daprd does not treat an app's error status as a failed call).
"""

from __future__ import annotations

import base64
import threading

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import appcallback_pb2_grpc
from google.protobuf import any_pb2, empty_pb2
from google.rpc import status_pb2

from . import headers
from .channel import AppSettings
from .messages import InvokeRequest, InvokeResult, Pairs

TIMEOUT = 60.0
_VERBS = {name: number for name, number in common_pb2.HTTPExtension.Verb.items()}


def _raw(metadata: object) -> list[tuple[str, str | bytes]]:
    """Return grpcio metadata (tuples or ``_Metadatum``) as plain pairs."""
    return [(str(item[0]), item[1]) for item in metadata or ()]  # type: ignore[attr-defined]


def _pairs(metadata: object) -> Pairs:
    """Turn grpcio metadata into string pairs, ``-bin`` values base64-encoded as daprd keeps them."""
    out: list[tuple[str, str]] = []
    for key, value in _raw(metadata):
        if isinstance(value, bytes):
            out.append((key, base64.b64encode(value).decode()))
        else:
            out.append((key, str(value)))
    return tuple(out)


def outgoing(pairs: Pairs) -> tuple[tuple[str, str | bytes], ...]:
    """Turn string pairs into grpcio metadata: ``-bin`` values decoded, values grpcio would refuse dropped."""
    out: list[tuple[str, str | bytes]] = []
    for key, value in pairs:
        if key.endswith("-bin"):
            try:
                out.append((key, base64.b64decode(value)))
            except ValueError:
                continue
        elif value.isascii() and value.isprintable() and key.isascii():
            out.append((key, value))
    return tuple(out)


class GrpcChannel:
    """Call a gRPC app's ``AppCallback`` over one lazily opened channel."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None

    def _stub(self) -> appcallback_pb2_grpc.AppCallbackStub:
        with self._lock:
            if self._channel is None:
                self._channel = grpc.insecure_channel(f"{self.settings.address}:{self.settings.port}")
            return appcallback_pb2_grpc.AppCallbackStub(self._channel)

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        """Call ``OnInvoke`` and return the app's answer or status."""
        message = common_pb2.InvokeRequest(
            method=request.method,
            data=any_pb2.Any(type_url=request.type_url, value=request.data),
            content_type=request.content_type,
        )
        if request.verb:
            message.http_extension.verb = _VERBS.get(request.verb, common_pb2.HTTPExtension.POST)
            message.http_extension.querystring = request.query
        metadata = list(headers.to_grpc(request.headers, from_http=not request.from_grpc))
        if request.traceparent:
            metadata.append(("traceparent", request.traceparent))
        if self.settings.token:
            metadata = [(k, v) for k, v in metadata if k != "dapr-api-token"]
            metadata.append(("dapr-api-token", self.settings.token))
        try:
            response, call = self._stub().OnInvoke.with_call(message, metadata=outgoing(tuple(metadata)),
                                                             timeout=TIMEOUT)  # fmt: skip
        except grpc.RpcError as error:
            return _failed(error, request.traceparent)
        return InvokeResult(
            status=0, http=False, headers=_pairs(call.initial_metadata()), content_type=response.content_type,
            data=response.data.value, type_url=response.data.type_url, trailers=_pairs(call.trailing_metadata()),
            traceparent=request.traceparent,
        )  # fmt: skip

    def probe(self, path: str, timeout: float) -> bool:
        """Return whether ``AppCallbackHealthCheck.HealthCheck`` succeeds within ``timeout`` seconds."""
        self._stub()
        assert self._channel is not None
        stub = appcallback_pb2_grpc.AppCallbackHealthCheckStub(self._channel)
        metadata = (("dapr-api-token", self.settings.token),) if self.settings.token else ()
        try:
            stub.HealthCheck(empty_pb2.Empty(), metadata=metadata, timeout=timeout)
        except grpc.RpcError:
            return False
        return True

    def close(self) -> None:
        """Close the channel."""
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None


def _failed(error: grpc.RpcError, traceparent: str) -> InvokeResult:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details: tuple[bytes, ...] = ()
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else ()
    for key, value in _raw(trailing):
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            details = tuple(d.SerializeToString() for d in status.details)
    initial = error.initial_metadata() if hasattr(error, "initial_metadata") else ()
    return InvokeResult(
        status=code.value[0], http=False, headers=_pairs(initial),
        message=(error.details() if hasattr(error, "details") else str(error)) or "", details=details,
        trailers=tuple(p for p in _pairs(trailing) if p[0] != "grpc-status-details-bin"), traceparent=traceparent,
    )  # fmt: skip
