"""The real-daprd runner's own wiring: an API token reaches daprd, ``env()`` names its Redis, the app port is used.

Skipped with one line when daprd is not built (``dapr-nb daprd build``).
"""

from __future__ import annotations

import http.server
import json
import threading
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


class Hello(http.server.BaseHTTPRequestHandler):
    """A minimal app: answers every GET with the path it was called on."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        body = json.dumps({"path": self.path, "caller": self.headers.get("dapr-caller-app-id")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Stay quiet."""


def test_daprd_calls_into_an_app_on_its_app_port() -> None:
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    try:
        with Daprd(app_id="hello-app", app_port=app.server_address[1], redis=False) as sidecar:
            url = f"{sidecar.http_endpoint}/v1.0/invoke/hello-app/method/greet?who=ada"
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback daprd
                assert json.loads(resp.read())["path"] == "/greet?who=ada"
    finally:
        app.shutdown()
        app.server_close()
