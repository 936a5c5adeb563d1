"""Output bindings (InvokeBinding) as daprd runs them, for both API surfaces.

Rules (``pkg/runtime/processor/binding/send.go``, ``pkg/api/grpc/grpc.go``): every failure - no
operation, an unknown binding, an operation the binding lacks, or the component's own error - is
INTERNAL ``error invoking output binding <name>: <why>`` with ErrorInfo reason
``ERR_INVOKE_OUTPUT_BINDING`` (HTTP: 500 with that ``errorCode``).
"""

from __future__ import annotations

from typing import Protocol

from ..components.bindings_localstorage import BindingError, BindingResponse
from ..errors import DaprApiError, internal
from ..runtime import Runtime

REASON = "ERR_INVOKE_OUTPUT_BINDING"


class OutputBinding(Protocol):
    """What the block needs of an output binding component."""

    def operations(self) -> tuple[str, ...]:
        """Return the supported operations."""
        ...

    def invoke(self, operation: str, data: bytes, metadata: dict[str, str]) -> BindingResponse:
        """Run one operation."""
        ...


def failed(name: str, why: str) -> DaprApiError:
    """Return daprd's error for a failed output binding invocation."""
    return internal(f"error invoking output binding {name}: {why}", REASON)


def invoke(runtime: Runtime, name: str, operation: str, data: bytes, metadata: dict[str, str]) -> BindingResponse:
    """Invoke output binding ``name``; raise daprd's error on any failure."""
    if not operation:
        raise failed(name, "operation field is missing from request")
    binding: OutputBinding | None = runtime.components("bindings").get(name)  # type: ignore[assignment]
    if binding is None or not hasattr(binding, "invoke"):
        raise failed(name, f"couldn't find output binding {name}")
    supported = binding.operations()
    if operation not in supported:
        raise failed(
            name, f"binding {name} does not support operation {operation}. supported operations:{' '.join(supported)}"
        )
    try:
        return binding.invoke(operation, data, dict(metadata))
    except BindingError as exc:
        raise failed(name, str(exc)) from exc
