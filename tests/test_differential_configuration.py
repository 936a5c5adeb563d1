"""Configuration on the sandbox (``configuration.sandbox``) and on daprd (``configuration.redis``): get, subscribe."""

from __future__ import annotations

import queue
import re
import time
from typing import Any

import pytest
from _waiting import WAIT
from dapr.clients import DaprClient
from differential import OnBoth, Sidecar, http, raises, raw_http, same, scrub, token
from sidecars import set_config

STORE = "configstore"
VERSION_FIELD = re.compile(rb',"version":"[^"]*"')


def item(value: Any) -> dict[str, Any]:
    """Return an SDK ``ConfigurationItem`` as data."""
    return {"value": value.value, "version": value.version, "metadata": dict(value.metadata or {})}


def changed(sidecar: Sidecar, key: str, updates: queue.Queue[Any]) -> Any:
    """Set ``key`` to "uno" until the subscription reports it (daprd's Redis listener starts a moment late)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        set_config(sidecar, {key: "uno"})
        try:
            update = updates.get(timeout=1)
        except queue.Empty:
            continue
        while not update.items:  # an answer that only carries the subscription id
            update = updates.get(timeout=WAIT)
        return update
    raise AssertionError(f"no configuration update within {WAIT} s")


def configuration(sidecar: Sidecar) -> Any:
    """Get items by key (one missing), an unknown store; subscribe, change an item, read the update."""
    a, b = token("a"), token("b")
    set_config(sidecar, {a: "one", b: "t<w>o &amp; é"})
    updates: queue.Queue[Any] = queue.Queue()
    with DaprClient(sidecar.grpc_endpoint) as client:
        got = client.get_configuration(STORE, [a, b, a + "-missing"])
        unknown = raises(lambda: client.get_configuration("nostore", [a]))
        sub_id = client.subscribe_configuration(STORE, [a], lambda _id, resp: updates.put(resp))
        update = changed(sidecar, a, updates)
        stopped = client.unsubscribe_configuration(STORE, sub_id)
    answer = {
        "got": {k: item(v) for k, v in got.items.items()},
        "unknown": unknown,
        "update": {k: item(v) for k, v in update.items.items()},
        "sub_id": bool(sub_id),
        "stopped": stopped,
        "http_get": http(sidecar, "GET", f"/v1.0/configuration/{STORE}?key={b}"),
        "http_raw": raw_http(sidecar, "GET", f"/v1.0/configuration/{STORE}?key={b}"),
        "http_unknown": http(sidecar, "GET", f"/v1.0/configuration/nostore?key={b}"),
    }
    set_config(sidecar, {a: None, b: None})
    versions = [answer["got"][a].pop("version"), answer["got"][b].pop("version"), answer["update"][a].pop("version")]
    versions.append(answer["http_get"]["body"][b].pop("version", ""))
    status, content_type, raw = answer["http_raw"]
    raw_versions = VERSION_FIELD.findall(raw)  # the HTTP bytes, less the version (compared with the others)
    answer["http_raw"] = (status, content_type, VERSION_FIELD.sub(b"", raw))
    versions.append([v.decode() for v in raw_versions])
    answer["versions"] = versions
    return scrub(answer, {a: "A", b: "B"})


def without_versions(answer: dict[str, Any]) -> dict[str, Any]:
    """Return the answer less its item versions (compared on their own by ``test_item_versions``)."""
    return {k: v for k, v in answer.items() if k != "versions"}


def test_get_and_subscribe(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(configuration)
    assert on_sandbox["got"]["A"]["value"] == "one" and on_sandbox["update"]["A"]["value"] == "uno"
    assert on_sandbox["http_get"]["status"] == 200
    same(without_versions(on_sandbox), without_versions(on_daprd))


@pytest.mark.daprd_differs("config-version")
def test_item_versions(on_both: OnBoth) -> None:
    on_sandbox, on_daprd = on_both(configuration)
    assert on_sandbox["versions"] == ["1", "1", "2", "1", [',"version":"1"']]
    same(on_sandbox["versions"], on_daprd["versions"])
