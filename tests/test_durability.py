"""Acknowledged state writes survive SIGKILL: kill the sandbox process, restart it on the same data dir, read back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from dapr.clients import DaprClient
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType
from dapr.clients.grpc._state import StateItem

from dapr_nb.sandbox import Sandbox

WRITERS = 4
WRITES_PER_WRITER = 75


def test_acknowledged_writes_survive_kill_9(
    make_sandbox: Callable[..., Sandbox], point_sdk: Callable[[Sandbox], None], tmp_path: Path
) -> None:
    sb = make_sandbox(data_dir=tmp_path / "durable")
    point_sdk(sb)
    acknowledged: dict[str, tuple[bytes, str]] = {}
    lock = threading.Lock()
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with DaprClient() as client:
                for i in range(WRITES_PER_WRITER):
                    key, value = f"w{n}-{i}", f"value {n}/{i}".encode()
                    client.save_state("statestore", key, value)
                    if i % 3 == 0:  # overwrite: only the last acknowledged version may be seen
                        value = value + b" (second)"
                        client.save_state("statestore", key, value)
                    etag = client.get_state("statestore", key).etag
                    with lock:
                        acknowledged[key] = (value, etag)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures

    with DaprClient() as client:
        client.save_bulk_state("statestore", [StateItem("doomed", "x"), StateItem("kept", "y")])
        client.execute_state_transaction(
            "statestore",
            [
                TransactionalStateOperation(key="doomed", operation_type=TransactionOperationType.delete),
                TransactionalStateOperation(key="tx", data="committed"),
            ],
        )
        for key in ("kept", "tx"):
            got = client.get_state("statestore", key)
            acknowledged[key] = (got.data, got.etag)

    sb.kill()
    sb.restart()

    with DaprClient() as client:
        keys = sorted(acknowledged)
        items = client.get_bulk_state("statestore", keys).items
        assert client.get_state("statestore", "doomed").data == b""
    assert len(acknowledged) == WRITERS * WRITES_PER_WRITER + 2
    assert {i.key: (i.data, i.etag) for i in items} == acknowledged
