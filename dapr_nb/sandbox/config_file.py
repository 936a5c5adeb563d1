"""``dapr-nb sandbox --config FILE``: a Dapr ``Configuration`` YAML, as ``dapr run --config`` passes one to daprd.

Rules: the sandbox applies none of a Configuration's settings; it reads the file so that the commands
people copy from ``dapr run`` work, and says which sections it does not apply. Sections that
*restrict* what callers may do (``accessControl``, ``api``, ``secrets`` scopes, ``components.deny``,
HTTP middleware pipelines) would silently open up if ignored, so they stop start-up with a message
instead. Observability and runtime tuning (tracing, metrics, logging, features, name resolution, …)
are reported as not applied and otherwise harmless.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ComponentError

RESTRICTING = ("accessControl", "api", "secrets", "components", "httpPipeline", "appHttpPipeline")


def read_configuration(path: Path) -> list[str]:
    """Check a Configuration YAML; return the ``spec`` sections it sets that the sandbox does not apply."""
    try:
        docs = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    except (OSError, yaml.YAMLError) as exc:
        raise ComponentError(f"--config {path}: {exc}") from None
    configs = [doc for doc in docs if isinstance(doc, dict) and doc.get("kind") == "Configuration"]
    if len(configs) != 1:
        raise ComponentError(f"--config {path}: expected one document of kind Configuration, found {len(configs)}")
    spec: Any = configs[0].get("spec") or {}
    if not isinstance(spec, dict):
        raise ComponentError(f"--config {path}: spec must be a mapping")
    restricting = [name for name in RESTRICTING if spec.get(name)]
    if restricting:
        raise ComponentError(
            f"--config {path}: the sandbox does not enforce spec.{', spec.'.join(restricting)}; "
            "remove it to run on the sandbox, or run real daprd (`dapr-nb daprd start`)"
        )
    return sorted(name for name, value in spec.items() if value not in (None, {}, []))
