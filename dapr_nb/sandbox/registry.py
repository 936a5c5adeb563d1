"""Which component types the sandbox embeds, and the message for those it cannot.

The table maps a ``spec.type`` to ``module:Class`` inside :mod:`dapr_nb.sandbox.components`; each class
offers ``from_spec(spec, ctx)``. Anything else stops start-up with a message naming the type and the
embeddable alternative, never a silent stand-in.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ComponentError
from .resources import ComponentSpec

EMBEDDABLE: dict[str, str] = {
    "state.sqlite": "state_sqlite:SqliteStateStore",
    "state.in-memory": "state_sqlite:InMemoryStateStore",
    "pubsub.in-memory": "pubsub_memory:InMemoryPubSub",
    "secretstores.local.file": "secrets_local:LocalFileSecretStore",
    "secretstores.local.env": "secrets_local:LocalEnvSecretStore",
    "bindings.localstorage": "bindings_localstorage:LocalStorageBinding",
    "conversation.echo": "conversation_echo:EchoConversation",
    "lock.sandbox": "lock_sandbox:SandboxLockStore",
    "configuration.sandbox": "configuration_sandbox:SandboxConfigurationStore",
}

ALTERNATIVES: dict[str, str] = {
    "state": "state.sqlite (a file in --data-dir, or ':memory:') or state.in-memory",
    "pubsub": "pubsub.in-memory",
    "secretstores": "secretstores.local.file or secretstores.local.env",
    "bindings": "bindings.localstorage",
    "lock": "lock.sandbox (the semantics of lock.redis)",
    "configuration": "configuration.sandbox (items inline, from a watched JSON file, or set from Python)",
    "conversation": "conversation.echo",
}


def component_class(spec: ComponentSpec) -> Any:
    """Return the class implementing ``spec.type``; raise ComponentError naming what to use instead."""
    target = EMBEDDABLE.get(spec.type)
    if target is None:
        instead = ALTERNATIVES.get(spec.kind)
        hint = f"use {instead} in the sandbox" if instead else f"the sandbox has no {spec.kind} components"
        raise ComponentError(
            f"component {spec.name!r} ({spec.source}) has type {spec.type}, which the dapr_nb sandbox cannot embed: "
            f"{hint}, or run this resources folder with real daprd (dapr run --resources-path …)."
        )
    if spec.version not in ("v1", ""):
        raise ComponentError(
            f"component {spec.name!r} ({spec.source}): {spec.type} has no version {spec.version}; use v1"
        )
    module_name, class_name = target.split(":")
    module = importlib.import_module(f"{__package__}.components.{module_name}")
    return getattr(module, class_name)
