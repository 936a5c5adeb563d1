"""daprd's error model, written once for both API surfaces.

Every building block raises :class:`DaprApiError`; the gRPC surface turns it into a
``google.rpc.Status`` with ErrorInfo / ResourceInfo / BadRequest details (so the official SDK's
``DaprGrpcError`` exposes them), the HTTP surface into daprd's ``{"errorCode", "message"}`` body.
"Kit" errors (state, pubsub, configuration, jobs) carry a ``reason``; daprd's legacy API errors
(secrets, lock, bindings) carry only a code and a message, so ``reason`` stays empty for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

DOMAIN = "dapr.io"
TYPE_PREFIX = "type.googleapis.com/"

_HTTP_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


@dataclass(eq=False)  # not frozen: contextlib assigns __traceback__ on exceptions
class DaprApiError(Exception):
    """An error as daprd reports it: gRPC code, message and optional rich details.

    ``error_code`` is the HTTP ``errorCode`` (``ERR_…``); it defaults to ``reason``. ``http_status``
    defaults to the usual mapping of ``code``.
    """

    code: grpc.StatusCode
    message: str
    reason: str = ""
    error_code: str = ""
    http_status: int = 0
    resource: tuple[str, str] | None = None
    violations: tuple[tuple[str, str], ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    help_links: tuple[tuple[str, str], ...] = ()
    resource_description: str = ""

    def __str__(self) -> str:
        return self.message

    def legacy(self) -> DaprApiError:
        """Return this error as daprd's legacy ``APIError`` (``pkg/messages``): same code and text, no details."""
        return replace(self, reason="", error_code=self.error_code or self.reason, metadata={}, resource=None)

    @property
    def status_http(self) -> int:
        """Return the HTTP status daprd answers with for this error."""
        return self.http_status or _HTTP_BY_CODE.get(self.code, 500)

    def to_status(self) -> status_pb2.Status:
        """Build the ``google.rpc.Status`` carried in the ``grpc-status-details-bin`` trailer."""
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        for detail in self._details():
            packed = any_pb2.Any()
            packed.Pack(detail)
            status.details.append(packed)
        return status

    def to_http_body(self) -> dict[str, Any]:
        """Build daprd's JSON error body: every status detail in order, with the kit's field names."""
        body: dict[str, Any] = {"errorCode": self.error_code or self.reason or "ERR_INTERNAL", "message": self.message}
        details = [_http_detail(d) for d in self._details()]
        if details:
            body["details"] = details
        return body

    def _details(self) -> list[Message]:
        """Return the details in daprd's order: field violations, help, ResourceInfo, then ErrorInfo last."""
        details: list[Message] = []
        if self.violations:
            details.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in self.violations
                    ]
                )
            )
        if self.help_links:
            details.append(
                error_details_pb2.Help(
                    links=[error_details_pb2.Help.Link(description=d, url=u) for d, u in self.help_links]
                )
            )
        if self.resource:
            rtype, rname = self.resource
            details.append(
                error_details_pb2.ResourceInfo(
                    resource_type=rtype, resource_name=rname, description=self.resource_description
                )
            )
        if self.reason:
            details.append(error_details_pb2.ErrorInfo(reason=self.reason, domain=DOMAIN, metadata=dict(self.metadata)))
        return details


def _http_detail(detail: Message) -> dict[str, Any]:
    """Return one status detail as dapr/kit's ``JSONErrorValue`` writes it (its own snake_case field names)."""
    kind = f"{TYPE_PREFIX}{detail.DESCRIPTOR.full_name}"
    if isinstance(detail, error_details_pb2.ErrorInfo):
        return {"@type": kind, "domain": detail.domain, "metadata": dict(detail.metadata), "reason": detail.reason}
    if isinstance(detail, error_details_pb2.ResourceInfo):
        return {
            "@type": kind,
            "description": detail.description,
            "owner": detail.owner,
            "resource_name": detail.resource_name,
            "resource_type": detail.resource_type,
        }
    if isinstance(detail, error_details_pb2.BadRequest):
        violations = [_present(field=v.field, description=v.description) for v in detail.field_violations]
        return {"@type": kind, "field_violations": violations}
    if isinstance(detail, error_details_pb2.Help):
        return {"@type": kind, "links": [_present(description=link.description, url=link.url) for link in detail.links]}
    return {"@type": kind}


def _present(**fields: str) -> dict[str, str]:
    """Return the non-empty fields (Go's ``omitempty`` on generated protobuf structs)."""
    return {k: v for k, v in fields.items() if v}


def invalid(message: str, reason: str = "", **kw: Any) -> DaprApiError:
    """Shorthand for an INVALID_ARGUMENT error."""
    return DaprApiError(grpc.StatusCode.INVALID_ARGUMENT, message, reason, **kw)


def internal(message: str, reason: str = "", **kw: Any) -> DaprApiError:
    """Shorthand for an INTERNAL error."""
    return DaprApiError(grpc.StatusCode.INTERNAL, message, reason, **kw)


def precondition(message: str, reason: str = "", **kw: Any) -> DaprApiError:
    """Shorthand for a FAILED_PRECONDITION error."""
    return DaprApiError(grpc.StatusCode.FAILED_PRECONDITION, message, reason, **kw)


def illegal_key(key: str, kind: str, name: str, reason: str = "DAPR_STATE_ILLEGAL_KEY") -> DaprApiError:
    """Return daprd's error for a key containing the reserved ``||`` separator."""
    message = f"input key/keyPrefix '{key}' can't contain '||'"
    return invalid(
        message, reason, error_code="ERR_MALFORMED_REQUEST", resource=(kind, name), violations=((key, message),)
    )


class ComponentError(Exception):
    """A component YAML the sandbox cannot load; the message says what to do instead."""
