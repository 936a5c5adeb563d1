"""GetMetadata / SetMetadata as plain data, for both API surfaces."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..runtime import RUNTIME_VERSION, Runtime, SubscriptionInfo


@dataclass(frozen=True)
class ComponentInfo:
    """A registered component as GetMetadata reports it."""

    name: str
    type: str
    version: str
    capabilities: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Metadata:
    """What GetMetadata answers."""

    app_id: str
    runtime_version: str
    components: list[ComponentInfo]
    extended: dict[str, str]
    subscriptions: list[SubscriptionInfo]
    connected_workers: int
    app_connection: dict[str, object] = field(default_factory=dict)
    """daprd's ``appConnectionProperties`` (``port`` only with an app port, as protojson omits zero)."""


def get_metadata(runtime: Runtime) -> Metadata:
    """Collect the sidecar's metadata."""
    components = [
        ComponentInfo(c.name, c.spec.type, c.spec.version or "v1", c.capabilities())
        for c in sorted(runtime.all_components(), key=lambda c: (c.spec.kind, c.name))
    ]
    workflows = runtime.services.get("workflows")
    workers = int(getattr(workflows, "connected_workers", 0)) if workflows is not None else 0
    channel = getattr(runtime.services.get("direct"), "channel", None)
    app: dict[str, object] = {"protocol": "http", "channelAddress": "127.0.0.1"}
    if channel is not None:
        app = channel.settings.metadata()
    return Metadata(
        app_id=runtime.app_id,
        runtime_version=RUNTIME_VERSION,
        components=components,
        extended=runtime.extended_metadata(),
        subscriptions=runtime.subscriptions(),
        connected_workers=workers,
        app_connection=app,
    )


def to_http_json(meta: Metadata) -> dict[str, object]:
    """Render metadata as daprd's ``GET /v1.0/metadata`` does: its JSON keys, empty fields left out (omitempty)."""
    components = [
        _present({"name": c.name, "type": c.type, "version": c.version, "capabilities": c.capabilities})
        for c in meta.components
    ]
    subscriptions = [
        {
            "pubsubname": s.pubsub_name,
            "topic": s.topic,
            **_present({"metadata": s.metadata, "rules": [{"path": "/"}]}),
            "deadLetterTopic": s.dead_letter_topic,
            "type": s.type,
        }
        for s in meta.subscriptions
    ]
    body = _present(
        {
            "id": meta.app_id,
            "runtimeVersion": meta.runtime_version,
            "components": components,
            "extended": meta.extended,
            "subscriptions": subscriptions,
            "appConnectionProperties": meta.app_connection,
        }
    )
    body["actorRuntime"] = {"runtimeStatus": "DISABLED", "hostReady": False}
    if meta.connected_workers:
        body["workflows"] = {"connectedWorkers": meta.connected_workers}
    return body


def _present(fields: dict[str, object]) -> dict[str, object]:
    """Return the fields that are not empty (Go's ``omitempty``)."""
    return {k: v for k, v in fields.items() if v not in ("", None, [], {})}


__all__ = ["RUNTIME_VERSION", "ComponentInfo", "Metadata", "get_metadata", "to_http_json"]
