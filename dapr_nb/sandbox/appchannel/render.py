"""Turn an app's answer into what daprd answers an HTTP caller or a gRPC ``InvokeService`` caller.

Rules (dapr/dapr ``pkg/api/http/directmessaging.go``, ``pkg/api/grpc/grpc.go`` ``InvokeService``):
an HTTP app's status, headers and body reach an HTTP caller unchanged; a gRPC app's failing status
becomes the matching HTTP status with the status as JSON (``{"code":…,"message":…}``). A gRPC
caller gets the app's headers as metadata (HTTP's permanent ones ``dapr-``-prefixed) plus
``dapr-http-status``; an HTTP status outside 2xx becomes a gRPC error whose message is the status
text and whose ErrorInfo carries ``http.code`` and the first 63 bytes of the body.
"""

from __future__ import annotations

import http
import json
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2, status_pb2

from . import headers
from .messages import InvokeResult, Pairs

PROTOBUF = "application/x-protobuf"
SNIFFED_TEXT = "text/plain; charset=utf-8"
"""What Go's ResponseWriter sniffs for daprd's JSON status body written without a content type."""

_HTTP_BY_GRPC = {
    0: 200, 1: 408, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501,
    13: 500, 14: 503, 15: 500, 16: 401,
}  # fmt: skip
_GRPC_BY_HTTP = {408: 1, 500: 2, 400: 13, 504: 4, 404: 5, 409: 6, 403: 7, 401: 16, 429: 8, 501: 12, 503: 14}
_CODES = {code.value[0]: code for code in grpc.StatusCode}


@dataclass(frozen=True)
class HttpAnswer:
    """What the HTTP API writes back."""

    status: int
    headers: Pairs
    content_type: str
    body: bytes


@dataclass(frozen=True)
class GrpcAnswer:
    """What ``InvokeService`` answers: a response, or a failing status; metadata either way."""

    initial: Pairs
    trailing: Pairs
    content_type: str = ""
    data: bytes = b""
    type_url: str = ""
    code: grpc.StatusCode = grpc.StatusCode.OK
    message: str = ""
    details: tuple[bytes, ...] = ()

    def status(self) -> status_pb2.Status:
        """Return the failing status as ``google.rpc.Status``."""
        packed = [any_pb2.Any.FromString(d) for d in self.details]
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=packed)


def for_http(result: InvokeResult) -> HttpAnswer:
    """Render ``result`` for an HTTP caller."""
    pairs = headers.to_http(result.headers)
    if result.traceparent:
        pairs = (*pairs, ("Traceparent", result.traceparent))
    if result.http:
        return HttpAnswer(result.status, pairs, result.content_type, result.data)
    if result.ok:
        content_type = PROTOBUF if result.type_url else result.content_type
        return HttpAnswer(200, pairs, content_type, result.data)
    status = _status_json(result)
    return HttpAnswer(_HTTP_BY_GRPC.get(result.status, 500), pairs, SNIFFED_TEXT, status)


def _status_json(result: InvokeResult) -> bytes:
    packed = [any_pb2.Any.FromString(d) for d in result.details]
    message = status_pb2.Status(code=result.status, message=result.message, details=packed)
    try:
        value = json_format.MessageToDict(message)
    except (TypeError, KeyError, json_format.Error):  # a detail type this process does not know
        value = {"code": result.status, "message": result.message}
    return json.dumps(value, separators=(",", ":")).encode()


def for_grpc(result: InvokeResult) -> GrpcAnswer:
    """Render ``result`` for a gRPC ``InvokeService`` caller."""
    trace = (("traceparent", result.traceparent),) if result.traceparent else ()
    if not result.http:
        initial = (*trace, *headers.to_grpc(result.headers, from_http=False))
        trailing = (*headers.to_grpc(result.trailers, from_http=False), *trace)
        return GrpcAnswer(
            initial, trailing, result.content_type, result.data, result.type_url, _CODES.get(result.status,
            grpc.StatusCode.UNKNOWN), result.message, result.details,
        )  # fmt: skip
    initial = (*trace, *headers.to_grpc(result.headers, from_http=True), ("dapr-http-status", str(result.status)))
    if result.ok:
        return GrpcAnswer(initial, (), result.content_type, result.data)
    text = _status_text(result.status)
    info = error_details_pb2.ErrorInfo(
        reason=text, domain="dapr.io",
        metadata={"http.code": str(result.status), "http.error_message": result.data[:63].decode("utf-8", "replace")},
    )  # fmt: skip
    packed = any_pb2.Any()
    packed.Pack(info)
    code = _CODES[_GRPC_BY_HTTP.get(result.status, 2)]
    return GrpcAnswer(initial, (), code=code, message=text, details=(packed.SerializeToString(),))


def _status_text(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
