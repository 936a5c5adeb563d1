"""The configuration building block: configuration.sandbox through the official SDK, a raw stub and HTTP.

Items change through the sandbox's admin route, a watched items file, or set_items() from Python;
subscribers get only the changed keys. Errors carry daprd's ERR_CONFIGURATION_* ErrorInfo reasons.
(The aio SDK's subscribe_configuration is known to be broken, so aio is tested for get only.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from _waiting import assert_quiet, wait_until
from conftest import point_sdk_at
from dapr.clients import DaprClient
from dapr.proto.runtime.v1 import configuration_pb2, dapr_pb2_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.components import BuildContext
from dapr_nb.sandbox.components.configuration_sandbox import ConfigItem, SandboxConfigurationStore
from dapr_nb.sandbox.resources import ComponentSpec
from dapr_nb.sandbox.server import SandboxConfig, SandboxServer

STORE = "configstore"
Changes = dict[str, tuple[str, str]]


def http(sb: Sandbox, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(sb.http_endpoint + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def admin_set(sb: Sandbox, items: dict[str, Any], store: str = STORE) -> Any:
    status, body = http(sb, "POST", f"/v1.0-sandbox/configuration/{store}", {"items": items})
    assert status == 200, body
    return body["items"]


def error_reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None, "configuration errors carry rich details"
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.domain == "dapr.io"
            return info.reason
    raise AssertionError("no ErrorInfo")


class Recorder:
    """A subscribe_configuration handler that queues ``{key: (value, version)}`` per notification."""

    def __init__(self) -> None:
        self.seen: queue.Queue[tuple[str, Changes]] = queue.Queue()

    def __call__(self, sub_id: str, response: Any) -> None:
        self.seen.put((sub_id, {k: (v.value, v.version) for k, v in response.items.items()}))

    def next(self, timeout: float = 5.0) -> Changes:
        sub_id, changes = self.seen.get(timeout=timeout)
        assert sub_id
        return changes

    def assert_quiet(self, window: float = 0.5) -> None:
        """Fail if a notification arrives within ``window`` seconds (notifications come asynchronously)."""
        assert_quiet(self.seen, window, "no configuration notification")


def stub(sb: Sandbox) -> tuple[grpc.Channel, Any]:
    channel = grpc.insecure_channel(sb.grpc_endpoint)
    return channel, dapr_pb2_grpc.DaprStub(channel)


@pytest.fixture(scope="module")
def file_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    """A sandbox whose store ``watched`` has inline items and a watched items file."""
    root = tmp_path_factory.mktemp("config")
    items_file = root / "items.json"
    items_file.write_text(json.dumps({"fromfile": {"value": "v1", "version": "10"}, "doomed": "bye"}))
    inline = json.dumps({"inline": {"value": "here", "metadata": {"origin": "yaml"}}})
    (root / "config.yaml").write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: watched\nspec:\n"
        "  type: configuration.sandbox\n  version: v1\n  metadata:\n"
        f"    - name: items\n      value: {json.dumps(inline)}\n"
        f"    - name: itemsFile\n      value: {json.dumps(str(items_file))}\n"
    )
    with Sandbox(resources_path=root, data_dir=root / "data") as sb:
        yield sb, items_file


def write_atomically(path: Path, content: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(content)
    os.replace(tmp, path)


def test_get_configuration(dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    a, b = unique("a"), unique("b")
    changed = admin_set(sandbox, {a: "1", b: {"value": "two", "version": "7", "metadata": {"team": "x"}}})
    assert changed == {
        a: {"value": "1", "version": "1", "metadata": {}},
        b: {"value": "two", "version": "7", "metadata": {"team": "x"}},
    }
    items = dapr_client.get_configuration(STORE, [a, b, unique("missing")]).items
    assert set(items) == {a, b}
    assert (items[a].value, items[a].version) == ("1", "1")
    assert (items[b].value, items[b].version, items[b].metadata) == ("two", "7", {"team": "x"})
    assert {a, b} <= set(dapr_client.get_configuration(STORE, []).items)


def test_versions_bump_and_null_deletes(dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    key = unique("k")
    admin_set(sandbox, {key: "one"})
    assert admin_set(sandbox, {key: "one"}) == {}, "setting an item to what it is changes nothing"
    assert admin_set(sandbox, {key: "two"})[key]["version"] == "2"
    assert admin_set(sandbox, {key: None}) == {key: {"value": "", "version": "3", "metadata": {}}}
    assert dapr_client.get_configuration(STORE, [key]).items == {}
    assert admin_set(sandbox, {key: "back"})[key]["version"] == "4"


def test_aio_get_configuration(sdk_env: Sandbox, unique: Callable[[str], str]) -> None:
    from dapr.aio.clients import DaprClient as AsyncDaprClient

    key = unique("aio")
    admin_set(sdk_env, {key: "async"})

    async def scenario() -> None:
        async with AsyncDaprClient() as client:
            items = (await client.get_configuration(STORE, [key])).items
            assert items[key].value == "async"
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await client.get_configuration("nope", [key])
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error_reason(info.value) == "ERR_CONFIGURATION_STORE_NOT_FOUND"

    asyncio.run(scenario())


def test_subscribe_gets_changed_keys_only(dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    a, b = unique("a"), unique("b")
    recorder = Recorder()
    sub_id = dapr_client.subscribe_configuration(STORE, [a], recorder)
    assert sub_id
    try:
        admin_set(sandbox, {a: "1", b: "ignored"})
        assert recorder.next() == {a: ("1", "1")}
        admin_set(sandbox, {a: "1"})  # no change: no notification
        admin_set(sandbox, {b: "still ignored"})
        admin_set(sandbox, {a: {"value": "2", "version": "v-two"}})
        assert recorder.next() == {a: ("2", "v-two")}
        admin_set(sandbox, {a: None})
        assert recorder.next() == {a: ("", "1")}
        recorder.assert_quiet()
    finally:
        assert dapr_client.unsubscribe_configuration(STORE, sub_id)
    assert not dapr_client.unsubscribe_configuration(STORE, sub_id)
    admin_set(sandbox, {a: "after unsubscribe"})
    recorder.assert_quiet()


def test_assert_quiet_fails_on_a_notification_that_comes_late(
    dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str]
) -> None:
    # admin_set returns before the notification reaches the handler: an instant check would pass here.
    a = unique("a")
    recorder = Recorder()
    sub_id = dapr_client.subscribe_configuration(STORE, [a], recorder)
    try:
        admin_set(sandbox, {a: "late"})
        with pytest.raises(AssertionError, match="'late'"):
            recorder.assert_quiet(window=10)
    finally:
        dapr_client.unsubscribe_configuration(STORE, sub_id)


def test_subscribe_to_every_key(dapr_client: Any, sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    a, b = unique("a"), unique("b")
    recorder = Recorder()
    sub_id = dapr_client.subscribe_configuration(STORE, [], recorder)
    try:
        admin_set(sandbox, {a: "1", b: "2"})
        assert recorder.next() == {a: ("1", "1"), b: ("2", "1")}
    finally:
        dapr_client.unsubscribe_configuration(STORE, sub_id)


def test_items_file_and_inline_items(
    file_sandbox: tuple[Sandbox, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dapr_nb.sandbox")  # the sandbox's own log, relayed line by line
    sb, items_file = file_sandbox
    point_sdk_at(monkeypatch, sb)
    with DaprClient() as client:
        items = client.get_configuration("watched", []).items
        assert (items["inline"].value, items["inline"].version, items["inline"].metadata) == (
            "here",
            "1",
            {"origin": "yaml"},
        )
        assert (items["fromfile"].value, items["fromfile"].version) == ("v1", "10")
        recorder = Recorder()
        sub_id = client.subscribe_configuration("watched", [], recorder)
        try:
            write_atomically(items_file, json.dumps({"fromfile": {"value": "v2"}, "doomed": "bye", "new": "n"}))
            assert recorder.next() == {"fromfile": ("v2", "11"), "new": ("n", "1")}
            items_file.write_text("{ this is not json")
            wait_until(lambda: f"ignoring {items_file}" in caplog.text, message="the watcher never read the bad file")
            assert client.get_configuration("watched", ["fromfile"]).items["fromfile"].value == "v2"
            write_atomically(items_file, json.dumps({"fromfile": {"value": "v2"}, "new": "n"}))
            assert recorder.next() == {"doomed": ("", "2")}
            assert set(client.get_configuration("watched", []).items) == {"inline", "fromfile", "new"}
            recorder.assert_quiet()
        finally:
            client.unsubscribe_configuration("watched", sub_id)


def test_admin_route_on_a_file_store_keeps_file_keys_alone(file_sandbox: tuple[Sandbox, Path]) -> None:
    sb, items_file = file_sandbox
    changed = admin_set(sb, {"admin-only": "x"}, store="watched")
    assert changed["admin-only"]["value"] == "x"
    status, body = http(sb, "GET", "/v1.0/configuration/watched?key=admin-only")
    assert (status, body["admin-only"]["value"]) == (200, "x")


def test_stream_ends_ok_on_unsubscribe_and_alpha1_twins(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    key = unique("k")
    channel, dapr = stub(sandbox)
    with channel:
        request = configuration_pb2.SubscribeConfigurationRequest(store_name=STORE, keys=[key])
        call = dapr.SubscribeConfiguration(request, timeout=30)
        first = next(call)
        assert first.id and not first.items
        admin_set(sandbox, {key: "v"})
        update = next(call)
        assert update.id == first.id and dict(update.items)[key].value == "v"
        reply = dapr.UnsubscribeConfigurationAlpha1(
            configuration_pb2.UnsubscribeConfigurationRequest(store_name=STORE, id=first.id), timeout=10
        )
        assert reply.ok and not reply.message
        assert list(call) == []
        assert call.code() == grpc.StatusCode.OK
        alpha = dapr.GetConfigurationAlpha1(configuration_pb2.GetConfigurationRequest(store_name=STORE, keys=[key]))
        assert alpha.items[key].value == "v"


def test_unsubscribe_unknown_id(sandbox: Sandbox) -> None:
    channel, dapr = stub(sandbox)
    with channel:
        request = configuration_pb2.UnsubscribeConfigurationRequest(store_name=STORE, id="no-such-id")
        for method in (dapr.UnsubscribeConfiguration, dapr.UnsubscribeConfigurationAlpha1):
            reply = method(request, timeout=10)
            assert not reply.ok
            assert reply.message == (
                "failed to unsubscribe to configuration request no-such-id: subscription does not exist"
            )


def test_errors(sandbox: Sandbox, dapr_client: Any) -> None:
    with pytest.raises(grpc.RpcError) as info:
        dapr_client.get_configuration("nope", ["k"])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "configuration store nope not found"
    assert error_reason(info.value) == "ERR_CONFIGURATION_STORE_NOT_FOUND"
    channel, dapr = stub(sandbox)
    with channel:
        call = dapr.SubscribeConfigurationAlpha1(
            configuration_pb2.SubscribeConfigurationRequest(store_name="nope"), timeout=10
        )
        with pytest.raises(grpc.RpcError) as info:
            next(call)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(info.value) == "ERR_CONFIGURATION_STORE_NOT_FOUND"


def test_http_routes(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    a, b = unique("a"), unique("b")
    admin_set(sandbox, {a: "1", b: {"value": "2", "version": "9", "metadata": {"m": "n"}}})
    expected = {  # daprd leaves empty fields out (omitempty)
        a: {"value": "1", "version": "1"},
        b: {"value": "2", "version": "9", "metadata": {"m": "n"}},
    }
    for prefix in ("/v1.0", "/v1.0-alpha1"):
        assert http(sandbox, "GET", f"{prefix}/configuration/{STORE}?key={a}&key={b}") == (200, expected)
        assert http(sandbox, "GET", f"{prefix}/configuration/{STORE}?key={unique('none')}") == (204, None)
        status, body = http(sandbox, "GET", f"{prefix}/configuration/{STORE}/subscribe?key={a}")
        assert (status, body["errorCode"]) == (500, "ERR_APP_CHANNEL_NIL")
        assert body["message"].startswith("app channel is not initialized. cannot subscribe to configuration updates")
        status, body = http(sandbox, "GET", f"{prefix}/configuration/{STORE}/no-such-id/unsubscribe")
        assert (status, body) == (
            500,
            {
                "message": "failed to unsubscribe to configuration request no-such-id: subscription with id no-such-id "
                "does not exist"
            },
        )
    status, body = http(sandbox, "GET", "/v1.0/configuration/nope?key=a")
    assert (status, body["errorCode"], body["message"]) == (
        400,
        "ERR_CONFIGURATION_STORE_NOT_FOUND",
        "configuration store nope not found",
    )


def test_http_unsubscribe_ends_a_grpc_stream(sandbox: Sandbox) -> None:
    channel, dapr = stub(sandbox)
    with channel:
        call = dapr.SubscribeConfiguration(
            configuration_pb2.SubscribeConfigurationRequest(store_name=STORE), timeout=30
        )
        sub_id = next(call).id
        assert http(sandbox, "GET", f"/v1.0/configuration/{STORE}/{sub_id}/unsubscribe") == (200, {"ok": True})
        assert list(call) == []
        assert call.code() == grpc.StatusCode.OK


def test_admin_route_errors(sandbox: Sandbox) -> None:
    path = f"/v1.0-sandbox/configuration/{STORE}"
    for body in (b"[1]", {"notitems": {}}, {"items": {"k": {"value": "v", "bogus": 1}}}, {"items": {"k": [1]}}):
        status, reply = http(sandbox, "POST", path, body)
        assert (status, reply["errorCode"]) == (400, "ERR_MALFORMED_REQUEST"), reply
    status, reply = http(sandbox, "POST", "/v1.0-sandbox/configuration/nope", {"items": {}})
    assert (status, reply["errorCode"]) == (400, "ERR_CONFIGURATION_STORE_NOT_FOUND")


def test_not_configured(make_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "lock.yaml").write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: locks\nspec:\n  type: lock.sandbox\n"
    )
    sb = make_sandbox(resources_path=resources)
    channel, dapr = stub(sb)
    with channel:
        with pytest.raises(grpc.RpcError) as info:
            dapr.GetConfiguration(configuration_pb2.GetConfigurationRequest(store_name=STORE), timeout=10)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.details() == "configuration stores not configured"
    assert error_reason(info.value) == "ERR_CONFIGURATION_STORE_NOT_CONFIGURED"
    status, body = http(sb, "GET", f"/v1.0/configuration/{STORE}")
    assert (status, body["errorCode"]) == (500, "ERR_CONFIGURATION_STORE_NOT_CONFIGURED")


def test_set_items_from_python_and_cancel_releases_the_subscription(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SandboxServer(SandboxConfig(grpc_port=0, http_port=0, data_dir=tmp_path)) as server:
        assert server.runtime is not None
        store = server.runtime.components("configuration")[STORE]
        assert isinstance(store, SandboxConfigurationStore)
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        with channel:
            dapr = dapr_pb2_grpc.DaprStub(channel)
            call = dapr.SubscribeConfiguration(configuration_pb2.SubscribeConfigurationRequest(store_name=STORE))
            sub_id = next(call).id
            assert store.subscription_ids() == [sub_id]
            store.set_items({"py": "from python"})
            assert dict(next(call).items)["py"].value == "from python"
            call.cancel()
            wait_until(lambda: not store.subscription_ids(), message="a cancelled stream kept its subscription")


def test_store_semantics_directly(tmp_path: Path) -> None:
    spec = ComponentSpec("direct", "configuration.sandbox", metadata={"items": json.dumps({"a": 1, "b": True})})
    store = SandboxConfigurationStore.from_spec(spec, BuildContext("app", tmp_path))
    try:
        assert store.get(["a", "b", "c"]) == {"a": ConfigItem("1", "1"), "b": ConfigItem("true", "1")}
        only_b = store.subscribe(["b"])
        everything = store.subscribe()
        assert store.set_items({"a": "2", "b": {"value": "x", "version": "5"}}) == {
            "a": ConfigItem("2", "2"),
            "b": ConfigItem("x", "5"),
        }
        with pytest.raises(ValueError):
            store.set_items({"a": "3", "bad": {"value": {"nested": 1}}})
        assert store.get(["a"])["a"].value == "2", "a bad batch applies nothing"
        assert next(only_b.updates(poll=0.1)) == {"b": ConfigItem("x", "5")}
        assert next(everything.updates(poll=0.1)) == {"a": ConfigItem("2", "2"), "b": ConfigItem("x", "5")}
        assert store.unsubscribe(only_b.id) and not store.unsubscribe(only_b.id)
        assert list(only_b.updates(poll=0.1)) == []
    finally:
        store.close()
    assert list(everything.updates(poll=0.1)) == [], "closing the store ends its subscriptions"
