"""Turn what a sidecar reports (gRPC status + ``grpc-status-details-bin``, or daprd's HTTP error JSON) into DaprError.

Rule: pure functions over plain values — the drivers hand in code names, messages and trailer bytes,
so this module never sees a channel or a call object.
"""

from __future__ import annotations

import json

from ..errors import ERROR_CLASSES, DaprError, FieldViolation, NotFound, ResourceInfo, SidecarUnavailable

DETAILS_KEY = "grpc-status-details-bin"
HTTP_DETAIL = "http.error_message"
"""ErrorInfo metadata where daprd puts the cause when the status message is only an HTTP status text."""

_HTTP_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    412: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_class(code: str, reason: str) -> type[DaprError]:
    """Pick the DaprError subclass for a status code name and an ErrorInfo reason."""
    if reason.endswith("_NOT_FOUND") and code in ("INVALID_ARGUMENT", "NOT_FOUND"):
        return NotFound
    return ERROR_CLASSES.get(code, DaprError)


def from_status(
    code: str, message: str, details: bytes | None = None, *, operation: str = "", endpoint: str = ""
) -> DaprError:
    """Build a DaprError from a status code name, its message and the serialized ``google.rpc.Status``."""
    reason = ""
    meta: dict[str, str] = {}
    resource: ResourceInfo | None = None
    violations: tuple[FieldViolation, ...] = ()
    links: tuple[str, ...] = ()
    if details:
        reason, meta, resource, violations, links = _parse_details(details)
    detail = meta.get(HTTP_DETAIL, "").strip()
    if detail and detail not in message:  # daprd's ErrorFromHTTPResponseCode: the status text, the why in metadata
        message = f"{message}: {detail}" if message else detail
    if code == "UNAVAILABLE" and endpoint:
        message = unreachable_message(endpoint, message)
    cls = error_class(code, reason)
    return cls(
        message,
        code=code,
        reason=reason,
        metadata=meta,
        resource=resource,
        violations=violations,
        help_links=links,
        operation=operation,
        endpoint=endpoint,
    )


def _parse_details(
    blob: bytes,
) -> tuple[str, dict[str, str], ResourceInfo | None, tuple[FieldViolation, ...], tuple[str, ...]]:
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status.FromString(blob)
    reason, meta, resource, violations, links = "", {}, None, [], []
    for packed in status.details:
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            reason, meta = info.reason, dict(info.metadata)
        elif packed.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            res = error_details_pb2.ResourceInfo()
            packed.Unpack(res)
            resource = ResourceInfo(res.resource_type, res.resource_name, res.owner, res.description)
        elif packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        elif packed.Is(error_details_pb2.Help.DESCRIPTOR):
            helps = error_details_pb2.Help()
            packed.Unpack(helps)
            links += [link.url for link in helps.links]
    return reason, meta, resource, tuple(violations), tuple(links)


def from_http(status: int, body: bytes, *, operation: str = "", endpoint: str = "") -> DaprError:
    """Build a DaprError from daprd's HTTP error response (``{"errorCode", "message"}``)."""
    code = _HTTP_CODES.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    reason, message = "", body.decode("utf-8", "replace").strip() or f"HTTP {status}"
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        reason = str(parsed.get("errorCode") or "")
        message = str(parsed.get("message") or message)
    error = error_class(code, reason)(message, code=code, reason=reason, operation=operation, endpoint=endpoint)
    error.http_status = status
    return error


def unreachable_message(endpoint: str, detail: str = "") -> str:
    """Say which endpoint did not answer and how to start a sidecar there."""
    cause = f" ({detail.strip()})" if detail.strip() else ""
    return (
        f"no Dapr sidecar answers at {endpoint}{cause}. Start one with `dapr-nb sandbox` "
        "(or `dapr run --app-id myapp -- …`), or point DAPR_GRPC_ENDPOINT / DAPR_HTTP_ENDPOINT at a running sidecar."
    )


def unreachable(endpoint: str, detail: str = "", *, operation: str = "") -> SidecarUnavailable:
    """Return the SidecarUnavailable error for an endpoint that refused or timed out a connection."""
    return SidecarUnavailable(
        unreachable_message(endpoint, detail), code="UNAVAILABLE", operation=operation, endpoint=endpoint
    )
