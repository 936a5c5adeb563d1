"""The public error hierarchy: every failure of a Dapr call is a :class:`DaprError`.

Rule: no raw ``grpc.RpcError`` and no HTTP exception ever reaches a caller. The class is chosen from
the gRPC status code (and, for "not found" reasons daprd reports as INVALID_ARGUMENT, from the
ErrorInfo reason); the rich details daprd attaches travel along as plain Python values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResourceInfo:
    """The resource an error is about (``google.rpc.ResourceInfo``)."""

    resource_type: str
    resource_name: str
    owner: str = ""
    description: str = ""


@dataclass(frozen=True)
class FieldViolation:
    """One bad-request field violation (``google.rpc.BadRequest.FieldViolation``)."""

    field: str
    description: str


class DaprError(Exception):
    """A Dapr call failed: gRPC status code name, message and daprd's rich details."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "UNKNOWN",
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
        resource: ResourceInfo | None = None,
        violations: tuple[FieldViolation, ...] = (),
        help_links: tuple[str, ...] = (),
        operation: str = "",
        endpoint: str = "",
        http_status: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})
        self.resource = resource
        self.violations = violations
        self.help_links = help_links
        self.operation = operation
        self.endpoint = endpoint
        self.http_status = http_status

    @property
    def error_code(self) -> str:
        """Return daprd's error code (the ErrorInfo reason), or the status code name when there is none."""
        return self.reason or self.code

    def summary(self) -> str:
        """Return one line: ``operation: CODE [REASON] message``."""
        head = f"{self.operation}: " if self.operation else ""
        reason = f" [{self.reason}]" if self.reason else ""
        return f"{head}{self.code}{reason} {self.message}".strip()

    def __str__(self) -> str:
        return self.summary()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[DaprError], message: str, state: dict[str, Any]) -> DaprError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class InvalidArgument(DaprError):
    """The request was rejected as malformed (INVALID_ARGUMENT, OUT_OF_RANGE)."""


class NotFound(DaprError):
    """A component, key, job or instance does not exist."""


class Conflict(DaprError):
    """A concurrency conflict: etag mismatch (ABORTED) or ALREADY_EXISTS; ``etag`` is the one sent, if any."""

    etag: str | None = None


class FailedPrecondition(DaprError):
    """The sidecar is not configured for the call (FAILED_PRECONDITION)."""


class Unauthenticated(DaprError):
    """The ``dapr-api-token`` is missing or wrong (set DAPR_API_TOKEN or pass ``api_token=``)."""


class PermissionDenied(DaprError):
    """A scope or policy forbids the call."""


class Unimplemented(DaprError, NotImplementedError):
    """The sidecar does not implement the call (older runtime, or the sandbox lacks it)."""


class SidecarUnavailable(DaprError, ConnectionError):
    """No sidecar answers at the endpoint; the message says which one and how to start one."""


class DeadlineExceeded(DaprError, TimeoutError):
    """The call did not finish before its deadline."""


class Internal(DaprError):
    """The sidecar or a component failed (INTERNAL, UNKNOWN, DATA_LOSS)."""


class Cancelled(DaprError):
    """The call was cancelled."""


class StreamError(DaprError, RuntimeError):
    """A subscription or watch can no longer be used; the message says why and what to do."""


class StreamClosed(StreamError):
    """The stream was closed (by ``close()`` or by the sidecar ending it); acks on it are refused."""


class StreamFailed(StreamError):
    """The stream broke (sidecar died, network lost); ``__cause__`` is the error the driver saw."""


ERROR_CLASSES: dict[str, type[DaprError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "OUT_OF_RANGE": InvalidArgument,
    "NOT_FOUND": NotFound,
    "ABORTED": Conflict,
    "ALREADY_EXISTS": Conflict,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "UNIMPLEMENTED": Unimplemented,
    "UNAVAILABLE": SidecarUnavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "INTERNAL": Internal,
    "UNKNOWN": Internal,
    "DATA_LOSS": Internal,
    "RESOURCE_EXHAUSTED": Internal,
    "CANCELLED": Cancelled,
}

__all__ = [
    "Cancelled",
    "Conflict",
    "DaprError",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceInfo",
    "SidecarUnavailable",
    "StreamClosed",
    "StreamError",
    "StreamFailed",
    "Unauthenticated",
    "Unimplemented",
]
