"""The real-daprd runner's own wiring: an API token reaches daprd, and ``env()`` names the Redis behind it.

Skipped with one line when daprd is not built (``dapr-nb daprd build``).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from dapr_nb.client import Client
from dapr_nb.daprd import Daprd, binaries
from dapr_nb.errors import Unauthenticated

if not binaries().present():
    pytest.skip("daprd not built: run `dapr-nb daprd build`", allow_module_level=True)

TOKEN = "runner-test-token"


@pytest.fixture(scope="module")
def guarded() -> Iterator[Daprd]:
    """A daprd that requires ``TOKEN`` on every call."""
    with Daprd(app_id="guarded", api_token=TOKEN) as sidecar:
        yield sidecar


def metadata_status(sidecar: Daprd, headers: dict[str, str]) -> int:
    """Return the HTTP status of ``GET /v1.0/metadata`` with ``headers``."""
    request = urllib.request.Request(f"{sidecar.http_endpoint}/v1.0/metadata", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback daprd
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_daprd_requires_the_token_it_was_given(guarded: Daprd) -> None:
    assert metadata_status(guarded, {}) == 401
    assert metadata_status(guarded, {"dapr-api-token": "wrong"}) == 401
    assert metadata_status(guarded, {"dapr-api-token": TOKEN}) == 200


def test_env_carries_the_token_and_the_redis_address(guarded: Daprd) -> None:
    env = guarded.env()
    assert env["DAPR_API_TOKEN"] == TOKEN
    assert env["DAPR_NB_REDIS_ADDRESS"] == guarded.redis_address


def test_our_client_sends_the_token_over_grpc(guarded: Daprd) -> None:
    with Client(guarded.grpc_endpoint, api_token=TOKEN) as client:
        assert client.get_metadata().app_id == "guarded"
    with Client(guarded.grpc_endpoint, api_token="wrong") as client, pytest.raises(Unauthenticated):
        client.get_metadata()
