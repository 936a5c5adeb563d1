"""Output bindings: invoke an operation on a binding component with data and metadata.

Rule: data is encoded by the value rule; the answer is decoded by content (JSON → Python, text → str).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dapr.proto.runtime.v1 import binding_pb2

from .ops import Call, Op
from .results import BindingResult
from .values import decode, encode, str_map


def invoke_binding(
    name: str, operation: str, data: Any = None, *, metadata: Mapping[str, str] | None = None
) -> Op[BindingResult]:
    """Invoke ``operation`` (``create``, ``get``, ``list``, ``delete`` …) on the output binding ``name``."""
    payload = b"" if data is None else encode(data)[0]
    request = binding_pb2.InvokeBindingRequest(name=name, operation=operation, data=payload, metadata=str_map(metadata))
    reply: binding_pb2.InvokeBindingResponse = yield Call("InvokeBinding", request)
    meta = dict(reply.metadata)
    value = decode(reply.data, meta.get("contentType", "")) if reply.data else None
    return BindingResult(value, reply.data, meta)
