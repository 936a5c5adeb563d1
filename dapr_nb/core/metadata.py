"""Sidecar metadata, readiness and lifecycle: get/set metadata, wait until ready, shut down.

Rule: readiness is probed on the endpoint actually used (GetMetadata over gRPC), with short attempts and
Sleep instructions between them, bounded by the caller's timeout (a :class:`~.ops.Deadline` the driver
enforces, retries included) — never an unbounded wait, and no clock read here.
"""

from __future__ import annotations

from dapr.proto.runtime.v1 import metadata_pb2
from google.protobuf import empty_pb2

from ..errors import DaprError, DeadlineExceeded, SidecarUnavailable
from .ops import Call, Deadline, Op, Sleep
from .results import Component, Metadata, SubscriptionInfo, Table

_SUB_TYPES = {0: "unknown", 1: "declarative", 2: "programmatic", 3: "streaming"}
_PROBE = 2.0  # seconds one readiness attempt may take (the driver shortens it to the time left)


def get_metadata() -> Op[Metadata]:
    """Return the sidecar's app id, runtime version, components, subscriptions and extended metadata."""
    reply: metadata_pb2.GetMetadataResponse = yield Call("GetMetadata", metadata_pb2.GetMetadataRequest())
    return to_metadata(reply)


def to_metadata(reply: metadata_pb2.GetMetadataResponse) -> Metadata:
    """Build the Metadata result from a GetMetadataResponse."""
    components = Table(
        Component(c.name, c.type, c.version, tuple(c.capabilities)) for c in reply.registered_components
    )
    subscriptions = Table(
        SubscriptionInfo(s.pubsub_name, s.topic, _SUB_TYPES.get(int(s.type), str(s.type)), s.dead_letter_topic)
        for s in reply.subscriptions
    )
    workers = reply.workflows.connected_workers if reply.HasField("workflows") else None
    version = reply.runtime_version or reply.extended_metadata.get("daprRuntimeVersion", "")
    return Metadata(
        app_id=reply.id,
        runtime_version=version,
        components=components,
        subscriptions=subscriptions,
        extended=dict(reply.extended_metadata),
        enabled_features=tuple(reply.enabled_features),
        connected_workflow_workers=workers,
    )


def set_metadata(key: str, value: str) -> Op[None]:
    """Set an extended-metadata attribute on the sidecar."""
    yield Call("SetMetadata", metadata_pb2.SetMetadataRequest(key=key, value=value))


def shutdown() -> Op[None]:
    """Ask the sidecar to shut down."""
    yield Call("Shutdown", empty_pb2.Empty())


def wait_ready(timeout: float = 10.0, interval: float = 0.1) -> Op[Metadata]:
    """Wait until the sidecar answers (at most ``timeout`` seconds, retries included); return its metadata.

    Unauthenticated and other non-transient errors are raised at once; after the timeout the last
    SidecarUnavailable (which names the endpoint and how to start a sidecar) is raised.
    """
    yield Deadline(timeout)
    request = metadata_pb2.GetMetadataRequest()
    last: DaprError | None = None
    while True:
        try:
            if last is not None:
                yield Sleep(interval)
            return to_metadata((yield Call("GetMetadata", request, timeout=_PROBE)))
        except (SidecarUnavailable, DeadlineExceeded) as error:
            if error.final:  # the timeout is spent: report the last real failure
                cause = error if last is None or isinstance(error, SidecarUnavailable) else last
                raise _not_ready(timeout, cause) from None
            last = error


def _not_ready(timeout: float, cause: DaprError) -> SidecarUnavailable:
    message = f"not ready after {timeout:g}s: {cause.message}"
    error = SidecarUnavailable(message, code="UNAVAILABLE", endpoint=cause.endpoint)
    error.final = True
    return error
