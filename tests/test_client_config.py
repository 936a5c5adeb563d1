"""Endpoint grammar and settings resolution (arguments > DAPR_* variables > defaults); no I/O in constructors."""

from __future__ import annotations

import asyncio

import pytest

from dapr_nb.client import AsyncClient, Client
from dapr_nb.transport.config import Settings, parse_grpc_endpoint, parse_http_endpoint


@pytest.mark.parametrize(
    ("raw", "target", "tls"),
    [
        ("localhost:50001", "localhost:50001", False),
        ("myhost", "myhost:443", False),
        ("myhost:50051?tls=true", "myhost:50051", True),
        ("dns:myhost:50051", "dns:myhost:50051", False),
        ("dns://8.8.8.8/myhost:50051?tls=true", "dns://8.8.8.8/myhost:50051", True),
        ("unix:/tmp/dapr.sock", "unix:/tmp/dapr.sock", False),
        ("unix:///tmp/dapr.sock", "unix:///tmp/dapr.sock", False),
        ("unix-abstract:dapr", "unix-abstract:dapr", False),
        ("[::1]:50001", "[::1]:50001", False),
        ("::1", "[::1]:443", False),
        ("http://localhost:3500", "localhost:3500", False),
        ("https://example.com", "example.com:443", True),
    ],
)
def test_grpc_endpoint_grammar(raw: str, target: str, tls: bool) -> None:
    endpoint = parse_grpc_endpoint(raw)
    assert (endpoint.target, endpoint.tls) == (target, tls)
    assert str(endpoint) == raw


@pytest.mark.parametrize("raw", ["", "host:50001/path", "host:50001?foo=1", "https://h?tls=true", "h:x", "h?tls=yes"])
def test_bad_grpc_endpoints_fail_loudly(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_grpc_endpoint(raw)


def test_http_endpoint() -> None:
    assert parse_http_endpoint("http://127.0.0.1:3500").url == "http://127.0.0.1:3500"
    assert parse_http_endpoint("https://h").port == 443
    assert parse_http_endpoint("h:3501").url == "http://h:3501"
    with pytest.raises(ValueError):
        parse_http_endpoint("ftp://h")


def test_settings_from_env() -> None:
    env = {
        "DAPR_RUNTIME_HOST": "10.0.0.1",
        "DAPR_GRPC_PORT": "6001",
        "DAPR_HTTP_PORT": "6002",
        "DAPR_API_TOKEN": "tok",
        "DAPR_API_TIMEOUT_SECONDS": "7",
        "DAPR_API_MAX_RETRIES": "2",
    }
    settings = Settings.resolve(environ=env)
    assert settings.grpc.target == "10.0.0.1:6001" and str(settings.http) == "http://10.0.0.1:6002"
    assert settings.api_token == "tok" and settings.timeout == 7.0 and settings.retry.max_attempts == 2
    assert settings.token_metadata == (("dapr-api-token", "tok"),)
    env["DAPR_GRPC_ENDPOINT"] = "other:1?tls=true"
    env["DAPR_HTTP_ENDPOINT"] = "https://other"
    settings = Settings.resolve(environ=env)
    assert settings.grpc.target == "other:1" and settings.grpc.tls and settings.http.port == 443
    explicit = Settings.resolve("mine:2", api_token="", timeout=1, environ=env)
    assert explicit.grpc.target == "mine:2" and explicit.api_token == "" and explicit.timeout == 1
    defaults = Settings.resolve(environ={})
    assert defaults.grpc.target == "127.0.0.1:50001" and str(defaults.http) == "http://127.0.0.1:3500"
    assert defaults.timeout is None and not defaults.retry.enabled and defaults.token_metadata == ()


def test_constructors_do_no_io() -> None:
    client = Client("127.0.0.1:1")  # nothing listens there: constructing must not care
    assert client._driver._channel is None
    client.close()
    aclient = AsyncClient("127.0.0.1:1")  # outside any event loop
    assert aclient._driver._channel is None
    asyncio.run(aclient.close())


def test_aio_channel_is_created_in_the_running_loop() -> None:
    aclient = AsyncClient("127.0.0.1:1")

    async def loop_of_channel() -> object:
        _ = aclient._driver.channel
        return aclient._driver._loop

    async def main() -> tuple[object, object]:
        return await loop_of_channel(), asyncio.get_running_loop()

    made_in, running = asyncio.run(main())
    assert made_in is running
