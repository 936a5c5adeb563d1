"""Sandbox admin calls from Python reach a child-process sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dapr_nb.sandbox import Sandbox
from dapr_nb.sandbox.admin import set_configuration


def test_set_configuration_is_seen_by_the_official_sdk(dapr_client: Any, unique: Callable[[str], str]) -> None:
    key = unique("color")
    answer = set_configuration("configstore", {key: {"value": "blue"}})
    assert answer["items"][key]["value"] == "blue"
    items = dapr_client.get_configuration("configstore", [key]).items
    assert items[key].value == "blue"
    set_configuration("configstore", {key: None})
    assert key not in dapr_client.get_configuration("configstore", [key]).items


def test_unknown_store_and_missing_sandbox_give_clear_errors(sdk_env: Sandbox) -> None:
    with pytest.raises(RuntimeError, match="failed"):
        set_configuration("nope", {"a": {"value": "1"}})
    with pytest.raises(RuntimeError, match="dapr-nb sandbox"):
        set_configuration("configstore", {"a": {"value": "1"}}, http_endpoint="http://127.0.0.1:9")
