"""Shared fixtures: a session-wide sandbox in a child process, and the DAPR_* env that points the official SDK at it.

Tests share the session sandbox, so each test uses its own keys/topics (see ``unique``).
Tests that need their own components, token or data directory use ``make_sandbox``.

Differential tests take ``sidecar`` instead of ``sandbox``: it is parametrised over ``sandbox`` and
``daprd`` (a real daprd from ``dapr-nb daprd build``; those cases skip with one line when it is not
built). A test that shows a known difference carries ``@pytest.mark.daprd_differs("key")``: on daprd
it is a strict xfail, and ``key`` must be a row of the README's differences table (checked here).
Tests that compare both answers in one case take ``on_both`` (helpers in ``differential``); there the
marker expects ``differential.DaprdDiffers`` only, so a failing sandbox assertion still fails.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from differential import DaprdDiffers, OnBoth, Scenario, exact

from dapr_nb.daprd import Daprd, binaries
from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.appchannel.nameres import ENV as NAMERES_ENV

Sidecar = Sandbox | Daprd
SIDECARS = ("sandbox", "daprd")
README = Path(__file__).resolve().parent.parent / "README.md"
DIFFERENCES_HEADING = "### Differences the differential tests record"


def documented_differences() -> set[str]:
    """Return the keys (first column, in backticks) of the README's table of recorded daprd differences."""
    text = README.read_text(encoding="utf-8")
    section = text.split(DIFFERENCES_HEADING, 1)[1].split("\n#", 1)[0] if DIFFERENCES_HEADING in text else ""
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``daprd_differs`` marker."""
    config.addinivalue_line("markers", "daprd_differs(key): a difference from daprd the README lists (strict xfail)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Turn ``daprd_differs`` into a strict xfail on the daprd case; refuse keys the README does not list."""
    known = documented_differences()
    for item in items:
        marker = item.get_closest_marker("daprd_differs")
        if marker is None:
            continue
        key = str(marker.args[0])
        if key not in known:
            raise pytest.UsageError(f"{item.nodeid}: daprd_differs({key!r}) is not in README's {DIFFERENCES_HEADING!r}")
        callspec = getattr(item, "callspec", None)
        reason = f"documented difference from daprd: {key}"
        if callspec is not None and callspec.params.get("sidecar") == "daprd":
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
        elif "on_both" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xfail(strict=True, raises=DaprdDiffers, reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _private_name_resolution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Register this session's sandboxes in a directory of its own, not the user's (other sessions run beside)."""
    previous = os.environ.get(NAMERES_ENV)
    os.environ[NAMERES_ENV] = str(tmp_path_factory.mktemp("nameresolution"))
    yield
    if previous is None:
        os.environ.pop(NAMERES_ENV, None)
    else:
        os.environ[NAMERES_ENV] = previous


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox with the default components, shared by the whole test session."""
    with Sandbox(data_dir=tmp_path_factory.mktemp("sandbox-data")) as sb:
        yield sb


@pytest.fixture(scope="session")
def daprd() -> Iterator[Daprd]:
    """A real daprd with placement, scheduler (and Redis when installed), shared by the whole test session."""
    if not binaries().present():
        pytest.skip("daprd not built: run `dapr-nb daprd build`")
    with Daprd() as sidecar:
        yield sidecar


@pytest.fixture(scope="session", params=SIDECARS)
def sidecar(request: pytest.FixtureRequest) -> Sidecar:
    """The session sandbox, then the session daprd: differential tests run once against each."""
    return request.getfixturevalue(str(request.param))  # type: ignore[no-any-return]


@pytest.fixture
def on_both(sandbox: Sandbox, daprd: Daprd, point_sdk: Callable[[Sidecar], None]) -> OnBoth:
    """Return a runner: scenario(sidecar) on the sandbox, then on daprd (SDK env pointed at each); both answers.

    Any string in an answer that equals the sidecar's app id is replaced by ``"APP"``.

    Compare them with ``differential.same``; ``daprd_differs`` on such a test expects ``DaprdDiffers``.
    """

    def run(scenario: Scenario) -> tuple[Any, Any]:
        results = []
        for each in (sandbox, daprd):
            point_sdk(each)
            results.append(exact(scenario(each), {each.app_id: "APP"}))  # app ids differ by construction
        return results[0], results[1]

    return run


@pytest.fixture
def sidecar_env(monkeypatch: pytest.MonkeyPatch, sidecar: Sidecar) -> Sidecar:
    """Point the official SDK (and dapr_nb's env-driven client) at ``sidecar`` for this test."""
    point_sdk_at(monkeypatch, sidecar)
    return sidecar


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


def point_sdk_at(monkeypatch: pytest.MonkeyPatch, sb: Sidecar) -> None:
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
def point_sdk(monkeypatch: pytest.MonkeyPatch) -> Callable[[Sidecar], None]:
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
