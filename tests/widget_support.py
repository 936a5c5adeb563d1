"""Helpers for the widget tests: a real Client whose RPCs are counted, and the client-side threads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Generator
from typing import Any

from dapr_nb.client import Client
from dapr_nb.core.ops import Call, Op

_OPERATIONS = {op.__name__: op for op in Client.OPERATIONS}


class CountingClient:
    """Run a real Client's operations through ``client.run``, counting each RPC the operation sends.

    ``calls`` counts by method name; a GetInstance that asks for payloads counts as ``GetInstance+payloads``.
    Streams (``subscribe``...) and everything else go to the wrapped client uncounted.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        op = _OPERATIONS.get(name)
        if op is None:
            return getattr(self.client, name)
        return lambda *args, **kwargs: self.client.run(self._counted(op(*args, **kwargs)))

    def _count(self, instruction: Any) -> None:
        if isinstance(instruction, Call):
            payloads = instruction.method == "GetInstance" and instruction.request.getInputsAndOutputs
            self.calls[instruction.method + ("+payloads" if payloads else "")] += 1

    def _counted(self, op: Op[Any]) -> Generator[Any, Any, Any]:
        try:
            instruction = next(op)
            while True:
                self._count(instruction)
                try:
                    reply = yield instruction
                except Exception as exc:
                    instruction = op.throw(exc)
                else:
                    instruction = op.send(reply)
        except StopIteration as stop:
            return stop.value


_SANDBOX_THREADS = ("dapr-nb-grpc", "dapr-nb-http", "dapr-nb-sandbox", "dapr-nb-wf-", "dapr-nb-pubsub-")
_SANDBOX_THREADS += ("dapr-nb-state-", "dapr-nb-config-")


def dapr_threads() -> set[threading.Thread]:
    """Return the live client-side dapr_nb threads (widget workers, stream readers), not an in-process sandbox's."""
    return {
        t for t in threading.enumerate() if t.name.startswith("dapr-nb-") and not t.name.startswith(_SANDBOX_THREADS)
    }
