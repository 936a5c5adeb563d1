"""The component YAMLs and Configuration a real daprd gets when the caller brings none.

Rule: the components are the sandbox's own defaults (:func:`dapr_nb.sandbox.runtime.default_specs`),
same names, types and metadata, so a test or tutorial sees the same ``statestore``, ``pubsub``,
``secretstore``, ``localfiles`` and ``echo`` on both sidecars. The two sandbox-only types are
replaced by their nearest real component, Redis (``lock.redis``, ``configuration.redis``), when a
Redis server runs; without one, ``lockstore`` and ``configstore`` are left out (and logged).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from ..sandbox.resources import ComponentSpec
from ..sandbox.runtime import default_specs

log = logging.getLogger("dapr_nb.daprd")

SANDBOX_ONLY = {"lock.sandbox": "lock.redis", "configuration.sandbox": "configuration.redis"}
"""Sandbox-only component types and the real daprd type that stands in for each (needs Redis)."""

CONFIG_NAME = "daprConfig"


def default_components(data_dir: Path, redis_address: str | None) -> list[ComponentSpec]:
    """Return the sandbox's default components, with Redis types for the sandbox-only ones (or without them)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    specs: list[ComponentSpec] = []
    for spec in default_specs(data_dir):
        real = SANDBOX_ONLY.get(spec.type)
        if real is None:
            specs.append(spec)
        elif redis_address:
            specs.append(ComponentSpec(spec.name, real, metadata={"redisHost": redis_address, "redisPassword": ""}))
        else:
            log.info("daprd: without Redis there is no %r (%s; daprd has no in-memory one)", spec.name, real)
    return specs


def component_document(spec: ComponentSpec) -> dict[str, Any]:
    """Return the ``kind: Component`` document daprd reads for ``spec``."""
    doc: dict[str, Any] = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": spec.name},
        "spec": {
            "type": spec.type,
            "version": spec.version,
            "metadata": [{"name": k, "value": v} for k, v in spec.metadata.items()],
        },
    }
    if spec.scopes:
        doc["scopes"] = list(spec.scopes)
    return doc


def write_components(specs: list[ComponentSpec], folder: Path) -> Path:
    """Write one YAML file per component into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        text = yaml.safe_dump(component_document(spec), sort_keys=False)
        (folder / f"{spec.name}.yaml").write_text(text, encoding="utf-8")
    return folder


def write_config(path: Path, features: tuple[str, ...] = ()) -> Path:
    """Write a Configuration like ``dapr init``'s (sampling on, no exporter) with ``features`` enabled."""
    spec: dict[str, Any] = {"tracing": {"samplingRate": "1"}}
    if features:
        spec["features"] = [{"name": name, "enabled": True} for name in features]
    doc = {"apiVersion": "dapr.io/v1alpha1", "kind": "Configuration", "metadata": {"name": CONFIG_NAME}, "spec": spec}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path
