"""Read Dapr component YAMLs the way daprd does in self-hosted mode.

Rules: every ``*.yaml``/``*.yml`` file under the resources path may hold several documents; only
``kind: Component`` documents are components (``Subscription``, ``Resiliency``, ``Configuration``
and the like are skipped with a log line); a component whose ``scopes`` list does not name this
app id is not loaded; ``secretKeyRef`` values are resolved later, against the secret store named in
``auth.secretStore``, once secret stores exist (see :func:`resolve_secret_refs`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ComponentError

log = logging.getLogger("dapr_nb.sandbox")


@dataclass(frozen=True)
class SecretRef:
    """A metadata value to be read from a secret store: ``secretKeyRef: {name, key}``."""

    name: str
    key: str


@dataclass(frozen=True)
class ComponentSpec:
    """One ``kind: Component`` document."""

    name: str
    type: str
    version: str = "v1"
    metadata: dict[str, str] = field(default_factory=dict)
    secret_refs: dict[str, SecretRef] = field(default_factory=dict)
    secret_store: str = ""
    scopes: tuple[str, ...] = ()
    source: str = "<default>"

    @property
    def kind(self) -> str:
        """Return the building block: the part of ``type`` before the first dot (``state``, ``pubsub`` …)."""
        return self.type.split(".", 1)[0]

    def get(self, key: str, default: str = "") -> str:
        """Return a metadata value, matching the key case-insensitively as daprd's components do."""
        if key in self.metadata:
            return self.metadata[key]
        lowered = key.lower()
        for k, v in self.metadata.items():
            if k.lower() == lowered:
                return v
        return default

    def get_bool(self, key: str, default: bool = False) -> bool:
        """Return a metadata value parsed as a boolean (``true``/``1``/``yes``)."""
        raw = self.get(key)
        return default if raw == "" else raw.strip().lower() in ("true", "1", "yes", "y", "on")


def load_resources(path: Path, app_id: str) -> list[ComponentSpec]:
    """Load every component under ``path`` that applies to ``app_id``; raise ComponentError on a bad file."""
    if not path.is_dir():
        raise ComponentError(f"resources path {path} is not a directory")
    specs: list[ComponentSpec] = []
    for file in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            docs = [d for d in yaml.safe_load_all(file.read_text(encoding="utf-8")) if d]
        except yaml.YAMLError as exc:
            raise ComponentError(f"{file}: not valid YAML: {exc}") from exc
        for doc in docs:
            spec = _parse_document(doc, str(file))
            if spec is None:
                continue
            if spec.scopes and app_id not in spec.scopes:
                log.info(
                    "component %s in %s is scoped to %s; not loaded for app %s", spec.name, file, spec.scopes, app_id
                )
                continue
            specs.append(spec)
    _reject_duplicates(specs)
    return specs


def _parse_document(doc: Any, source: str) -> ComponentSpec | None:
    if not isinstance(doc, dict):
        raise ComponentError(f"{source}: expected a YAML mapping, got {type(doc).__name__}")
    kind = doc.get("kind")
    if kind != "Component":
        log.info("%s: skipping kind %s (the sandbox loads only kind Component)", source, kind)
        return None
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    name = str(meta.get("name") or "").strip()
    ctype = str(spec.get("type") or "").strip()
    if not name:
        raise ComponentError(f"{source}: component has no metadata.name")
    if not ctype or "." not in ctype:
        raise ComponentError(f"{source}: component {name!r} needs spec.type such as state.sqlite")
    values: dict[str, str] = {}
    refs: dict[str, SecretRef] = {}
    for item in spec.get("metadata") or []:
        if not isinstance(item, dict) or "name" not in item:
            raise ComponentError(f"{source}: component {name!r}: each spec.metadata entry needs a name")
        key = str(item["name"])
        if "secretKeyRef" in item:
            ref = item["secretKeyRef"] or {}
            refs[key] = SecretRef(str(ref.get("name", "")), str(ref.get("key") or ref.get("name", "")))
        else:
            values[key] = _as_text(item.get("value", ""))
    auth = doc.get("auth") or {}
    return ComponentSpec(
        name=name,
        type=ctype,
        version=str(spec.get("version") or "v1"),
        metadata=values,
        secret_refs=refs,
        secret_store=str(auth.get("secretStore") or ""),
        scopes=tuple(str(s) for s in doc.get("scopes") or ()),
        source=source,
    )


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return "" if value is None else str(value)


def _reject_duplicates(specs: Iterable[ComponentSpec]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for spec in specs:
        key = (spec.kind, spec.name)
        if key in seen:
            raise ComponentError(
                f"component {spec.name!r} ({spec.kind}) is defined twice: in {seen[key]} and {spec.source}"
            )
        seen[key] = spec.source


def resolve_secret_refs(spec: ComponentSpec, lookup: Callable[[str, str, str], str]) -> ComponentSpec:
    """Return ``spec`` with every secretKeyRef replaced by its value; ``lookup(store, name, key)`` reads it."""
    if not spec.secret_refs:
        return spec
    if not spec.secret_store:
        raise ComponentError(
            f"{spec.source}: component {spec.name!r} uses secretKeyRef but names no secret store; "
            "add 'auth: {secretStore: <name>}' as daprd requires in self-hosted mode"
        )
    values = dict(spec.metadata)
    for key, ref in spec.secret_refs.items():
        values[key] = lookup(spec.secret_store, ref.name, ref.key)
    return replace(spec, metadata=values, secret_refs={})
