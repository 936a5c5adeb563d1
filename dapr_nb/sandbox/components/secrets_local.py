"""``secretstores.local.file`` and ``secretstores.local.env``, with components-contrib's semantics.

Rules: the file store reads its JSON once, when the sandbox starts (as daprd does; restart to pick
up edits). Without ``multiValued`` nested objects and arrays are flattened into single-valued
secrets named by their path (``nestedSeparator``, default ``:``); with it, each top-level key is a
secret whose value is the flattened map below it. The env store serves the sandbox process's
environment, minus ``DAPR_*`` and ``APP_API_TOKEN``, optionally under a ``prefix``. A missing
secret is an error in the file store and an empty value in the env store, as in daprd.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ComponentError
from ..resources import ComponentSpec
from . import BuildContext, Component

log = logging.getLogger("dapr_nb.sandbox")

MULTI_VALUED = "MULTIPLE_KEY_VALUES_PER_SECRET"
"""The capability daprd reports for a secret store with several keys per secret."""


class SecretLookupError(ComponentError):
    """A secret store cannot return a secret; the message is the component's (e.g. ``secret x not found``).

    It is also a ComponentError so that a ``secretKeyRef`` to a missing secret stops start-up with it.
    """


def resolve_path(raw: str, spec: ComponentSpec) -> Path:
    """Resolve a file named in component metadata: absolute as is; relative to the working directory
    (as daprd does) or else to the component YAML's folder, whichever exists (the former if neither)."""
    path = Path(raw).expanduser()
    if path.is_absolute():
        return path
    candidates = [Path.cwd() / path]
    source = Path(spec.source)
    if source.is_file():
        candidates.append(source.parent / path)
    return next((c for c in candidates if c.exists()), candidates[0])


def _text(value: Any) -> str:
    """Render a JSON primitive as a secret string (true/false, numbers as JSON writes them, null as '')."""
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value)


def flatten(value: Any, separator: str, prefix: str = "", out: dict[str, str] | None = None) -> dict[str, str]:
    """Flatten nested objects and arrays into ``{"a:b:0": "v"}``; the first of duplicate paths wins."""
    out = {} if out is None else out
    if isinstance(value, Mapping):
        children: list[tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(str(i), v) for i, v in enumerate(value)]
    else:
        if prefix in out:
            log.warning("secrets file: duplicate secret name %r; keeping the first value", prefix)
        else:
            out[prefix] = _text(value)
        return out
    for key, child in children:
        flatten(child, separator, f"{prefix}{separator}{key}" if prefix else key, out)
    return out


class LocalFileSecretStore(Component):
    """Secrets from a JSON file (``secretsFile``), read once at start."""

    def __init__(self, spec: ComponentSpec, secrets: dict[str, dict[str, str]], multi_valued: bool) -> None:
        super().__init__(spec)
        self._secrets = secrets
        self._multi_valued = multi_valued

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> LocalFileSecretStore:
        """Read and flatten the secrets file named by ``secretsFile``."""
        raw = spec.get("secretsFile")
        if not raw:
            raise ComponentError(f"component {spec.name!r} ({spec.source}): missing local secrets file in metadata")
        path = resolve_path(raw, spec)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            where = f"component {spec.name!r} ({spec.source})"
            raise ComponentError(f"{where}: cannot read secrets file {path}: {exc}") from exc
        if not isinstance(document, dict):
            raise ComponentError(f"component {spec.name!r}: secrets file {path} must hold a JSON object")
        separator = spec.get("nestedSeparator") or ":"
        multi = spec.get_bool("multiValued")
        return cls(spec, _load(document, separator, multi), multi)

    def capabilities(self) -> list[str]:
        """Report MULTIPLE_KEY_VALUES_PER_SECRET when ``multiValued`` is on."""
        return [MULTI_VALUED] if self._multi_valued else []

    def get_secret(self, name: str, metadata: Mapping[str, str]) -> dict[str, str]:
        """Return one secret's key/value map; raise SecretLookupError when it does not exist."""
        found = self._secrets.get(name)
        if found is None:
            raise SecretLookupError(f"secret {name} not found")
        return dict(found)

    def bulk_get(self, metadata: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """Return every secret."""
        return {name: dict(values) for name, values in self._secrets.items()}


def _load(document: dict[str, Any], separator: str, multi_valued: bool) -> dict[str, dict[str, str]]:
    if not multi_valued:
        return {name: {name: value} for name, value in flatten(document, separator).items()}
    secrets: dict[str, dict[str, str]] = {}
    for name, value in document.items():
        if isinstance(value, str):
            secrets[name] = {name: value}
        elif isinstance(value, dict):
            secrets[name] = flatten(value, separator)
        else:
            log.warning("secrets file: multiValued secret %r is neither a string nor an object; skipped", name)
    return secrets


class LocalEnvSecretStore(Component):
    """Secrets from the sandbox process's environment variables (``prefix`` optional)."""

    def __init__(self, spec: ComponentSpec, prefix: str) -> None:
        super().__init__(spec)
        self._prefix = prefix

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> LocalEnvSecretStore:
        """Build the store; ``prefix`` is prepended to every requested name."""
        return cls(spec, spec.get("prefix"))

    @staticmethod
    def _allowed(name: str) -> bool:
        upper = name.upper()
        return upper != "APP_API_TOKEN" and not upper.startswith("DAPR_")

    def get_secret(self, name: str, metadata: Mapping[str, str]) -> dict[str, str]:
        """Return ``{name: value}``; a missing or forbidden variable gives an empty value, not an error."""
        full = self._prefix + name
        if not self._allowed(full):
            log.warning("access to env var %s is forbidden", name)
            return {name: ""}
        return {name: os.environ.get(full, "")}

    def bulk_get(self, metadata: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """Return every allowed variable (under the prefix, which is stripped) as its own secret."""
        prefix = self._prefix
        secrets: dict[str, dict[str, str]] = {}
        for key, value in os.environ.items():
            if prefix and (len(key) <= len(prefix) or not key.startswith(prefix)):
                continue
            if self._allowed(key):
                name = key[len(prefix) :]
                secrets[name] = {name: value}
        return secrets
