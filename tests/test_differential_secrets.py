"""Secrets (``local.file``, and ``local.env`` on sidecars of their own) on the sandbox and on daprd, gRPC and HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dapr.clients import DaprClient
from differential import OnBoth, Sidecar, exact, http, raises, same

from dapr_nb.daprd import Daprd, binaries
from dapr_nb.sandbox import Sandbox

STORE = "secretstore"


def secrets(sidecar: Sidecar) -> Any:
    """Read one secret, all of them, a missing key and an unknown store, over gRPC and HTTP."""
    with DaprClient(sidecar.grpc_endpoint) as client:
        grpc_answers = {
            "one": client.get_secret(STORE, "db-password").secret,
            "bulk": client.get_bulk_secret(STORE).secrets,
            "missing": raises(lambda: client.get_secret(STORE, "no-such-secret")),
            "unknown_store": raises(lambda: client.get_secret("nostore", "db-password")),
            "unknown_store_bulk": raises(lambda: client.get_bulk_secret("nostore")),
        }
    http_answers = {
        "one": http(sidecar, "GET", f"/v1.0/secrets/{STORE}/db-password"),
        "bulk": http(sidecar, "GET", f"/v1.0/secrets/{STORE}/bulk"),
        "missing": http(sidecar, "GET", f"/v1.0/secrets/{STORE}/no-such-secret"),
        "unknown_store": http(sidecar, "GET", "/v1.0/secrets/nostore/db-password"),
        "unknown_store_bulk": http(sidecar, "GET", "/v1.0/secrets/nostore/bulk"),
    }
    return {"grpc": grpc_answers, "http": http_answers}


def test_local_file_secrets(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(secrets)
    assert on_sandbox["grpc"]["one"] == {"db-password": "sandbox-demo-password"}
    assert on_sandbox["http"]["one"]["body"] == {"db-password": "sandbox-demo-password"}
    same(on_sandbox, on_daprd)


ENV_STORE = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: envstore}
spec:
  type: secretstores.local.env
  version: v1
  metadata:
  - {name: prefix, value: DIFF_ENV_}
"""


@pytest.fixture
def env_sidecars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_sandbox: Callable[..., Sandbox]
) -> Iterator[tuple[Sandbox, Daprd]]:
    """A sandbox and a daprd whose only component is ``envstore`` (local.env, prefix ``DIFF_ENV_``)."""
    if not binaries().present():
        pytest.skip("daprd not built: run `dapr-nb daprd build`")
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "envstore.yaml").write_text(ENV_STORE)
    monkeypatch.setenv("DIFF_ENV_TOKEN", "t0ken")
    monkeypatch.setenv("DIFF_ENV_OTHER", "other")
    sandbox = make_sandbox(resources_path=resources)
    with Daprd(resources_path=resources, redis=False) as daprd:
        yield sandbox, daprd


def env_secrets(sidecar: Sidecar) -> Any:
    """Read env secrets by their unprefixed name, in bulk, a missing one, and over HTTP."""
    with DaprClient(sidecar.grpc_endpoint) as client:
        answer = {
            "one": client.get_secret("envstore", "TOKEN").secret,
            "bulk": {k: v for k, v in client.get_bulk_secret("envstore").secrets.items() if k in ("TOKEN", "OTHER")},
            "missing": raises(lambda: client.get_secret("envstore", "NOPE").secret),
            "prefixed": raises(lambda: client.get_secret("envstore", "DIFF_ENV_TOKEN").secret),
        }
    answer["http"] = http(sidecar, "GET", "/v1.0/secrets/envstore/TOKEN")
    return answer


def test_local_env_secrets(env_sidecars: tuple[Sandbox, Daprd], point_sdk: Callable[[Sidecar], None]) -> None:
    answers = []
    for each in env_sidecars:
        point_sdk(each)
        answers.append(exact(env_secrets(each), {each.app_id: "APP"}))
    on_sandbox, on_daprd = answers
    assert on_sandbox["one"] == {"TOKEN": "t0ken"}
    same(on_sandbox, on_daprd)
