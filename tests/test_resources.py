"""Component YAML loading as daprd does it, and the refusal of types the sandbox cannot embed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dapr_nb.sandbox.errors import ComponentError
from dapr_nb.sandbox.registry import component_class
from dapr_nb.sandbox.resources import ComponentSpec, load_resources, resolve_secret_refs

DOCS_STYLE = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.sqlite
  version: v1
  metadata:
  - name: connectionString
    value: "data.db"
  - name: actorStateStore
    value: true
  - name: timeout
    value: 20
---
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: ignored
spec:
  topic: orders
  routes:
    default: /orders
  pubsubname: pubsub
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_components_written_as_the_docs_show(tmp_path: Path) -> None:
    write(tmp_path, "statestore.yaml", DOCS_STYLE)
    write(
        tmp_path / "nested",
        "pubsub.yml",
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\n"
        "spec:\n  type: pubsub.in-memory\n  version: v1\n  metadata: []\n",
    )
    specs = {s.name: s for s in load_resources(tmp_path, "app")}
    assert set(specs) == {"statestore", "pubsub"}
    state = specs["statestore"]
    assert (state.type, state.kind, state.version) == ("state.sqlite", "state", "v1")
    assert state.metadata == {"connectionString": "data.db", "actorStateStore": "true", "timeout": "20"}
    assert state.get("ACTORSTATESTORE") == "true" and state.get_bool("actorStateStore")


def test_scopes_limit_components_to_named_apps(tmp_path: Path) -> None:
    write(
        tmp_path, "c.yaml", "kind: Component\nmetadata:\n  name: s\nspec:\n  type: state.in-memory\nscopes:\n- orders\n"
    )
    assert [s.name for s in load_resources(tmp_path, "orders")] == ["s"]
    assert load_resources(tmp_path, "billing") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: Component\nmetadata: {}\nspec:\n  type: state.sqlite\n", "no metadata.name"),
        ("kind: Component\nmetadata:\n  name: x\nspec: {}\n", "needs spec.type"),
        (
            "kind: Component\nmetadata:\n  name: x\nspec:\n  type: state.sqlite\n  metadata:\n  - value: 1\n",
            "needs a name",
        ),
        ("kind: Component\nmetadata:\n  name: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_yaml_gets_a_message_naming_the_file(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ComponentError, match=expected) as info:
        load_resources(tmp_path, "app")
    assert str(path) in str(info.value)


def test_duplicate_component_names_are_rejected(tmp_path: Path) -> None:
    doc = "kind: Component\nmetadata:\n  name: s\nspec:\n  type: state.in-memory\n"
    write(tmp_path, "a.yaml", doc)
    write(tmp_path, "b.yaml", doc)
    with pytest.raises(ComponentError, match="defined twice"):
        load_resources(tmp_path, "app")


def test_non_embeddable_type_names_the_type_and_the_alternative() -> None:
    spec = ComponentSpec("statestore", "state.redis", source="components/redis.yaml")
    with pytest.raises(ComponentError) as info:
        component_class(spec)
    message = str(info.value)
    assert "state.redis" in message and "state.sqlite" in message and "components/redis.yaml" in message


def test_unknown_building_block_is_rejected() -> None:
    with pytest.raises(ComponentError, match="no middleware components"):
        component_class(ComponentSpec("m", "middleware.http.oauth2"))


def test_unknown_version_is_rejected() -> None:
    with pytest.raises(ComponentError, match="no version v2"):
        component_class(ComponentSpec("s", "state.sqlite", version="v2"))


def test_secret_refs_resolve_through_the_named_store(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c.yaml",
        "kind: Component\nmetadata:\n  name: s\nspec:\n  type: state.sqlite\n  metadata:\n"
        "  - name: connectionString\n    secretKeyRef:\n      name: db\n      key: path\nauth:\n  secretStore: vault\n",
    )
    (spec,) = load_resources(tmp_path, "app")
    seen: list[tuple[str, str, str]] = []

    def lookup(store: str, name: str, key: str) -> str:
        seen.append((store, name, key))
        return "/tmp/x.db"

    resolved = resolve_secret_refs(spec, lookup)
    assert resolved.metadata["connectionString"] == "/tmp/x.db"
    assert seen == [("vault", "db", "path")]


def test_secret_ref_without_secret_store_explains_auth(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c.yaml",
        "kind: Component\nmetadata:\n  name: s\nspec:\n  type: state.sqlite\n  metadata:\n"
        "  - name: password\n    secretKeyRef:\n      name: db\n      key: pw\n",
    )
    (spec,) = load_resources(tmp_path, "app")
    with pytest.raises(ComponentError, match="auth: {secretStore"):
        resolve_secret_refs(spec, lambda *a: "")
