"""Client and AsyncClient: the same operations, the same signatures, equal results against the sandbox."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from clienthelp import async_client_for, client_for, run

from dapr_nb.client import AsyncClient, Client
from dapr_nb.sandbox import Sandbox


def _public(cls: type) -> dict[str, Any]:
    return {n: getattr(cls, n) for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}


def _params(fn: Any) -> list[tuple[str, Any, Any, Any]]:
    return [(p.name, p.kind, p.default, p.annotation) for p in inspect.signature(fn).parameters.values()]


def _key(item: Any) -> str:
    return str(item.key)


def test_same_operations_same_signatures() -> None:
    sync_ops, async_ops = _public(Client), _public(AsyncClient)
    assert sorted(sync_ops) == sorted(async_ops)
    for name, fn in sync_ops.items():
        assert _params(fn) == _params(async_ops[name]), name
        if name not in ("lock", "__enter__", "from_settings"):
            assert inspect.iscoroutinefunction(async_ops[name]), name
    for op in Client.OPERATIONS:
        bound = sync_ops[op.__name__]
        assert _params(bound)[1:] == _params(op) and bound.__doc__ == op.__doc__


def test_bound_signature_hides_nothing() -> None:
    sig = inspect.signature(Client(address="127.0.0.1:1").save_state)
    assert list(sig.parameters)[:3] == ["store", "key", "value"]


def test_same_calls_give_equal_results(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    keys = [unique(f"p{i}") for i in range(3)]
    topic = unique("parity")
    query = {"filter": {"EQ": {"tag": topic}}, "sort": [{"key": "i"}]}

    def calls_sync(c: Client) -> list[Any]:
        c.save_bulk_state("statestore", {k: {"i": i, "tag": topic} for i, k in enumerate(keys)})
        out: list[Any] = [c.get_state("statestore", keys[0]), sorted(c.get_bulk_state("statestore", keys), key=_key)]
        out.append(c.get_secret("secretstore", "api-key"))
        out.append(c.publish_bulk("pubsub", topic, [1, 2]))
        out.append(c.get_metadata().app_id)
        out.append(c.query_state("statestore", query))
        return out

    async def calls_async(c: AsyncClient) -> list[Any]:
        async with c:
            out: list[Any] = [await c.get_state("statestore", keys[0]),
                              sorted(await c.get_bulk_state("statestore", keys), key=_key)]
            out.append(await c.get_secret("secretstore", "api-key"))
            out.append(await c.publish_bulk("pubsub", topic, [1, 2]))
            out.append((await c.get_metadata()).app_id)
            out.append(await c.query_state("statestore", query))
            return out

    with client_for(sandbox) as client:
        sync_results = calls_sync(client)
    async_results = run(calls_async(async_client_for(sandbox)))
    assert sync_results == async_results
