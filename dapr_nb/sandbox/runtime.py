"""The sandbox's runtime: loaded components plus the sidecar-wide state both API surfaces share.

Building blocks look components up here and raise their own daprd errors; the gRPC and HTTP
surfaces hold no state of their own.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import registry
from .components import BuildContext, Component
from .errors import ComponentError
from .resources import ComponentSpec, load_resources, resolve_secret_refs

log = logging.getLogger("dapr_nb.sandbox")

RUNTIME_VERSION = "1.19.0-dapr-nb-sandbox"
"""Reported as daprd's runtime version; the suffix says this is the dapr_nb sandbox."""

DEMO_SECRETS = {"db-password": "sandbox-demo-password", "api-key": "sandbox-demo-api-key"}


@dataclass(frozen=True)
class SubscriptionInfo:
    """An active subscription as GetMetadata lists it."""

    pubsub_name: str
    topic: str
    dead_letter_topic: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    type: str = "STREAMING"


def default_specs(data_dir: Path) -> list[ComponentSpec]:
    """Return the components a sandbox serves when no resources path is given (enough for every tutorial)."""
    secrets_file = data_dir / "secrets.json"
    if not secrets_file.exists():
        secrets_file.write_text(json.dumps(DEMO_SECRETS, indent=2) + "\n", encoding="utf-8")
    return [
        ComponentSpec(
            "statestore",
            "state.sqlite",
            metadata={"connectionString": str(data_dir / "state.db"), "actorStateStore": "true"},
        ),
        ComponentSpec("pubsub", "pubsub.in-memory"),
        ComponentSpec("lockstore", "lock.sandbox"),
        ComponentSpec("configstore", "configuration.sandbox"),
        ComponentSpec("secretstore", "secretstores.local.file", metadata={"secretsFile": str(secrets_file)}),
        ComponentSpec("localfiles", "bindings.localstorage", metadata={"rootPath": str(data_dir / "files")}),
        ComponentSpec("echo", "conversation.echo"),
    ]


class Runtime:
    """Components by kind and name, app identity, extended metadata and active subscriptions."""

    def __init__(self, app_id: str, data_dir: Path, components: list[Component]) -> None:
        self.app_id = app_id
        self.data_dir = data_dir
        self._components: dict[str, dict[str, Component]] = {}
        for component in components:
            self._components.setdefault(component.spec.kind, {})[component.name] = component
        self._lock = threading.Lock()
        self._extended: dict[str, str] = {}
        self._subscriptions: dict[int, SubscriptionInfo] = {}
        self._next_sub = 0
        self.shutdown_requested = threading.Event()
        self.services: dict[str, Any] = {}

    def components(self, kind: str) -> dict[str, Component]:
        """Return the components of one building block (``state``, ``pubsub``, ``secretstores`` …) by name."""
        return self._components.get(kind, {})

    def all_components(self) -> Iterator[Component]:
        """Iterate over every loaded component."""
        for by_name in self._components.values():
            yield from by_name.values()

    def set_metadata(self, key: str, value: str) -> None:
        """Record an extended metadata attribute (SetMetadata)."""
        with self._lock:
            self._extended[key] = value

    def extended_metadata(self) -> dict[str, str]:
        """Return extended metadata, including daprRuntimeVersion as daprd always reports it."""
        with self._lock:
            return {"daprRuntimeVersion": RUNTIME_VERSION, **self._extended}

    def add_subscription(self, info: SubscriptionInfo) -> int:
        """Register an active subscription for GetMetadata; returns a handle for remove_subscription."""
        with self._lock:
            self._next_sub += 1
            self._subscriptions[self._next_sub] = info
            return self._next_sub

    def remove_subscription(self, handle: int) -> None:
        """Forget a subscription registered with add_subscription."""
        with self._lock:
            self._subscriptions.pop(handle, None)

    def subscriptions(self) -> list[SubscriptionInfo]:
        """Return the active subscriptions."""
        with self._lock:
            return list(self._subscriptions.values())

    def close(self) -> None:
        """Close every component and service."""
        for component in self.all_components():
            try:
                component.close()
            except Exception:  # noqa: BLE001 - closing must go on for the others
                log.exception("closing component %s failed", component.name)
        for service in self.services.values():
            close = getattr(service, "close", None)
            if close is not None:
                close()


def build_runtime(app_id: str, data_dir: Path, resources_path: Path | None) -> Runtime:
    """Load component specs (or the defaults), build secret stores first, resolve secretKeyRefs, build the rest."""
    data_dir.mkdir(parents=True, exist_ok=True)
    specs = load_resources(resources_path, app_id) if resources_path else default_specs(data_dir)
    ctx = BuildContext(app_id=app_id, data_dir=data_dir)
    classes = {(s.kind, s.name): registry.component_class(s) for s in specs}  # reject unknown types before building
    built: list[Component] = []
    try:
        secret_stores: dict[str, Component] = {}
        for spec in sorted(specs, key=lambda s: s.kind != "secretstores"):
            if spec.kind != "secretstores":
                spec = resolve_secret_refs(spec, _secret_lookup(secret_stores, spec))
            component = _build(classes[(spec.kind, spec.name)], spec, ctx)
            built.append(component)
            if spec.kind == "secretstores":
                secret_stores[spec.name] = component
    except BaseException:
        for component in built:
            component.close()
        raise
    runtime = Runtime(app_id, data_dir, built)
    from .jobs import JobScheduler  # noqa: PLC0415 - jobs are a runtime service, not a component

    runtime.services["jobs"] = JobScheduler(data_dir / "jobs.db")
    from .workflow.servicer import WorkflowService  # noqa: PLC0415 - loading the workflow protos costs ~0.6 s

    runtime.services["workflows"] = WorkflowService(data_dir / "workflows.db", app_id=app_id)
    return runtime


def _build(cls: Any, spec: ComponentSpec, ctx: BuildContext) -> Component:
    try:
        component: Component = cls.from_spec(spec, ctx)
    except ComponentError:
        raise
    except Exception as exc:
        raise ComponentError(f"component {spec.name!r} ({spec.type}, {spec.source}) failed to start: {exc}") from exc
    return component


def _secret_lookup(stores: dict[str, Component], spec: ComponentSpec) -> Any:
    def lookup(store: str, name: str, key: str) -> str:
        component = stores.get(store)
        if component is None:
            raise ComponentError(
                f"{spec.source}: component {spec.name!r} reads secrets from {store!r}, which is not loaded"
            )
        try:
            values: dict[str, str] = component.get_secret(name, {})  # type: ignore[attr-defined]
        except Exception as exc:
            raise ComponentError(
                f"{spec.source}: component {spec.name!r} reads secret {name!r} from {store!r}: {exc}"
            ) from exc
        if key not in values:
            raise ComponentError(
                f"{spec.source}: component {spec.name!r}: secret {name!r} has no key {key!r} in {store!r}"
            )
        return values[key]

    return lookup
