"""``%dapr state …`` through a real IPython shell, on the sandbox and on real daprd."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import pytest

if TYPE_CHECKING:
    from magics_support import Cells

pytest_plugins = ["magics_support"]


def test_set_get_returns_a_row_per_key(dapr: Cells, unique: Callable[[str], str]) -> None:
    a, b, missing = unique("a"), unique("b"), unique("missing")
    dapr.ns.update(a=a, b=b)
    assert dapr.run('%dapr state set statestore {{a}} \'{"total": 12, "items": {"n": 2}}\'') is None
    dapr.run("%dapr state set statestore {{b}} 7")
    df = dapr.run(f"df = %dapr state get statestore {{{{a}}}} {{{{b}}}} {missing}\ndf")
    assert isinstance(df, pd.DataFrame) and dapr.ns["df"] is df
    assert list(df["key"]) == [a, b, missing]
    assert list(df.columns) == ["key", "total", "items.n", "value", "etag"]
    assert df.loc[0, "total"] == 12 and df.loc[0, "items.n"] == 2 and df.loc[1, "value"] == 7
    assert df.loc[0, "etag"] and pd.isna(df.loc[2, "etag"])


def test_etag_ttl_first_write_and_delete(dapr: Cells, unique: Callable[[str], str]) -> None:
    key = unique("k")
    dapr.run(f"%dapr state set statestore {key} hello --ttl 600")
    etag = dapr.run(f"%dapr state get statestore {key}").loc[0, "etag"]
    message = dapr.fail(f"%dapr state set statestore {key} x --etag wrong-{etag}")
    assert "ABORTED" in message or "etag" in message.lower()
    dapr.run(f"%dapr state set statestore {key} again --etag {etag}")
    assert dapr.run(f"%dapr state get statestore {key}").loc[0, "value"] == "again"
    etag = dapr.run(f"%dapr state get statestore {key}").loc[0, "etag"]
    dapr.fail(f"%dapr state delete statestore {key} --etag not-{etag}")
    dapr.run(f"%dapr state delete statestore {key} --etag {etag}")
    assert pd.isna(dapr.run(f"%dapr state get statestore {key}").loc[0, "etag"])
    first = unique("first")
    dapr.run(f"%dapr state set statestore {first} 1 --first-write")
    assert dapr.run(f"%dapr state get statestore {first}").loc[0, "value"] == 1


def test_bound_values_and_bulk_cell(dapr: Cells, unique: Callable[[str], str]) -> None:
    k1, k2, k3 = unique("c1"), unique("c2"), unique("c3")
    dapr.ns["order"] = {"id": 5, "tags": ["x", "y"]}
    dapr.run(f"%dapr state set statestore {k1} :order")
    assert dapr.run(f"%dapr state get statestore {k1}").loc[0, "id"] == 5
    dapr.run(f'%%dapr state set statestore\n{{"{k2}": {{"n": 1}}, "{k3}": "text"}}')
    df = dapr.run(f"%dapr state get statestore {k2} {k3}")
    assert df.loc[0, "n"] == 1 and df.loc[1, "value"] == "text"
    dapr.ns["frame"] = pd.DataFrame({"key": [unique("f1"), unique("f2")], "qty": [3, 4]})
    dapr.run("%%dapr state set statestore\n:frame")
    got = dapr.run(f"%dapr state get statestore {unique('f1')} {unique('f2')}")
    assert list(got["qty"]) == [3, 4]
    dapr.ns["items"] = {unique("d1"): [1, 2]}
    dapr.run("%dapr state set statestore :items")
    assert dapr.run(f"%dapr state get statestore {unique('d1')}").loc[0, "value"] == [1, 2]


@pytest.mark.daprd_differs("query-sqlite")
def test_query_yaml_and_json_with_output_variable(dapr: Cells, unique: Callable[[str], str]) -> None:
    tag = unique("q")
    rows = ", ".join(f'"{tag}-{i}": {{"tag": "{tag}", "n": {i}}}' for i in range(5))
    dapr.run(f"%%dapr state set statestore\n{{{rows}}}")
    body = f"filter:\n  EQ:\n    tag: {tag}\nsort:\n  - key: n\npage:\n  limit: 2\n"
    result = dapr.run(f"%%dapr state query statestore -o found\n{body}")
    assert dapr.ns["found"] is result
    assert result.shape[0] == 5 and list(result["n"]) == [0, 1, 2, 3, 4]
    assert {"key", "tag", "n", "etag"} <= set(result.columns)
    as_json = dapr.run(f'%%dapr state query statestore --page-size 3\n{{"filter": {{"EQ": {{"tag": "{tag}"}}}}}}')
    assert sorted(as_json["n"]) == [0, 1, 2, 3, 4]


def test_transaction(dapr: Cells, unique: Callable[[str], str]) -> None:
    keep, gone = unique("keep"), unique("gone")
    dapr.run(f"%dapr state set statestore {gone} 1")
    body = (
        f'[{{"operation": "upsert", "request": {{"key": "{keep}", "value": {{"v": 2}}}}}},'
        f' {{"operation": "delete", "request": {{"key": "{gone}"}}}}]'
    )
    dapr.run(f"%%dapr state transaction statestore\n{body}")
    df = dapr.run(f"%dapr state get statestore {keep} {gone}")
    assert df.loc[0, "v"] == 2 and pd.isna(df.loc[1, "etag"])
    assert "operation 0" in dapr.fail('%%dapr state transaction statestore\n[{"operation": "merge", "key": "x"}]')
    assert "list" in dapr.fail('%%dapr state transaction statestore\n{"a": 1}')


def test_state_errors_are_one_line(dapr: Cells) -> None:
    assert "nope" in dapr.fail("%dapr state get nope k")
    assert "required" in dapr.fail("%dapr state get statestore")
    assert "unrecognized" in dapr.fail("%dapr state delete statestore k extra")
    assert "JSON nor YAML" in dapr.fail("%%dapr state query statestore\n{bad: [")
    assert "body" in dapr.fail("%%dapr state set statestore\n   ")
    assert "object" in dapr.fail("%%dapr state set statestore\n[1, 2]")
    assert "cell magic" in dapr.fail("%dapr state query statestore")
    assert "line magic" in dapr.fail("%%dapr state get statestore k\n{}")
    dapr.ns["number"] = 1
    assert "must be text" in dapr.fail("%dapr state get statestore :number")
    assert "unknown variable" in dapr.fail("%dapr state set statestore k :no_such_variable_here")


def test_deeply_nested_data_is_one_usage_error(dapr: Cells) -> None:
    limit = "the limit is 256 levels"
    braces = '{"k": ' + '{"a": ' * 2000 + "1" + "}" * 2001
    for body in (braces, "{" * 2000, "k: " + "[" * 600 + "]" * 600, "[" * 257 + "]" * 257):
        message = dapr.fail("%%dapr state set statestore\n" + body)
        assert "nested too deeply" in message and limit in message, message
    deep: dict[str, object] = {}
    for _ in range(3000):
        deep = {"a": deep}
    dapr.ns["deep"] = deep
    for cell in (
        "%dapr state set statestore k :deep",
        "%dapr publish pubsub t :deep",
        "%%dapr state set statestore\n:deep",
    ):
        message = dapr.fail(cell)
        assert "nested too deeply" in message and limit in message, message
    assert "nested too deeply" in dapr.fail("%dapr state set statestore k " + "[" * 2000 + "]" * 2000)
    assert "to insert as text" in dapr.fail("%dapr state set statestore k {{deep}}")
    dapr.ns["ok"] = {"k": [[1]]}
    dapr.run("%dapr state set statestore :ok")  # shallow data still goes through
