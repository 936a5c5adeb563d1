"""Shared fixtures: a session-wide sandbox in a child process, and the DAPR_* env that points the official SDK at it.

Tests share the session sandbox, so each test uses its own keys/topics (see ``unique``).
Tests that need their own components, token or data directory use ``make_sandbox``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dapr_nb.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox with the default components, shared by the whole test session."""
    with Sandbox(data_dir=tmp_path_factory.mktemp("sandbox-data")) as sb:
        yield sb


HANDOVER_PUBSUB = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - {name: redeliverOnClose, value: "true"}
"""


@pytest.fixture(scope="session")
def handover_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox whose only component, ``pubsub``, hands a closed stream's unacked messages on (redeliverOnClose)."""
    resources = tmp_path_factory.mktemp("handover-resources")
    (resources / "pubsub.yaml").write_text(HANDOVER_PUBSUB)
    with Sandbox(data_dir=tmp_path_factory.mktemp("handover-data"), resources_path=resources) as sb:
        yield sb


def point_sdk_at(monkeypatch: pytest.MonkeyPatch, sb: Sandbox) -> None:
    """Set the DAPR_* variables the official SDK reads (dapr 1.19 reads os.environ on every access)."""
    for name in ("DAPR_API_TOKEN", "DAPR_GRPC_ENDPOINT", "DAPR_HTTP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in sb.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "5")


@pytest.fixture
def sdk_env(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Sandbox:
    """Point the official SDK at the session sandbox for this test."""
    point_sdk_at(monkeypatch, sandbox)
    return sandbox


@pytest.fixture
def point_sdk(monkeypatch: pytest.MonkeyPatch) -> Callable[[Sandbox], None]:
    """Return a function that points the official SDK at a given sandbox for this test."""
    return lambda sb: point_sdk_at(monkeypatch, sb)


@pytest.fixture
def dapr_client(sdk_env: Sandbox) -> Iterator[Any]:
    """The official sync ``DaprClient``, unmodified, talking to the session sandbox."""
    from dapr.clients import DaprClient

    with DaprClient() as client:
        yield client


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    """Start extra sandboxes (own resources, token, data dir); all are stopped after the test."""
    started: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("data_dir", tmp_path / f"data-{len(started)}")
        sb = Sandbox(**kwargs).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Return a function making names unique to this test (keys, topics, resources)."""
    suffix = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{suffix}"
