"""Secrets, configuration, lock, bindings, invocation, jobs, conversation, metadata: both clients, both sidecars."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from clienthelp import async_client_for, client_for, run
from sidecars import Sidecar, config_watch_live, set_config

from dapr_nb.client import AsyncClient, Client
from dapr_nb.errors import Conflict, DaprError

WAIT = 10.0


@pytest.fixture
def client(sidecar: Sidecar) -> Client:
    with client_for(sidecar) as c:
        yield c  # type: ignore[misc]


def test_secrets(client: Client) -> None:
    assert client.get_secret("secretstore", "db-password") == {"db-password": "sandbox-demo-password"}
    bulk = client.get_bulk_secret("secretstore")
    assert bulk["api-key"] == {"api-key": "sandbox-demo-api-key"}
    with pytest.raises(DaprError):
        client.get_secret("secretstore", "no-such-secret")
    with pytest.raises(DaprError):
        client.get_secret("no-such-store", "x")


def test_configuration_get_and_subscribe(client: Client, sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    key = unique("feature")
    set_config(sidecar, {key: "on"})
    items = client.get_configuration("configstore", [key])
    assert [(i.key, i.value) for i in items] == [(key, "on")]
    with client.subscribe_configuration("configstore", [key]) as watch:
        assert watch.id
        config_watch_live(sidecar, [key])
        set_config(sidecar, {key: "off"})
        update = watch.next_update(WAIT)
        assert update is not None and update.id == watch.id and update.items[0].value == "off"
    assert not client.unsubscribe_configuration("configstore", "no-such-id")
    with pytest.raises(DaprError):
        client.get_configuration("no-such-store", [key])


def test_async_configuration_subscribe(sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    key = unique("async-feature")

    async def main(client: AsyncClient) -> str:
        async with client:
            watch = await client.subscribe_configuration("configstore", [key])
            assert watch.id
            config_watch_live(sidecar, [key])
            set_config(sidecar, {key: "v2"})
            update = await watch.next_update(WAIT)
            await watch.close()
            assert update is not None
            return update.items[0].value

    assert run(main(async_client_for(sidecar))) == "v2"


def test_lock(client: Client, unique: Callable[[str], str]) -> None:
    resource = unique("res")
    first = client.try_lock("lockstore", resource, "me", 30)
    assert first and first.acquired
    assert not client.try_lock("lockstore", resource, "you", 30)
    assert client.unlock("lockstore", resource, "you") == "lock_belongs_to_others"
    assert client.unlock("lockstore", resource, "me") == "success"
    assert client.unlock("lockstore", resource, "me") == "lock_does_not_exist"
    with client.lock("lockstore", resource, "me", 30) as held:
        assert held.owner == "me"
        with pytest.raises(Conflict):
            with client.lock("lockstore", resource, "you", 30):
                pass
    assert client.try_lock("lockstore", resource, "you", 30)


def test_async_lock(sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    resource = unique("res")

    async def main(client: AsyncClient) -> str:
        async with client:
            async with client.lock("lockstore", resource, "me", 30):
                assert not await client.try_lock("lockstore", resource, "you", 30)
            return await client.unlock("lockstore", resource, "me")

    assert run(main(async_client_for(sidecar))) == "lock_does_not_exist"


def test_bindings(client: Client, unique: Callable[[str], str]) -> None:
    name = unique("file") + ".json"
    client.invoke_binding("localfiles", "create", {"hello": "world"}, metadata={"fileName": name})
    got = client.invoke_binding("localfiles", "get", metadata={"fileName": name})
    assert got.data == {"hello": "world"}
    client.invoke_binding("localfiles", "delete", metadata={"fileName": name})
    with pytest.raises(DaprError):
        client.invoke_binding("no-such-binding", "create", "x")


def test_invoke_reaches_the_http_api_and_reports_errors(client: Client) -> None:
    # No app called some-app runs: invocation is answered by the sidecar's HTTP API with daprd's JSON error.
    with pytest.raises(DaprError) as info:
        client.invoke_method("some-app", "orders/1", verb="GET", query={"a": "b"})
    assert info.value.http_status == 500 and info.value.reason == "ERR_DIRECT_INVOKE"
    assert "couldn't find service: some-app" in info.value.message


def test_jobs(client: Client, unique: Callable[[str], str]) -> None:
    name = unique("job")
    client.schedule_job(name, schedule="@every 1h", data={"n": 1}, repeats=3)
    job = client.get_job(name)
    assert job.name == name and job.schedule == "@every 1h" and job.data == {"n": 1} and job.repeats == 3
    assert name in [j.name for j in client.list_jobs()]
    client.delete_job(name)
    with pytest.raises(DaprError):
        client.get_job(name)
    client.schedule_job(unique("px-a"), due_time="1h")
    client.delete_jobs_by_prefix(unique("px"))
    assert not [j for j in client.list_jobs() if j.name.startswith(unique("px"))]


def test_conversation_echo(client: Client) -> None:
    result = client.converse("echo", ["hello", "world"])
    assert result.outputs and "hello" in " ".join(result.outputs)


def test_metadata(client: Client, sidecar: Sidecar, unique: Callable[[str], str]) -> None:
    key = unique("attr")
    client.set_metadata(key, "value")
    meta = client.get_metadata()
    assert meta.app_id == sidecar.app_id and meta.extended[key] == "value"
    assert "statestore" in [c.name for c in meta.components]
    assert "<table>" in meta._repr_html_()
