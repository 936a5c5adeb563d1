"""State through both clients against the sandbox: round trips, bulk, etags, transactions, query paging."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from clienthelp import async_client_for, client_for, run

from dapr_nb.client import AsyncClient, Client
from dapr_nb.core.state import Delete, Upsert
from dapr_nb.errors import Conflict, Internal, NotFound
from dapr_nb.sandbox import Sandbox

STORE = "statestore"


@pytest.fixture
def client(sidecar: Sandbox) -> Client:
    with client_for(sidecar) as c:
        yield c  # type: ignore[misc]


def test_round_trip_by_value_type(client: Client, unique: Callable[[str], str]) -> None:
    values = {"json": {"a": [1, {"b": None}]}, "num": 3.5, "text": "hello", "bytes": b"\x00\xff", "zero": 0}
    for name, value in values.items():
        client.save_state(STORE, unique(name), value)
    for name, value in values.items():
        item = client.get_state(STORE, unique(name))
        assert item.value == value and item.etag
    assert client.get_state(STORE, unique("missing")).value is None


def test_bulk_save_get_delete(client: Client, unique: Callable[[str], str]) -> None:
    keys = [unique(f"k{i}") for i in range(20)]
    client.save_bulk_state(STORE, {k: {"i": i} for i, k in enumerate(keys)})
    items = client.get_bulk_state(STORE, keys)
    assert sorted(i.value["i"] for i in items) == list(range(20))
    client.delete_bulk_state(STORE, keys[:10])
    remaining = {i.key: i.value for i in client.get_bulk_state(STORE, keys)}
    assert all(remaining[k] is None for k in keys[:10]) and all(remaining[k] for k in keys[10:])
    client.save_bulk_state(STORE, [(keys[0], "pair")])
    assert client.get_state(STORE, keys[0]).value == "pair"


def test_etags_guard_writes_and_deletes(client: Client, unique: Callable[[str], str]) -> None:
    key = unique("etag")
    client.save_state(STORE, key, 1)
    first = client.get_state(STORE, key)
    client.save_state(STORE, key, 2, etag=first.etag)
    with pytest.raises(Conflict) as info:
        client.save_state(STORE, key, 3, etag=first.etag)
    assert info.value.etag == first.etag
    with pytest.raises(Conflict):
        client.delete_state(STORE, key, etag=first.etag)
    client.delete_state(STORE, key, etag=client.get_state(STORE, key).etag)
    assert client.get_state(STORE, key).value is None


def test_transaction_is_atomic(client: Client, unique: Callable[[str], str]) -> None:
    a, b = unique("a"), unique("b")
    client.save_state(STORE, a, "old")
    client.execute_state_transaction(STORE, [Upsert(b, {"n": 1}), Delete(a)])
    assert client.get_state(STORE, a).value is None and client.get_state(STORE, b).value == {"n": 1}
    with pytest.raises(Internal, match="possible etag mismatch"):  # daprd's status for a transaction's etag
        client.execute_state_transaction(STORE, [Upsert(a, "x"), Upsert(b, 2, etag="not-the-etag")])
    assert client.get_state(STORE, a).value is None


@pytest.mark.daprd_differs("query-sqlite")
def test_query_pages_through_everything(client: Client, unique: Callable[[str], str]) -> None:
    tag = unique("q")
    client.save_bulk_state(STORE, {unique(f"q{i}"): {"tag": tag, "n": i} for i in range(7)})
    items = client.query_state(STORE, {"filter": {"EQ": {"tag": tag}}, "sort": [{"key": "n"}]}, page_size=3)
    assert [i.value["n"] for i in items] == list(range(7))


def test_unknown_store_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as info:
        client.get_state("no-such-store", "k")
    assert info.value.reason == "DAPR_STATE_NOT_FOUND" and "no-such-store" in info.value.message


def test_async_client_state(sandbox: Sandbox, unique: Callable[[str], str]) -> None:
    key = unique("async")

    async def main(client: AsyncClient) -> None:
        async with client:
            await client.save_state(STORE, key, {"v": 1})
            item = await client.get_state(STORE, key)
            with pytest.raises(Conflict):
                await client.save_state(STORE, key, 2, etag="999999")
            await client.delete_state(STORE, key, etag=item.etag)
            assert (await client.get_state(STORE, key)).value is None

    run(main(async_client_for(sandbox)))


def test_results_render_escaped_html(client: Client, unique: Callable[[str], str]) -> None:
    key = unique("<b>")
    client.save_state(STORE, key, "<script>x</script>")
    html = client.get_bulk_state(STORE, [key])._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
